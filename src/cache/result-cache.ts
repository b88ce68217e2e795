import { assertSynchronousResult } from '../callback-result.js';
import { isPromiseLike } from '../task-output.js';
import { assertBoolean, assertDuration, assertFunction, assertOptions, describe } from '../validate.js';
import { argumentsKey } from './cache-key.js';
import { type CacheStore, MemoryStore } from './memory-store.js';

/**
 * The `cache` option of a task, a map or a call: `true` for the defaults, or how to cache.
 *
 * @example
 * ```ts
 * import { type CacheOptions, task } from 'rxtask';
 *
 * const options: CacheOptions = { ttl: 60_000, version: 'v2', key: (id: unknown) => `user:${String(id)}` };
 * const fetchUser = task(async (id: number) => ({ id }), { cache: options });
 * console.log(await fetchUser(1)); // { id: 1 }
 * ```
 */
export interface CacheOptions {
  /**
   * The key of a call, from its arguments; it replaces the default, which is the task's identity (its name and a hash
   * of its function's source) with a stable hash of the arguments (the key order of plain objects does not matter).
   */
  key?: (...args: never[]) => string;
  /** How long a result is kept, in milliseconds. Default: as long as the store keeps it. */
  ttl?: number;
  /** A token for what the key cannot see (a model's version, a configuration): part of the key. */
  version?: string | number;
  /** Computes again and overwrites what is stored. */
  refresh?: boolean;
  /** Where results are kept: anything with Keyv's interface. Default: one bounded in-memory store for the process. */
  store?: CacheStore;
}

const CACHE_OPTIONS = ['key', 'ttl', 'version', 'refresh', 'store'] as const;

/** The process's default store, shared by every task that does not name one (keys hold the task's identity). */
export const defaultStore = new MemoryStore();

/** What a store holds for a key: the value wrapped, so a cached `undefined` is told from a miss. */
interface Stored {
  readonly v?: unknown;
  readonly undef?: true;
}

/** How a call or an item found its result. @internal */
export type Lookup =
  | { readonly kind: 'hit'; readonly value: unknown }
  | { readonly kind: 'shared'; readonly ok: boolean; readonly valueOrError: unknown }
  | { readonly kind: 'run'; readonly entry: CacheEntry };

/** The running call that others with the same key wait for. */
/**
 * A call computing a key, and the calls waiting for it (a Promise is made only when one waits). `undefined` as the
 * outcome: it was cancelled, and the waiters look again.
 */
class Running {
  private waiters: ((outcome: Lookup | undefined) => void)[] | undefined = undefined;

  done(): Promise<Lookup | undefined> {
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }

  finish(outcome: Lookup | undefined): void {
    const waiters = this.waiters;
    this.waiters = undefined;
    if (waiters !== undefined) for (const resolve of waiters) resolve(outcome);
  }
}

/** The calls running now, by store and key: a second call with a key being computed shares the first one's outcome. */
const running = new WeakMap<object, Map<string, Running>>();

/**
 * A task's result cache, resolved from its `cache` option: the store, how keys are made, and the sharing of running
 * calls. @internal
 */
export class ResultCache {
  private constructor(
    private readonly where: string,
    private readonly identity: string,
    private readonly options: CacheOptions,
    readonly store: CacheStore,
  ) {}

  /** Checks the option and resolves it; `undefined` when there is no cache. */
  static of(where: string, option: unknown, identity: string): ResultCache | undefined {
    if (option === undefined || option === false) return undefined;
    if (option === true) return new ResultCache(where, identity, {}, defaultStore);
    const checked = assertOptions<CacheOptions>(`${where}: cache`, option, CACHE_OPTIONS) ?? {};
    if (checked.key !== undefined) assertFunction(where, 'cache.key', checked.key);
    assertDuration(where, 'cache.ttl', checked.ttl);
    assertBoolean(where, 'cache.refresh', checked.refresh);
    const version = checked.version;
    if (version !== undefined && typeof version !== 'string' && typeof version !== 'number') {
      throw new TypeError(`${where}: \`cache.version\` must be a string or a number, got ${describe(version)}`);
    }
    const store = checked.store ?? defaultStore;
    for (const method of ['get', 'set', 'delete'] as const) {
      if (typeof (store as unknown as Record<string, unknown>)?.[method] !== 'function') {
        throw new TypeError(`${where}: \`cache.store\` must have Keyv's get, set and delete, got ${describe(store)}`);
      }
    }
    return new ResultCache(where, identity, checked, store);
  }

  /** The key of a call with these arguments; a TypeError names an argument no key can hold. */
  keyOf(args: readonly unknown[]): string {
    const version = this.options.version === undefined ? '' : `@${String(this.options.version)}`;
    const custom = this.options.key;
    if (custom === undefined) return `rxtask:${this.identity}${version}:${argumentsKey(this.where, args)}`;
    const key = (custom as (...args: unknown[]) => unknown)(...args);
    assertSynchronousResult(this.where, 'cache.key', key);
    if (typeof key !== 'string') {
      throw new TypeError(`${this.where}: \`cache.key\` must return a string, got ${describe(key)}`);
    }
    return `${key}${version}`;
  }

