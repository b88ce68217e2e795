import { from } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ItemResult, parallelMap, type TaskContext, task } from '../src/index.js';

// Issue 16, from pyarallel: itemKey, onResult and the sequential debug mode.

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('itemKey', () => {
  it('puts an application identity on every ItemResult, whatever way the results are read', async () => {
    const users = [{ id: 'u1' }, { id: 'u2' }, { id: 'u3' }];
    const fetchUser = async (user: { id: string }) => {
      if (user.id === 'u2') throw new Error('not found');
      return user.id.toUpperCase();
    };
    const options = { itemKey: (user: { id: string }) => user.id };
    const result = await parallelMap(fetchUser, users, options);
    expect(result.itemResults().map((item) => [item.index, item.key, item.ok])).toEqual([
      [0, 'u1', true],
      [1, 'u2', false],
      [2, 'u3', true],
    ]);
    expect(result.failures()[0].key).toBe('u2');
    const streamed: unknown[] = [];
    for await (const item of parallelMap(fetchUser, users, options)) streamed.push(item.key);
    expect(streamed.sort()).toEqual(['u1', 'u2', 'u3']);
    const observed = await new Promise<unknown[]>((resolve) => {
      const keys: unknown[] = [];
      parallelMap(fetchUser, from(users), options).subscribe({
        next: (item) => keys.push(item.key),
        complete: () => resolve(keys),
      });
    });
    expect(observed.sort()).toEqual(['u1', 'u2', 'u3']);
  });

  it('reads the whole tuple of a starmap, and an item that never started has no key', async () => {
    const add = task((a: number, b: number) => a + b);
    const result = await add.starmap(
      [
        [1, 2],
        [3, 4],
      ],
      { itemKey: (pair: [number, number]) => `${pair[0]}+${pair[1]}` },
    );
    expect(result.itemResults().map((item) => item.key)).toEqual(['1+2', '3+4']);
    const stopped = await parallelMap(
      async () => {
        throw new Error('stop');
      },
      [1, 2, 3],
      { concurrency: 1, stopOnError: true, itemKey: (n: number) => n * 10 },
    );
    expect(stopped.itemResults().map((item) => item.key)).toEqual([10, undefined, undefined]);
  });

  it('a key that throws, or is not a string or a finite number, fails the run with a clear error', async () => {
    const boom = new Error('bad key');
    await expect(
      parallelMap(async (x: number) => x, [1], {
        itemKey: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    for (const bad of [true, null, {}, Number.NaN, Promise.resolve('k')]) {
      await expect(parallelMap(async (x: number) => x, [1], { itemKey: () => bad as never })).rejects.toThrow(
        TypeError,
      );
    }
    expect(() => parallelMap(async (x: number) => x, [1], { itemKey: 'id' as never })).toThrow(/itemKey/);
  });
});

describe('onResult', () => {
  it('is called live with each item, in completion order, when the run is awaited', async () => {
    const seen: [number, boolean][] = [];
    const result = await parallelMap(
      (ms: number) =>
        new Promise<number>((resolve, reject) =>
          setTimeout(() => (ms === 2 ? reject(new Error('two')) : resolve(ms)), ms),
        ),
      [30, 10, 2],
      { onResult: (item: ItemResult<number>) => seen.push([item.index, item.ok]) },
    );
    expect(seen).toEqual([
      [2, false],
      [1, true],
      [0, true],
    ]);
    expect(result.total).toBe(3);
  });

  it('a throw or an async rejection fails the run cleanly', async () => {
    const boom = new Error('onResult failed');
    const started: number[] = [];
    const slow = async (x: number) => {
      started.push(x);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return x;
    };
    await expect(
      parallelMap(slow, [1, 2, 3, 4], {
        concurrency: 1,
        onResult: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    expect(started).toEqual([1]);
    await expect(
      parallelMap(slow, [1, 2], {
        onResult: async () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
  });
});

describe('sequential', () => {
  it('runs one item at a time, in input order, reading no item ahead', async () => {
    const log: string[] = [];
    function* input() {
      for (const x of [1, 2, 3]) {
        log.push(`read ${x}`);
        yield x;
      }
    }
    const result = await parallelMap(
      async (x: number) => {
        log.push(`start ${x}`);
        await new Promise((resolve) => setTimeout(resolve, 4 - x));
        log.push(`end ${x}`);
        return x;
      },
      input(),
      { sequential: true },
    );
    expect(result.values()).toEqual([1, 2, 3]);
    expect(log).toEqual(['read 1', 'start 1', 'end 1', 'read 2', 'start 2', 'end 2', 'read 3', 'start 3', 'end 3']);
  });

  it('runs synchronous tasks inline: all of them inside the call that starts the run, with no timer between', () => {
    const log: number[] = [];
    const run = parallelMap(
      (x: number) => {
        log.push(x);
        return x;
      },
      [1, 2, 3],
      { sequential: true },
    );
    void run.then(() => {});
    expect(log).toEqual([1, 2, 3]);
  });

  it('keeps retry, maxErrors and progress; a task can be made sequential, and so can every map by RXTASK_SEQUENTIAL=1', async () => {
    let running = 0;
    let peak = 0;
    const progress: number[] = [];
    const flaky = task(
      async function (this: TaskContext, x: number) {
        peak = Math.max(peak, ++running);
        await new Promise((resolve) => setTimeout(resolve, 1));
        running -= 1;
        if (this.attempt === 1 && x === 2) throw new Error('once');
        return x;
      },
      { sequential: true, retry: { attempts: 2, backoff: 0 } },
    );
    const result = await flaky.map([1, 2, 3], { onProgress: (done) => progress.push(done) });
    expect(result.values()).toEqual([1, 2, 3]);
    expect(result.itemResults().map((item) => item.attempts)).toEqual([1, 2, 1]);
    expect(progress).toEqual([1, 2, 3]);
    expect(peak).toBe(1);

    vi.stubEnv('RXTASK_SEQUENTIAL', '1');
    peak = 0;
    await parallelMap(
      async (x: number) => {
        peak = Math.max(peak, ++running);
        await new Promise((resolve) => setTimeout(resolve, 1));
        running -= 1;
        return x;
      },
      [1, 2, 3, 4],
      { concurrency: 4 },
    );
    expect(peak).toBe(1);
  });

  it('sequential with a concurrency above 1 is a RangeError at the call', () => {
    expect(() => parallelMap(async (x: number) => x, [1], { sequential: true, concurrency: 4 })).toThrow(RangeError);
    expect(() => parallelMap(async (x: number) => x, [1], { sequential: 'yes' as never })).toThrow(TypeError);
  });
});

describe('after outside review', () => {
  it('an async onResult is waited for, and its rejection fails the run even after the last item', async () => {
    const log: string[] = [];
    const result = await parallelMap(async (x: number) => x, [1, 2], {
      onResult: async (item) => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        log.push(`onResult ${item.index}`);
      },
    });
    log.push('map resolved');
    expect(log.at(-1)).toBe('map resolved');
    expect(result.ok).toBe(true);
    await expect(
      parallelMap(async (x: number) => x, [1, 2], {
        onResult: async () => {
          throw new Error('late');
        },
      }),
    ).rejects.toThrow('late');
  });

  it('RXTASK_SEQUENTIAL=1 wins over a map that says sequential: false', async () => {
    vi.stubEnv('RXTASK_SEQUENTIAL', '1');
    let running = 0;
    let peak = 0;
    await parallelMap(
      async (x: number) => {
        peak = Math.max(peak, ++running);
        await new Promise((resolve) => setTimeout(resolve, 1));
        running -= 1;
        return x;
      },
      [1, 2, 3],
      { sequential: false, concurrency: 3 },
    );
    expect(peak).toBe(1);
  });
});
