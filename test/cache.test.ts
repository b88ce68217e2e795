import Keyv from 'keyv';
import { of } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type CacheStore,
  ConcurrencyLimit,
  MemoryStore,
  RateLimiter,
  type RunEvent,
  type TaskContext,
  task,
} from '../src/index.js';

// Issue 16: the result cache (Prefect's and Flyte's), with rxtask's own store and any Keyv store.

afterEach(() => {
  vi.useRealTimers();
});

/** A task of one argument that counts its calls, over a store of the test's own. */
function counted(fn: (this: TaskContext, x: never) => unknown, cache: object = {}) {
  const calls: unknown[][] = [];
  const store = new MemoryStore();
  const counting = task(
    function (this: TaskContext, x?: unknown) {
      calls.push([x]);
      return fn.call(this, x as never);
    },
    { name: 'counting', cache: { store, ...cache } },
  );
  return { counting, calls, store };
}

describe('the result cache', () => {
  it('a second call with the same arguments does not run: its value is the stored one, attempts 0, a cached event', async () => {
    const events: RunEvent[] = [];
    const store = new MemoryStore();
    let calls = 0;
    const fetchUser = task(
      async (query: { id: number; fields: string[] }) => {
        calls += 1;
        return { id: query.id, name: `user ${query.id}` };
      },
      { cache: { store }, onEvent: (event) => events.push(event) },
    );
    const first = await fetchUser({ id: 1, fields: ['name'] });
    // The key order of a plain object does not matter.
    const second = await fetchUser({ fields: ['name'], id: 1 } as never);
    expect(second).toEqual(first);
    expect(calls).toBe(1);
    expect(events.filter((event) => event.type === 'cached')).toHaveLength(1);
    const result = await fetchUser.map([{ id: 1, fields: ['name'] }]);
    expect(result.itemResults()[0].attempts).toBe(0);
    expect(calls).toBe(1);
  });

  it('never keeps a failure', async () => {
    let fail = true;
    const { counting, calls } = counted(async (x: number) => {
      if (fail) throw new Error('down');
      return x;
    });
    await expect(counting(1)).rejects.toThrow('down');
    fail = false;
    await expect(counting(1)).resolves.toBe(1);
    expect(calls).toHaveLength(2);
  });

  it('runs the function once for calls with the same key at once, in a map and across maps, and shares the outcome', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { counting, calls } = counted(async (x: number) => {
      await gate;
      return x * 10;
    });
    const map = counting.map([1, 1, 2, 1]);
    const other = counting.map([2, 1]);
    const single = counting(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    release();
    expect((await map).values()).toEqual([10, 10, 20, 10]);
    expect((await other).values()).toEqual([20, 10]);
    expect(await single).toBe(10);
    expect(calls.map(([x]) => x).sort()).toEqual([1, 2]);
  });

  it('a failure is shared by the calls that waited for it, and is not kept', async () => {
    let attempt = 0;
    const { counting } = counted(async () => {
      attempt += 1;
      await new Promise((resolve) => setTimeout(resolve, 2));
      throw new Error(`attempt ${attempt}`);
    });
    const [a, b] = await Promise.allSettled([counting(), counting()]);
    expect(a).toMatchObject({ status: 'rejected', reason: new Error('attempt 1') });
    expect(b).toMatchObject({ status: 'rejected', reason: new Error('attempt 1') });
    await expect(counting()).rejects.toThrow('attempt 2');
  });

  it('a hit takes no rate-limit token', async () => {
    const limiter = new RateLimiter({ limit: 1, interval: 'hour' });
    const store = new MemoryStore();
    const limited = task(async (x: number) => x, { cache: { store }, rateLimit: limiter });
    expect(await limited(1)).toBe(1);
    // The limiter has no token left for an hour: only a hit can answer now.
    expect(await limited(1)).toBe(1);
  });

  it('key, version, refresh and ttl', async () => {
    vi.useFakeTimers();
    const { counting, calls, store } = counted(async (x: number) => x, { key: (x: number) => `n${x % 2}`, ttl: 1_000 });
    expect(await counting(1)).toBe(1);
    expect(await counting(3)).toBe(1); // the same key: n1
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(1_001);
    expect(await counting(3)).toBe(3);
    expect(calls).toHaveLength(2);

    const refreshed = task(async () => 'new', { name: 'counting', cache: { store, key: () => 'n1', refresh: true } });
    expect(await refreshed()).toBe('new');
    expect(await counting(1)).toBe('new');

    const v1 = task(async () => 'v1', { cache: { store, key: () => 'k', version: 1 } });
    const v2 = task(async () => 'v2', { cache: { store, key: () => 'k', version: 2 } });
    expect([await v1(), await v2(), await v1()]).toEqual(['v1', 'v2', 'v1']);
  });

  it('an argument no key can hold is a TypeError naming it', async () => {
    const { counting } = counted((x: unknown) => x);
    await expect(counting(() => 1)).rejects.toThrow(/argument 1/);
    await expect(counting({ nested: { fn: Symbol('s') } })).rejects.toThrow(/argument 1\.nested\.fn/);
    expect(() => task((x: number) => x, { cache: { ttl: -1 } })).toThrow(RangeError);
    expect(() => task((x: number) => x, { cache: { store: {} as CacheStore } })).toThrow(/Keyv/);
    expect(() => task((x: number) => x, { cache: { colour: 'red' } as never })).toThrow(TypeError);
  });

  it('works with any Keyv store, and a value it cannot hold is an error at its first write', async () => {
    const keyv = new Keyv();
    let calls = 0;
    const square = task(
      async (x: number) => {
        calls += 1;
        return { square: x * x };
      },
      { cache: { store: keyv } },
    );
    expect(await square(4)).toEqual({ square: 16 });
    expect(await square(4)).toEqual({ square: 16 });
    expect(calls).toBe(1);
    const unstorable = task(async () => () => 'a function', { cache: { store: keyv } });
    await expect(unstorable()).rejects.toThrow(/cannot be stored/);
    const big = task(async () => 10n, { cache: { store: keyv } });
    await expect(big()).rejects.toThrow(/cannot be stored/);
  });

  it('a map may turn the task’s cache off, and cancelling a call lets a waiting one run itself', async () => {
    const { counting, calls } = counted(async (x: number) => x);
    await counting(1);
    await counting.map([1], { cache: false });
    expect(calls).toHaveLength(2);

    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = counted(async function (this: TaskContext, x: number) {
      await Promise.race([gate, new Promise((resolve) => this.signal.addEventListener('abort', resolve))]);
      return x;
    });
    const first = slow.counting(7).subscribe();
    const second = slow.counting(7);
    await new Promise((resolve) => setTimeout(resolve, 2));
    first.unsubscribe();
    release();
    expect(await second).toBe(7);
    expect(slow.calls).toHaveLength(2);
  });
});

