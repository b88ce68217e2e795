import type { RootDatabase } from 'lmdb';
import type { CacheStore } from '../src/cache/memory-store.js';
import { lmdb } from '../src/peers/lmdb.js';
import { assertBoolean, assertOptions, assertString, describe } from '../src/validate.js';

/**
 * Options of {@link lmdbStore}.
 *
 * @example
 * ```ts
 * import type { LmdbStoreOptions } from 'rxtask/lmdb';
 *
 * const options: LmdbStoreOptions = { path: 'results.lmdb', compression: true };
 * console.log(options.path); // 'results.lmdb'
 * ```
 */
export interface LmdbStoreOptions {
  /** The database's file, made if missing (LMDB keeps a `-lock` file beside it). */
  path: string;
  /** Compresses large values (LZ4). Default `false`. */
  compression?: boolean;
}

/** What the store keeps per key: the value and when it expires (`null`: never). */
interface Entry {
  readonly value: unknown;
  readonly expiresAt: number | null;
}

/**
 * A result-cache store on disk that needs no server: LMDB, an embedded, transactional, crash-safe database, through
 * the `lmdb` package (an optional peer: `npm install lmdb`; its binaries ship inside the package, nothing compiles).
 * Results outlive the process: run the program again and its cached calls do not run. Close it when done.
 *
 * @example
 * ```ts
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * import { task } from 'rxtask';
 * import { lmdbStore } from 'rxtask/lmdb';
 *
 * const store = lmdbStore({ path: join(mkdtempSync(join(tmpdir(), 'rxtask-')), 'results.lmdb') });
 * const square = task(async (x: number) => x * x, { cache: { store } });
 * console.log(await square(12)); // 144, computed; in the next run of the program, from the disk
 * await store.close();
 * ```
 */
export function lmdbStore(options: LmdbStoreOptions): CacheStore & { close(): Promise<void> } {
  const checked = assertOptions<LmdbStoreOptions>('lmdbStore', options, ['path', 'compression']);
  if (checked?.path === undefined) throw new TypeError(`lmdbStore: \`path\` is required, got ${describe(options)}`);
  assertString('lmdbStore', 'path', checked.path);
  assertBoolean('lmdbStore', 'compression', checked.compression);
  const db: RootDatabase<Entry, string> = lmdb.open({ path: checked.path, compression: checked.compression === true });
  return {
    get(key: string): unknown {
      const entry = db.get(key);
      if (entry === undefined) return undefined;
      if (entry.expiresAt !== null && entry.expiresAt <= Date.now()) return undefined;
      return entry.value;
    },
    async set(key: string, value: unknown, ttl?: number): Promise<void> {
      await db.put(key, { value, expiresAt: ttl === undefined ? null : Date.now() + ttl });
    },
    async delete(key: string): Promise<boolean> {
      return db.remove(key);
    },
    close: () => db.close(),
  };
}
