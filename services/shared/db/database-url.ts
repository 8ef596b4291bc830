import { z } from 'zod';
import { ConfigError, readSecretFile } from '../config/load-config';

/** DATABASE_PASSWORD_FILE: a file holding the database password (compose mounts the one `make up` generates). */
export const databasePasswordFileVar = z.string().min(1).optional();

/**
 * The connection string with the password from `passwordFile` put in, so that no password has to sit in an
 * environment variable or a committed file. Without a file the URL is used as it is (the private native database
 * trusts 127.0.0.1). Throws, naming the variable, when the file cannot be read.
 */
export function databaseUrlWithPassword(url: string, passwordFile: string | undefined): string {
  if (!passwordFile) return url;
  const password = readSecretFile('DATABASE_PASSWORD_FILE', passwordFile).trim();
  if (!password) throw new ConfigError(`DATABASE_PASSWORD_FILE: ${passwordFile} is empty`);
  const parsed = new URL(url);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}