describe('the result cache after outside review', () => {
  it('strings whose 52-bit hashes collided get their own results; whitespace in a template is part of the function', async () => {
    const echo = task(async (s: string) => s, { name: 'echo', cache: { store: new MemoryStore() } });
    expect([await echo('IOIlI689I3Cq0'), await echo('pAbCLnOhhNFqS')]).toEqual(['IOIlI689I3Cq0', 'pAbCLnOhhNFqS']);
    const store = new MemoryStore();
    const spaced = task(async (a: string, b: string) => `${a} ${b}`, { name: 'join', cache: { store } });
    const tight = task(async (a: string, b: string) => `${a}${b}`, { name: 'join', cache: { store } });
    expect([await spaced('x', 'y'), await tight('x', 'y')]).toEqual(['x y', 'xy']);
  });

  it('a bound or native function needs a cache.key: its source cannot tell it apart', () => {
    class Users {
      async get(id: number) {
        return `user ${id}`;
      }
    }
    const users = new Users();
    expect(() => task(users.get.bind(users), { cache: true })).toThrow(/bound or native.*cache\.key/);
    expect(() => task(users.get.bind(users), { cache: { key: (id: unknown) => `user:${id}` } })).not.toThrow();
  });

  it('a cached child under its parent’s ConcurrencyLimit does not deadlock with a same-key call waiting for the permit', async () => {
    const db = new ConcurrencyLimit(1);
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const child = task(
      async (id: number) => {
        await sleep(2);
        return `row ${id}`;
      },
      { concurrencyLimit: db, cache: { store: new MemoryStore() } },
    );
    const parent = task(
      async () => {
        await sleep(10);
        return `parent got ${await child(1)}`;
      },
      { concurrencyLimit: db },
    );
    const both = await Promise.all([parent(), sleep(2).then(() => child(1))]);
    expect(both).toEqual(['parent got row 1', 'row 1']);
  });

  it('a call sharing another’s attempt keeps its own retry and timeout', async () => {
    let calls = 0;
    const store = new MemoryStore();
    const flaky = task(
      async (x: number) => {
        calls += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (calls === 1) throw new Error('transient');
        return x;
      },
      { name: 'flaky', cache: { store } },
    );
    const [plain, retried] = await Promise.all([
      flaky.map([1]),
      flaky.with({ retry: { attempts: 3, backoff: 0 } }).map([1]),
    ]);
    expect(plain.failures()[0].error).toEqual(new Error('transient'));
    expect(retried.values()).toEqual([1]);

    const slow = task(
      async (x: number) => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        return x;
      },
      { name: 'slow', cache: { store } },
    );
    const running = slow(1);
    const waiting = slow.with({ timeout: 20 })(1);
    await expect(waiting).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(running).resolves.toBe(1);
  });

  it('an Observable task called directly is not cached (its values stream past), and still answers every time', async () => {
    let calls = 0;
    const pair = task(
      (n: number) => {
        calls += 1;
        return of(n * 10, n * 20);
      },
      { cache: { store: new MemoryStore() } },
    );
    expect(await pair(1)).toBe(20);
    expect(await pair(1)).toBe(20);
    expect(calls).toBe(2);
  });

  it('a serializing store refuses what JSON would change: -0, holes, undefined inside, extra array properties', async () => {
    const keyv = new Keyv();
    // biome-ignore lint/suspicious/noSparseArray: a hole is what is tested.
    const holes = [, 'b'];
    for (const value of [-0, [undefined], holes, Object.assign(['x'], { note: 'y' }), { a: undefined }]) {
      const returns = task(async () => value, { cache: { store: keyv } });
      await expect(returns()).rejects.toThrow(/without change/);
    }
    const ok = task(async () => ({ a: [1, 'two', null, { b: true }] }), { cache: { store: keyv } });
    await expect(ok()).resolves.toEqual({ a: [1, 'two', null, { b: true }] });
    expect(() => task(async () => 1, { cache: { ttl: 0 } })).toThrow(RangeError);
    const forever = task(async () => 1, { cache: { store: keyv, ttl: Number.POSITIVE_INFINITY } });
    await expect(forever()).resolves.toBe(1);
  });

  it('a slow store write neither holds back the next call with the same key nor lets it run again', async () => {
    const map = new Map<string, unknown>();
    let releaseWrite = () => {};
    const store: CacheStore = {
      get: async (key) => map.get(key),
      set: (key, value) =>
        new Promise<void>((resolve) => {
          releaseWrite = () => {
            map.set(key, value);
            resolve();
          };
        }),
      delete: async (key) => map.delete(key),
    };
    let calls = 0;
    const fast = task(
      async (x: number) => {
        calls += 1;
        return x;
      },
      { cache: { store } },
    );
    expect(await fast(1)).toBe(1);
    // The write is still pending: the next calls find the result all the same, without waiting for the write.
    expect(await fast(1)).toBe(1);
    const result = await fast.map([2, 1]);
    expect(result.itemResults().map((item) => [item.ok && item.value, item.attempts])).toEqual([
      [2, 1],
      [1, 0],
    ]);
    expect(calls).toBe(2);
    releaseWrite();
    expect(await fast(1)).toBe(1);
    expect(calls).toBe(2);
  });

  it('a result still on its way to a slow store expires with its ttl all the same', async () => {
    vi.useFakeTimers();
    const store: CacheStore = {
      get: async () => undefined,
      set: () => new Promise<void>(() => {}), // never lands
      delete: async () => true,
    };
    const { counting, calls } = counted((x) => x, { store, ttl: 10 });
    await counting(1);
    await counting(1);
    expect(calls.length).toBe(1);
    await vi.advanceTimersByTimeAsync(30);
    await counting(1);
    expect(calls.length).toBe(2);
  });

  it('a failed store write leaves nothing behind: the next call runs again', async () => {
    const store: CacheStore = {
      get: async () => undefined,
      set: () => Promise.reject(new Error('store is down')),
      delete: async () => true,
    };
    const { counting, calls } = counted((x) => x, { store });
    await counting.map([1]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    await counting.map([1]);
    expect(calls.length).toBe(2);
  });
});

