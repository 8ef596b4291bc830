import fs from 'node:fs';
import type { Logger } from '../../shared/logger/logger';
import { hashKey, readKeyFile, type ApiKey } from './api-keys';

/**
 * The API keys of one app instance, by hash, reloaded from `API_KEYS_FILE` without a restart: on SIGHUP, and when
 * the file changes (fs.watchFile polls its stat once a second, which also sees a file replaced by rename, the way
 * `make api-key` writes it, and works on a bind-mounted folder). A reload swaps the whole Map at once; a request
 * is authenticated once, when it arrives, so requests in flight are never affected. A file that fails to parse
 * keeps the previous keys (and is logged); a missing file means no keys: every /v1 request is a 401.
 */
export class KeyStore {
  private byHash = new Map<string, ApiKey>();
  private byName = new Map<string, ApiKey>();
  private watching = false;

  constructor(private readonly file: string, private readonly logger: Logger) {}

  /** First load: an invalid file fails the start, naming the file and the problem. */
  start(): void {
    this.load();
    fs.watchFile(this.file, { interval: 1000, persistent: false }, () => this.reload('file changed'));
    this.watching = true;
    process.on('SIGHUP', () => this.reload('SIGHUP'));
  }

  stop(): void {
    if (this.watching) fs.unwatchFile(this.file);
    this.watching = false;
  }

  get size(): number {
    return this.byHash.size;
  }

  /** The key a bearer token names, or undefined. */
  find(token: string): ApiKey | undefined {
    return this.byHash.get(hashKey(token));
  }

  /** The key of this name, or undefined (the status-webhook dispatcher finds a key's webhook by it). */
  named(name: string): ApiKey | undefined {
    return this.byName.get(name);
  }

  reload(reason: string): void {
    try {
      this.load();
    } catch (error) {
      this.logger.error({ err: error, file: this.file, reason }, 'API keys not reloaded; keeping the previous ones');
    }
  }

  private load(): void {
    const { keys } = readKeyFile(this.file);
    this.byHash = new Map(keys.map((key) => [key.hash, key]));
    this.byName = new Map(keys.map((key) => [key.name, key]));
    if (keys.length === 0) this.logger.warn({ file: this.file }, 'no API keys: every /v1 request is answered 401 (make api-key)');
    else this.logger.info({ file: this.file, keys: keys.map((key) => key.name) }, 'API keys loaded');
  }
}
