import fs from 'node:fs';
import { z } from 'zod';

/** DATABASE_PASSWORD_FILE: a file holding the database password (compose mounts the one `make up` generates). */
export const databasePasswordFileVar = z.string().min(1).optional();

/**
 * The connection string with the password from `passwordFile` put in, so that no password has to sit in an
 * environment variable or a committed file. Without a file the URL is used as it is (the private native database
 * trusts 127.0.0.1). Throws, naming the variable, when the file cannot be read.
 */
export function databaseUrlWithPassword(url: string, passwordFile: string | undefined): string {
  if (!passwordFile) return url;
  let password: string;
  try {
    password = fs.readFileSync(passwordFile, 'utf8').trim();
  } catch (error) {
    throw new Error(`DATABASE_PASSWORD_FILE ${passwordFile} cannot be read: ${(error as Error).message}`);
  }
  if (!password) throw new Error(`DATABASE_PASSWORD_FILE ${passwordFile} is empty`);
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}