describe('the result cache after the second outside review', () => {
  it('same-key calls queued behind a ConcurrencyLimit find the result when their turn comes, and run once', async () => {
    const limit = new ConcurrencyLimit(1);
    let runs = 0;
    const child = task(
      async (x: number) => {
        runs += 1;
        await new Promise((resolve) => setTimeout(resolve, 5));
        return x * 2;
      },
      { concurrencyLimit: limit, cache: { store: new MemoryStore() } },
    );
    expect(await Promise.all([child(1), child(1), child(1)])).toEqual([2, 2, 2]);
    expect(runs).toBe(1);
  });
});

describe('the result cache with user code that throws, and a cancel while the store is read', () => {
  it('a cache.key that throws fails the call with its error; the default store works with cache: true', async () => {
    const boom = new Error('key failed');
    const keyed = task(async (x: number) => x, {
      cache: {
        key: () => {
          throw boom;
        },
      },
    });
    await expect(keyed(1)).rejects.toBe(boom);
    let calls = 0;
    const defaults = task(
      async (x: number) => {
        calls += 1;
        return x + 1;
      },
      { cache: true },
    );
    expect([await defaults(41), await defaults(41)]).toEqual([42, 42]);
    expect(calls).toBe(1);
  });

  it('a map cancelled while its store is read runs nothing, and reports the items as never started', async () => {
    let calls = 0;
    const store: CacheStore = { get: () => new Promise(() => {}), set: () => undefined, delete: () => undefined };
    const slowStore = task(
      async (x: number) => {
        calls += 1;
        return x;
      },
      { cache: { store } },
    );
    const controller = new AbortController();
    const run = slowStore.map([1, 2], { signal: controller.signal });
    const pending = run.then((result) => result);
    await new Promise((resolve) => setTimeout(resolve, 1));
    controller.abort();
    const result = await pending;
    expect(result.status).toBe('cancelled');
    expect(result.failures().map((failure) => (failure.error as Error).name)).toEqual([
      'NotStartedError',
      'NotStartedError',
    ]);
    expect(calls).toBe(0);
  });
});