  /**
   * Finds the result of `key`: stored (a hit), being computed by another call (shared, once it is done), or neither
   * (run it, and report through the entry). A store that answers synchronously (a MemoryStore) answers a hit, or a
   * miss, at once, with no Promise in between.
   */
  lookUp(key: string): Lookup | Promise<Lookup> {
    const calls = runningIn(this.store);
    if (!calls.has(key)) {
      const stored = this.options.refresh ? undefined : this.store.get(key);
      if (!isPromiseLike(stored)) {
        if (isStored(stored)) return { kind: 'hit', value: stored.undef === true ? undefined : stored.v };
        return this.begin(calls, key);
      }
      // An asynchronous store: look again below, with this key registered first so a second call waits.
      Promise.resolve(stored).then(undefined, () => {});
    }
    return this.lookUpAsync(key);
  }

  /** Registers this call as the one computing `key`. */
  private begin(calls: Map<string, Running>, key: string): Lookup {
    const mine = new Running();
    calls.set(key, mine);
    return { kind: 'run', entry: new CacheEntry(this, key, () => calls.get(key) === mine && calls.delete(key), mine) };
  }

  private async lookUpAsync(key: string): Promise<Lookup> {
    for (;;) {
      const calls = runningIn(this.store);
      const other = calls.get(key);
      if (other !== undefined) {
        const outcome = await other.done();
        // The call it waited for was cancelled: look again (and maybe compute it here).
        if (outcome !== undefined) return outcome;
        continue;
      }
      const mine = new Running();
      calls.set(key, mine);
      if (!this.options.refresh) {
        let stored: unknown;
        try {
          stored = await this.store.get(key);
        } catch (error) {
          calls.delete(key);
          mine.finish(undefined);
          throw error;
        }
        if (isStored(stored)) {
          calls.delete(key);
          const hit: Lookup = { kind: 'hit', value: stored.undef === true ? undefined : stored.v };
          mine.finish(hit);
          return hit;
        }
      }
      return {
        kind: 'run',
        entry: new CacheEntry(this, key, () => calls.get(key) === mine && calls.delete(key), mine),
      };
    }
  }

  /** Throws when the store cannot hold `value`: a store other than memory serializes it as JSON. */
  assertStorable(value: unknown): void {
    if (!(this.store instanceof MemoryStore)) assertJsonable(this.where, value);
  }

  /** Stores a success. */
  /** Stores a success: at once for a store that writes synchronously, else a Promise of the write. */
  save(key: string, value: unknown): unknown {
    const stored: Stored = value === undefined ? { undef: true } : { v: value };
    return this.store.set(key, stored, this.options.ttl);
  }
}

const RESOLVED = Promise.resolve();

/** One call computing a key's result, which others with the same key wait for. @internal */
export class CacheEntry {
  private settled = false;

  constructor(
    private readonly cache: ResultCache,
    readonly key: string,
    private readonly release: () => void,
    private readonly running: Running,
  ) {}

  /**
   * The call succeeded: store the value, and hand it to those who waited. A value the store cannot hold throws here,
   * at once; a store that fails to write rejects the returned Promise.
   */
  succeed(value: unknown): Promise<void> {
    if (this.settled) return Promise.resolve();
    try {
      this.cache.assertStorable(value);
    } catch (error) {
      this.fail(error);
      throw error;
    }
    this.settled = true;
    const done = () => {
      this.release();
      this.running.finish({ kind: 'shared', ok: true, valueOrError: value });
    };
    let written: unknown;
    try {
      written = this.cache.save(this.key, value);
    } catch (error) {
      done();
      return Promise.reject(error);
    }
    if (!isPromiseLike(written)) {
      done();
      return RESOLVED;
    }
    return Promise.resolve(written).then(done, (error: unknown) => {
      done();
      throw error;
    });
  }

  /** The call failed: nothing is stored, and those who waited share the failure. */
  fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.release();
    this.running.finish({ kind: 'shared', ok: false, valueOrError: error });
  }

  /** The call was cancelled: those who waited look again. */
  abandon(): void {
    if (this.settled) return;
    this.settled = true;
    this.release();
    this.running.finish(undefined);
  }
}

function runningIn(store: object): Map<string, Running> {
  let calls = running.get(store);
  if (calls === undefined) {
    calls = new Map();
    running.set(store, calls);
  }
  return calls;
}

function isStored(value: unknown): value is Stored {
  if (typeof value !== 'object' || value === null || isPromiseLike(value)) return false;
  return 'v' in value || (value as Stored).undef === true;
}

/**
 * A store other than memory keeps values as JSON: a value JSON would change (a Map, a Set, a Date, a class instance, a
 * BigInt, a function, NaN) is refused here rather than come back different. `undefined` properties are dropped, as
 * JSON does.
 */
function assertJsonable(where: string, value: unknown, path = 'the result', seen = new Set<unknown>()): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || value === undefined) return;
  if (typeof value === 'number' && Number.isFinite(value)) return;
  if (typeof value === 'object' && !seen.has(value)) {
    const prototype = Object.getPrototypeOf(value);
    if (Array.isArray(value) || prototype === Object.prototype || prototype === null) {
      seen.add(value);
      for (const [key, inner] of Object.entries(value)) assertJsonable(where, inner, `${path}.${key}`, seen);
      seen.delete(value);
      return;
    }
  }
  throw new TypeError(
    `${where}: ${path} cannot be stored in the cache as JSON without change (got ${describe(value)}); ` +
      'return plain data, or cache it in a MemoryStore',
  );
}
