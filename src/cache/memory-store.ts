/**
 * The interface of a result cache's store: Keyv's (`get`, `set(key, value, ttl)`, `delete`), so a Keyv instance with
 * any of its adapters (Redis, Postgres, SQLite…) is one.
 *
 * @example
 * ```ts
 * import { type CacheStore, task } from 'rxtask';
 *
 * const map = new Map<string, unknown>();
 * const store: CacheStore = {
 *   get: async (key) => map.get(key),
 *   set: async (key, value) => void map.set(key, value),
 *   delete: async (key) => map.delete(key),
 * };
 * const square = task(async (x: number) => x * x, { cache: { store } });
 * console.log(await square(3), map.size); // 9 1
 * ```
 */
export interface CacheStore {
  get(key: string): Promise<unknown> | unknown;
  set(key: string, value: unknown, ttl?: number): Promise<unknown> | unknown;
  delete(key: string): Promise<unknown> | unknown;
}

/** What the default store keeps per key. */
interface Entry {
  readonly value: unknown;
  /** When it expires, on `Date.now()`'s clock; `Infinity` for never. */
  readonly expiresAt: number;
}

/**
 * The default store: in memory, bounded, the least recently used key out first. Values are kept as they are (no
 * copy, no serialization), so anything can be cached in it.
 *
 * @example
 * ```ts
 * import { MemoryStore, task } from 'rxtask';
 *
 * const store = new MemoryStore({ maxEntries: 100 });
 * const square = task(async (x: number) => x * x, { cache: { store } });
 * await square(2);
 * console.log(store.size); // 1
 * ```
 */
export class MemoryStore implements CacheStore {
  /** Insertion order is recency order: a read moves its key to the end. */
  private readonly entries = new Map<string, Entry>();
  readonly maxEntries: number;

  constructor(options: { maxEntries?: number } = {}) {
    const maxEntries = options.maxEntries ?? 10_000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`MemoryStore: \`maxEntries\` must be a positive integer, got ${String(maxEntries)}`);
    }
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): unknown {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== Number.POSITIVE_INFINITY && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    // The most recently used goes last: the first key is the one to drop.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: unknown, ttl?: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: ttl === undefined ? Number.POSITIVE_INFINITY : Date.now() + ttl });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  delete(key: string): boolean {
    return this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
