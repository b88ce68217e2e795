import { assertSynchronousResult } from '../callback-result.js';
import { assertJsonValue } from '../json-value.js';
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

/** What the store said of a key. @internal */
export type Lookup = { readonly kind: 'hit'; readonly value: unknown } | { readonly kind: 'miss' };

/** The running call that others with the same key wait for. */
/**
 * A call computing a key, and the calls waiting for it (a Promise is made only when one waits). `undefined` as the
 * outcome: it was cancelled, and the waiters look again.
 */
class Running {
  private waiters: ((outcome: Shared | undefined) => void)[] | undefined = undefined;

  done(): Promise<Shared | undefined> {
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }

  finish(outcome: Shared | undefined): void {
    const waiters = this.waiters;
    this.waiters = undefined;
    if (waiters !== undefined) for (const resolve of waiters) resolve(outcome);
  }
}

/** The calls running now, by store and key: a second call with a key being computed shares the first one's outcome. */
const running = new WeakMap<object, Map<string, Running>>();

/**
 * Results whose write to an asynchronous store (Redis, LMDB) has not landed yet, by store and key: a call made in the
 * meantime, even right after awaiting the first, finds them there.
 */
const writing = new WeakMap<object, Map<string, Landing>>();

/** A result on its way to the store, and when it expires there (`ttl`), in `Date.now()` time. */
interface Landing {
  readonly stored: Stored;
  readonly expiresAt: number;
}

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
  static of(where: string, option: unknown, identity: string | undefined): ResultCache | undefined {
    if (option === undefined || option === false) return undefined;
    const noIdentity = () =>
      new TypeError(
        `${where}: cache: the task's function is bound or native, so its source cannot tell it from another: ` +
          'give `cache.key`',
      );
    if (option === true) {
      if (identity === undefined) throw noIdentity();
      // `this`, not the class by name: a class that names itself in its body is renamed `_ResultCache` by esbuild's bundler.
      return new this(where, identity, {}, defaultStore);
    }
    const checked = assertOptions<CacheOptions>(`${where}: cache`, option, CACHE_OPTIONS) ?? {};
    if (checked.key !== undefined) assertFunction(where, 'cache.key', checked.key);
    assertDuration(where, 'cache.ttl', checked.ttl);
    assertBoolean(where, 'cache.refresh', checked.refresh);
    const version = checked.version;
    if (version !== undefined && typeof version !== 'string' && typeof version !== 'number') {
      throw new TypeError(`${where}: \`cache.version\` must be a string or a number, got ${describe(version)}`);
    }
    if (identity === undefined && checked.key === undefined) throw noIdentity();
    if (checked.ttl === 0) throw new RangeError(`${where}: \`cache.ttl\` must be above 0 ms, got 0`);
    const store = checked.store ?? defaultStore;
    for (const method of ['get', 'set', 'delete'] as const) {
      if (typeof (store as unknown as Record<string, unknown>)?.[method] !== 'function') {
        throw new TypeError(`${where}: \`cache.store\` must have Keyv's get, set and delete, got ${describe(store)}`);
      }
    }
    return new this(where, identity ?? '', checked, store);
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
   * Before anything else (no permit, no token): the stored result of `key` (a hit), or a miss. A store that answers
   * synchronously (a MemoryStore) answers at once, with no Promise in between.
   */
  find(key: string): Lookup | Promise<Lookup> {
    if (this.options.refresh) return MISS;
    const landing = writing.get(this.store)?.get(key);
    if (landing !== undefined && Date.now() < landing.expiresAt) return asLookup(landing.stored);
    const stored = this.store.get(key);
    if (!isPromiseLike(stored)) return asLookup(stored);
    return Promise.resolve(stored).then(asLookup);
  }

  /**
   * As an attempt starts, with its permit and token held: if another attempt is computing `key` now, the outcome of
   * that one (its value, or its error, which this attempt then treats as its own: its retry and timeout apply);
   * else this attempt computes it, and reports through `finish`. Calls with the same key wait only for one that is
   * already running, so waiting can never hold up the call waited for.
   */
  /** True while an attempt computes `key`. */
  computing(key: string): boolean {
    return mapIn(running, this.store).has(key);
  }

  claim(key: string): Claim {
    const calls = mapIn(running, this.store);
    const other = calls.get(key);
    if (other !== undefined) return { kind: 'joined', outcome: other.done() };
    const mine = new Running();
    calls.set(key, mine);
    return {
      kind: 'mine',
      finish: (outcome) => {
        if (calls.get(key) === mine) calls.delete(key);
        mine.finish(outcome);
      },
    };
  }

  /** True when the store can hold `value` unchanged. */
  storable(value: unknown): boolean {
    try {
      this.assertStorable(value);
      return true;
    } catch {
      return false;
    }
  }

  /** Throws when the store cannot hold `value` unchanged: a store other than memory serializes it as JSON. */
  assertStorable(value: unknown): void {
    if (!(this.store instanceof MemoryStore))
      assertJsonValue(this.where, value, 'the result cannot be stored in the cache');
  }

  /** Stores a success: at once for a store that writes synchronously, else a Promise of the write. */
  save(key: string, value: unknown): unknown {
    const stored: Stored = value === undefined ? { undef: true } : { v: value };
    // `Infinity` means as long as the store keeps it: no ttl at all (Redis refuses an infinite one).
    const ttl = this.options.ttl === Number.POSITIVE_INFINITY ? undefined : this.options.ttl;
    const written = this.store.set(key, stored, ttl);
    if (!isPromiseLike(written)) return written;
    const pending = mapIn(writing, this.store);
    const landing: Landing = { stored, expiresAt: Date.now() + (ttl ?? Number.POSITIVE_INFINITY) };
    pending.set(key, landing);
    const landed = () => {
      if (pending.get(key) === landing) pending.delete(key);
    };
    return Promise.resolve(written).finally(landed);
  }
}

const MISS: Lookup = { kind: 'miss' };

function asLookup(stored: unknown): Lookup {
  return isStored(stored) ? { kind: 'hit', value: stored.undef === true ? undefined : stored.v } : MISS;
}

/** What an attempt of a cached call does: wait for the one computing its key, or compute it. @internal */
export type Claim =
  | { readonly kind: 'joined'; readonly outcome: Promise<Shared | undefined> }
  | { readonly kind: 'mine'; finish(outcome: Shared | undefined): void };

/** The outcome an attempt shares with those waiting for its key. @internal */
export interface Shared {
  readonly ok: boolean;
  readonly valueOrError: unknown;
}

/** The map of `store` among `maps`, made on first use. */
function mapIn<V>(maps: WeakMap<object, Map<string, V>>, store: object): Map<string, V> {
  let map = maps.get(store);
  if (map === undefined) {
    map = new Map();
    maps.set(store, map);
  }
  return map;
}

function isStored(value: unknown): value is Stored {
  if (typeof value !== 'object' || value === null || isPromiseLike(value)) return false;
  return 'v' in value || (value as Stored).undef === true;
}
