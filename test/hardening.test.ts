import { filter, firstValueFrom, from, lastValueFrom, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { retryBackoff, timeoutEach } from '../operators/index.js';
import {
  ConcurrencyLimit,
  events$,
  NotStartedError,
  parallelMap,
  RateLimiter,
  type RunEvent,
  type TaskContext,
  TimeoutError,
  task,
  unmapped,
} from '../src/index.js';

afterEach(() => {
  vi.useRealTimers();
});

/** Settles `promise` or says it hung, so a wedged run fails its test instead of timing it out. */
function settleWithin<T>(promise: PromiseLike<T>, ms = 1_000): Promise<{ value?: T; error?: unknown; hung?: true }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ hung: true }), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve({ value });
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ error });
      },
    );
  });
}

const boom = new Error('listener boom');

/** Item 1 fails its first attempt and item 3 every attempt, so a run emits `retrying` and `failed` as well. */
function flaky() {
  let failedOnce = false;
  return async (x: number) => {
    if (x === 3) throw new Error('always fails');
    if (x === 1 && !failedOnce) {
      failedOnce = true;
      throw new Error('first attempt fails');
    }
    return x;
  };
}

describe('a retry never runs after its run ended (defect 1)', () => {
  const hooks = ['onRetry', 'retryIf', 'retryAfter'] as const;
  for (const hook of hooks) {
    it(`aborting the signal inside ${hook} schedules no further attempt`, async () => {
      vi.useFakeTimers();
      const controller = new AbortController();
      const calls: unknown[] = [];
      const run = parallelMap(
        async (x: number) => {
          calls.push(x);
          throw new Error('flaky');
        },
        [1],
        {
          signal: controller.signal,
          retry: {
            attempts: 5,
            backoff: 10,
            [hook]: () => {
              controller.abort();
              return hook === 'retryAfter' ? undefined : true;
            },
          },
        },
      );
      const result = await run;
      await vi.advanceTimersByTimeAsync(1_000);
      expect(result.status).toBe('cancelled');
      expect(calls).toEqual([1]);
      expect(vi.getTimerCount()).toBe(0);
    });
  }

  it("an onEvent('retrying') listener that unsubscribes leaves no attempt and no permit behind", async () => {
    vi.useFakeTimers();
    const limit = new ConcurrencyLimit(1);
    const calls: unknown[] = [];
    const subscription = parallelMap(
      async (x: number) => {
        calls.push(x);
        throw new Error('flaky');
      },
      [1],
      {
        concurrencyLimit: limit,
        retry: { attempts: 3, backoff: 5 },
        onEvent: (event) => {
          if (event.type === 'retrying') subscription.unsubscribe();
        },
      },
    ).subscribe();
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toEqual([1]);
    expect(limit.active).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a permit release that delivers a value to a subscriber who then leaves ends the retry too', async () => {
    const limit = new ConcurrencyLimit(1);
    const calls: unknown[] = [];
    const first = await firstValueFrom(
      parallelMap(
        (x: number) => {
          calls.push(x);
          // Item 0 fails later, and its released permit runs item 1 at once, whose value ends the subscription.
          return x === 0 ? Promise.reject(new Error('first fails')) : x;
        },
        [0, 1, 2],
        { concurrencyLimit: limit, retry: { attempts: 3, backoff: 0 } },
      ).pipe(filter((item) => item.ok)),
    );
    expect(first.ok && first.value).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls.filter((x) => x === undefined)).toEqual([]);
    expect(calls).toEqual([0, 1]);
    expect(limit.active).toBe(0);
    expect(await task((x: number) => x, { concurrencyLimit: limit })(7)).toBe(7);
  });

  it('a single call whose subscriber leaves in onRetry runs no more attempts', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const flaky = task(
      async () => {
        calls += 1;
        throw new Error('flaky');
      },
      { retry: { attempts: 5, backoff: 1, onRetry: () => subscription.unsubscribe() } },
    );
    const subscription = flaky().subscribe({ error: () => {} });
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('a cancel starts nothing (defect 2)', () => {
  it('items waiting for a permit never start, and are NotStartedErrors with attempts 0', async () => {
    const limit = new ConcurrencyLimit(1);
    const controller = new AbortController();
    const started: number[] = [];
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const run = parallelMap(
      async (x: number) => {
        started.push(x);
        await released; // ignores its signal
        return x;
      },
      [0, 1, 2, 3],
      { concurrency: 4, concurrencyLimit: limit, signal: controller.signal },
    );
    const pending = run.then((result) => result);
    await Promise.resolve();
    controller.abort();
    const result = await pending;
    expect(started).toEqual([0]);
    const failures = result.failures();
    expect(failures.map((f) => f.index)).toEqual([0, 1, 2, 3]);
    for (const failure of failures.slice(1)) {
      expect(failure.error).toBeInstanceOf(NotStartedError);
      expect(failure.attempts).toBe(0);
    }
    expect(limit.waiting).toBe(0);
    // The function the cancel could not stop keeps its permit until it returns.
    expect(limit.active).toBe(1);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(limit.active).toBe(0);
  });

  it('items waiting for a rate-limit token are NotStartedErrors and leave no waiter', async () => {
    vi.useFakeTimers();
    const limiter = new RateLimiter({ limit: 1, interval: 1_000 });
    const started: number[] = [];
    const pending = parallelMap((x: number) => started.push(x), [0, 1, 2], {
      rateLimit: limiter,
      deadline: 500,
    }).then((r) => r);
    await vi.advanceTimersByTimeAsync(600);
    const result = await pending;
    expect(result.status).toBe('timed_out');
    expect(started).toEqual([0]);
    expect(result.failures().map((f) => [f.index, f.error instanceof NotStartedError, f.attempts])).toEqual([
      [1, true, 0],
      [2, true, 0],
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('user code that throws fails the run and releases everything (defect 3)', () => {
  const types = ['queued', 'started', 'succeeded', 'failed', 'progress', 'retrying'] as const;
  for (const type of types) {
    it(`an onEvent listener throwing on '${type}'`, async () => {
      const limiter = new RateLimiter({ limit: 1_000, interval: 'second' });
      const controller = new AbortController();
      const outcome = await settleWithin(
        parallelMap(flaky(), [1, 2, 3], {
          rateLimit: limiter,
          retry: { attempts: 2, backoff: 0 },
          signal: controller.signal,
          onEvent: (event) => {
            if (event.type === type) throw boom;
          },
        }),
      );
      expect(outcome.error).toBe(boom);
      // Nothing is left behind: aborting the signal later changes nothing, and the limiter has no waiter.
      controller.abort();
      expect(await limiter.wait()).toBeUndefined();
    });

    it(`an events$ listener throwing on '${type}'`, async () => {
      const subscription = events$.subscribe((event) => {
        if (event.type === type) throw boom;
      });
      try {
        const outcome = await settleWithin(
          parallelMap(flaky(), [1, 2, 3], {
            retry: { attempts: 2, backoff: 0 },
          }),
        );
        expect(outcome.error).toBe(boom);
      } finally {
        subscription.unsubscribe();
      }
    });
  }

  it('a run.events$ listener that throws fails that run', async () => {
    const run = parallelMap(async (x: number) => x, [1, 2]);
    run.events$.subscribe({
      next: (event) => {
        if (event.type === 'succeeded') throw boom;
      },
    });
    expect((await settleWithin(run)).error).toBe(boom);
  });

  it('a throw on the first queued event leaves neither the signal listener nor the deadline timer', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const added = vi.spyOn(controller.signal, 'addEventListener');
    const removed = vi.spyOn(controller.signal, 'removeEventListener');
    const run = parallelMap(async (x: number) => x, [1], {
      signal: controller.signal,
      deadline: 60_000,
      onEvent: () => {
        throw boom;
      },
    });
    await expect(run).rejects.toBe(boom);
    expect(added).toHaveBeenCalledTimes(1);
    expect(removed).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a runName function that throws fails the run, a call and a future', async () => {
    const named = task(async (x: number) => x, {
      runName: () => {
        throw boom;
      },
      onEvent: () => {},
    });
    expect((await settleWithin(named.map([1, 2]))).error).toBe(boom);
    expect((await settleWithin(named(1))).error).toBe(boom);
    expect((await settleWithin(named.submit(1))).error).toBe(boom);
  });

  it('a runName function that throws fails them as well when nobody listens', async () => {
    const named = task(async (x: number) => x, {
      runName: () => {
        throw boom;
      },
    });
    expect((await settleWithin(named.map([1, 2]))).error).toBe(boom);
    expect((await settleWithin(named(1))).error).toBe(boom);
    expect((await settleWithin(named.submit(1))).error).toBe(boom);
    expect((await settleWithin(named.with({ timeout: 1_000 })(1))).error).toBe(boom);
  });

  it('a task returning a revoked Proxy fails that item alone', async () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const result = await parallelMap((x: number) => (x === 1 ? proxy : x), [0, 1, 2]);
    expect(result.okValues()).toEqual([0, 2]);
    expect(result.failures()[0].error).toBeInstanceOf(TypeError);
    const withRetry = await parallelMap((x: number) => (x === 1 ? proxy : x), [0, 1], { retry: { attempts: 1 } });
    expect(withRetry.failures()[0].error).toBeInstanceOf(TypeError);
  });

  it('an iterator whose next() returns a non-object fails the run with a TypeError', async () => {
    for (const bad of [5, null, undefined, 'x']) {
      const iterable = { [Symbol.iterator]: () => ({ next: () => bad }) } as unknown as Iterable<number>;
      const outcome = await settleWithin(parallelMap((x: number) => x, iterable));
      expect(outcome.error).toBeInstanceOf(TypeError);
      expect(String((outcome.error as Error).message)).toMatch(/next\(\)/);
      const asyncIterable = {
        [Symbol.asyncIterator]: () => ({ next: async () => bad }),
      } as unknown as AsyncIterable<number>;
      expect((await settleWithin(parallelMap((x: number) => x, asyncIterable))).error).toBeInstanceOf(TypeError);
    }
  });

  it('a throwing listener of a single call without policies fails the call', async () => {
    const quiet = task(async (x: number) => x, {
      onEvent: (event) => {
        if (event.type === 'succeeded') throw boom;
      },
    });
    expect((await settleWithin(quiet(1))).error).toBe(boom);
  });
});

describe('a throwing iterator cleanup never escapes (defect 4)', () => {
  function* throwingFinally() {
    try {
      yield 1;
      yield 2;
      yield 3;
    } finally {
      // biome-ignore lint/correctness/noUnsafeFinally: the hostile case under test.
      throw new Error('cleanup failed');
    }
  }

  it('with stopOnError the run still settles as aborted', async () => {
    const outcome = await settleWithin(
      parallelMap(
        async (x: number) => {
          throw new Error(`bad ${x}`);
        },
        throwingFinally(),
        { stopOnError: true, concurrency: 1 },
      ),
    );
    expect((outcome.value as { status: string }).status).toBe('aborted');
  });

  it('with a signal or a deadline it is no uncaught exception', async () => {
    const controller = new AbortController();
    const cancelled = parallelMap(() => new Promise(() => {}), throwingFinally(), {
      signal: controller.signal,
      concurrency: 1,
    });
    const pending = settleWithin(cancelled);
    controller.abort();
    expect(((await pending).value as { status: string }).status).toBe('cancelled');
    const timed = await settleWithin(
      parallelMap(() => new Promise(() => {}), throwingFinally(), { deadline: 5, concurrency: 1 }),
    );
    expect((timed.value as { status: string }).status).toBe('timed_out');
  });

  it('an async iterator whose return() throws synchronously', async () => {
    const iterable: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ value: 1, done: false }),
        return: () => {
          throw new Error('return failed');
        },
      }),
    };
    const outcome = await settleWithin(
      parallelMap(
        async () => {
          throw new Error('bad');
        },
        iterable,
        { maxErrors: 2 },
      ),
    );
    expect((outcome.value as { status: string }).status).toBe('aborted');
  });
});

describe('delays longer than a timer holds (defect 5)', () => {
  const long = 2 ** 31;

  it('deadline, per-attempt timeout and backoff longer than 2^31-1 ms do not fire early', async () => {
    vi.useFakeTimers();
    let settled = false;
    const run = parallelMap(() => new Promise(() => {}), [1], { deadline: long + 10 }).then((r) => {
      settled = true;
      return r;
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(long);
    expect(settled).toBe(true);
    expect((await run).status).toBe('timed_out');

    let calls = 0;
    const retried = parallelMap(
      async () => {
        calls += 1;
        throw new Error('flaky');
      },
      [1],
      { retry: { attempts: 2, backoff: long, maxDelay: Number.POSITIVE_INFINITY, jitter: 'none' }, timeout: long },
    );
    const done = retried.then((r) => r);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(long);
    expect(calls).toBe(2);
    expect((await done).failures()[0].attempts).toBe(2);
  });

  it('Infinity means never: deadline, future timeouts and timeoutEach', async () => {
    vi.useFakeTimers();
    const result = await parallelMap(async (x: number) => x, [1], { deadline: Number.POSITIVE_INFINITY });
    expect(result.status).toBe('completed');
    const future = task(() => new Promise(() => {})).submit();
    let waited = false;
    void future.wait({ timeout: Number.POSITIVE_INFINITY }).then(() => (waited = true));
    const late = future.result({ timeout: 2 ** 32 }).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(waited).toBe(false);
    future.cancel();
    expect(await late).not.toBeInstanceOf(TimeoutError);
    expect(await lastValueFrom(of(1).pipe(timeoutEach(Number.POSITIVE_INFINITY)))).toBe(1);
  });

  it('timeoutEach and retryBackoff chain long delays in virtual time', () => {
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(({ cold, expectObservable }) => {
      expectObservable(cold('a|').pipe(timeoutEach(long))).toBe('a|');
      expectObservable(cold('#').pipe(retryBackoff({ attempts: 1, backoff: long }))).toBe('#');
    });
  });
});

describe('time is monotonic (defect 6)', () => {
  it('a backward wall-clock jump does not stall the rate limiter', async () => {
    vi.useFakeTimers();
    const limiter = new RateLimiter({ limit: 10, interval: 'second' });
    await limiter.wait();
    vi.setSystemTime(Date.now() - 3_600_000); // the wall clock goes back an hour
    let granted = false;
    void limiter.wait().then(() => (granted = true));
    await vi.advanceTimersByTimeAsync(200);
    expect(granted).toBe(true);
  });
});

describe('the deadline binds synchronous work (defect 7)', () => {
  it('deadline: 0 runs nothing', async () => {
    let calls = 0;
    const result = await parallelMap(() => ++calls, [1, 2, 3], { deadline: 0 });
    expect(calls).toBe(0);
    expect(result.status).toBe('timed_out');
    expect(result.failures().every((f) => f.error instanceof NotStartedError)).toBe(true);
  });

  it('a short deadline over many microtask-only tasks ends timed_out, with nothing started after it', async () => {
    function* many() {
      for (let i = 0; i < 2_000_000; i++) yield i;
    }
    let calls = 0;
    const result = await parallelMap(async (x: number) => ++calls && x, many(), { deadline: 5 });
    expect(result.status).toBe('timed_out');
    expect(calls).toBeLessThan(2_000_000);
    // An item read while the deadline passed is reported as never started (issue 17: the deadline is checked again
    // once the input's `next()` has run).
    const unstarted = result.itemResults().filter((item) => item.attempts === 0);
    expect(result.total - unstarted.length).toBe(calls);
    expect(unstarted.length).toBeLessThanOrEqual(1);
    for (const item of unstarted) expect((item as { error: Error }).error.name).toBe('NotStartedError');
  });
});

describe('values() never hides truncation (defect 8) and leads with the cause (defect 10)', () => {
  async function* endless() {
    for (let i = 0; ; i++) yield i;
  }

  it('throws for a cancelled run over an unsized input, while okValues() stays lenient', async () => {
    const controller = new AbortController();
    const result = await parallelMap(
      async (x: number) => {
        if (x === 3) controller.abort();
        return x;
      },
      endless(),
      { signal: controller.signal, concurrency: 1 },
    );
    expect(result.status).toBe('cancelled');
    expect(() => result.values()).toThrow(AggregateError);
    expect(() => result.values()).toThrow(/cancelled before every item ran/);
    expect(result.okValues().length).toBeGreaterThan(0);
  });

  it('the error that stopped the run comes first', async () => {
    const cause = new Error('the cause');
    const result = await parallelMap(
      async function (this: TaskContext, x: number) {
        if (x === 2) throw cause;
        await new Promise((_, reject) => this.signal.addEventListener('abort', () => reject(this.signal.reason)));
      },
      [0, 1, 2, 3],
      { stopOnError: true, concurrency: 4 },
    );
    try {
      result.values();
      expect.unreachable();
    } catch (error) {
      const errors = (error as AggregateError).errors as { index: number; cause: unknown }[];
      expect(errors[0].cause).toBe(cause);
      expect(errors.map((e) => e.index)).toEqual([2, 0, 1, 3]);
    }
  });
});

describe('iteration protocol (defect 9)', () => {
  it('an object with both protocols is read through Symbol.asyncIterator, as for await does', async () => {
    const both = {
      *[Symbol.iterator]() {
        yield 'sync';
      },
      async *[Symbol.asyncIterator]() {
        yield 'async';
      },
    };
    expect((await parallelMap((x: string) => x, both)).values()).toEqual(['async']);
  });

  it('an async iterator whose next() returns a plain object works', async () => {
    let i = 0;
    const plain = {
      [Symbol.asyncIterator]: () => ({
        next: () => (i < 3 ? { value: i++, done: false } : { value: undefined, done: true }),
      }),
    } as unknown as AsyncIterable<number>;
    expect((await parallelMap((x: number) => x * 2, plain)).values()).toEqual([0, 2, 4]);
  });
});

describe('Promise items are awaited in their slot (defect 11)', () => {
  it('as p-map does; a rejection fails that item alone', async () => {
    const rejected = Promise.reject(new Error('no'));
    rejected.catch(() => {});
    const result = await parallelMap((x: number) => x * 2, [Promise.resolve(1), 2, rejected] as unknown as number[]);
    expect(result.okValues()).toEqual([2, 4]);
    expect(result.failures().map((f) => [f.index, (f.error as Error).message])).toEqual([[2, 'no']]);
  });

  it('counts toward the concurrency cap while it waits', async () => {
    let resolveFirst: (value: number) => void = () => {};
    const first = new Promise<number>((resolve) => (resolveFirst = resolve));
    const seen: number[] = [];
    const run = parallelMap((x: number) => seen.push(x), [first, 2, 3] as unknown as number[], { concurrency: 1 });
    const done = run.then((r) => r);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(seen).toEqual([]);
    resolveFirst(1);
    expect((await done).ok).toBe(true);
    expect(seen).toEqual([1, 2, 3]);
  });
});

describe('clear errors at the call (defect 12)', () => {
  it('rejects a signal-like object whose addEventListener is not a function', () => {
    const fake = { aborted: false, addEventListener: 1, removeEventListener: () => {} } as unknown as AbortSignal;
    expect(() => parallelMap((x: number) => x, [1], { signal: fake })).toThrow(/`signal` must be an AbortSignal/);
  });

  it('checks the scheduler of timeoutEach and retryBackoff at the call', () => {
    expect(() => timeoutEach(5, 'x' as never)).toThrow(TypeError);
    expect(() => timeoutEach(5, 'x' as never)).toThrow(/scheduler/);
    expect(() => retryBackoff({ scheduler: 'x' as never })).toThrow(/`scheduler` must be an RxJS SchedulerLike/);
  });

  it('accepts maxErrors: Infinity, the default', async () => {
    const result = await parallelMap(
      async () => {
        throw new Error('x');
      },
      [1, 2],
      { maxErrors: Number.POSITIVE_INFINITY },
    );
    expect(result.status).toBe('completed');
    expect(result.failures()).toHaveLength(2);
  });

  it('starmap over items that are not argument lists fails each with a message naming starmap', async () => {
    const add = task((a: number, b: number) => a + b);
    const result = await add.starmap([[1, 2], 5 as never, { a: 1 } as never]);
    expect(result.okValues()).toEqual([3]);
    for (const failure of result.failures()) {
      expect(failure.error).toBeInstanceOf(TypeError);
      expect((failure.error as Error).message).toMatch(/starmap: each item must be an array of arguments/);
    }
  });
});

describe('synchronous retries with backoff 0 take no timer (defect 13)', () => {
  it('retries at once, in the same turn', async () => {
    vi.useFakeTimers();
    const seen = new Set<number>();
    const result = await parallelMap(
      (x: number) => {
        if (!seen.has(x)) {
          seen.add(x);
          throw new Error('first attempt');
        }
        return x;
      },
      Array.from({ length: 1_000 }, (_, i) => i),
      { retry: { attempts: 2, backoff: 0 } },
    );
    // Under fake timers no timer has run: every retry happened without one.
    expect(result.ok).toBe(true);
    expect(result.itemResults().every((item) => item.attempts === 2)).toBe(true);
  });
});

describe('events and ordering stay exact', () => {
  it('each event of a run is one object of its type; a listener that leaves mid-emission does no harm', async () => {
    const seen: RunEvent['type'][] = [];
    const first = events$.subscribe((event) => {
      seen.push(event.type);
      first.unsubscribe();
    });
    const second = events$.subscribe(() => {});
    await parallelMap(async (x: number) => x, [1]);
    second.unsubscribe();
    expect(seen).toEqual(['queued']);
  });

  it('events$ piped through operators keeps RxJS semantics', async () => {
    const types: string[] = [];
    const subscription = events$
      .pipe(filter((event) => event.type === 'succeeded'))
      .subscribe((e) => types.push(e.type));
    await parallelMap(async (x: number) => x, from([1, 2]));
    subscription.unsubscribe();
    expect(types).toEqual(['succeeded', 'succeeded']);
  });
});

describe('an input that cancels the run while it is read', () => {
  it('starts nothing more: the item it yielded meanwhile is not run', async () => {
    const controller = new AbortController();
    function* items() {
      yield 1;
      controller.abort();
      yield 2;
      yield 3;
    }
    const calls: number[] = [];
    const result = await parallelMap(
      async (x: number) => {
        calls.push(x);
        return x;
      },
      items(),
      { signal: controller.signal, concurrency: 4 },
    );
    expect(result.status).toBe('cancelled');
    expect(calls).toEqual([1]);
  });
});

describe('a listener that cancels the run on an outcome', () => {
  for (const type of ['succeeded', 'failed'] as const) {
    it(`keeps every item's one outcome when it aborts on '${type}'`, async () => {
      const controller = new AbortController();
      const result = await parallelMap(
        (x: number) => {
          if (type === 'failed') throw new Error(`failed on ${x}`);
          return x;
        },
        ['a', 'b', 'c'].map((_, i) => i),
        {
          signal: controller.signal,
          concurrency: 1,
          onEvent: (event) => {
            if (event.type === type) controller.abort(new Error('stop'));
          },
        },
      );
      expect(result.status).toBe('cancelled');
      const items = result.itemResults();
      expect(items.map((item) => item.index)).toEqual([0, 1, 2]);
      expect(items[0].ok).toBe(type === 'succeeded');
      expect(items[0].attempts).toBe(1);
      expect(items.slice(1).every((item) => !item.ok && item.error instanceof NotStartedError)).toBe(true);
    });
  }

  it("an abort on 'queued' leaves the item a NotStartedError with attempts 0", async () => {
    const controller = new AbortController();
    let calls = 0;
    const result = await parallelMap(() => ++calls, [1], {
      signal: controller.signal,
      onEvent: (event) => event.type === 'queued' && controller.abort(),
    });
    expect(calls).toBe(0);
    const [failure] = result.failures();
    expect(failure.error).toBeInstanceOf(NotStartedError);
    expect(failure.attempts).toBe(0);
  });

  it('a throwing listener fails a single call with policies too, after its value', async () => {
    const guarded = task(async (x: number) => x, {
      retry: { attempts: 2 },
      onEvent: (event) => {
        if (event.type === 'succeeded') throw boom;
      },
    });
    expect((await settleWithin(guarded(1))).error).toBe(boom);
  });
});

describe('task.map reads its arguments as for await does', () => {
  it('takes a plain object that is only iterable as its input, not as options', async () => {
    const identity = task((x: number) => x);
    const iterable = {
      *[Symbol.iterator]() {
        yield 1;
        yield 2;
      },
    };
    expect((await identity.map(iterable)).values()).toEqual([1, 2]);
  });

  it('zips an argument with both protocols through its async iterator', async () => {
    const both = {
      *[Symbol.iterator]() {
        yield 'sync';
      },
      async *[Symbol.asyncIterator]() {
        yield 'async';
      },
    };
    const first = task((a: string, _b: number) => a);
    expect((await first.map(both, [1])).values()).toEqual(['async']);
  });

  it('an input whose [Symbol.iterator]() returns no iterator is a clear TypeError', async () => {
    const broken = { [Symbol.iterator]: () => 5 } as unknown as Iterable<number>;
    const outcome = await settleWithin(parallelMap((x: number) => x, broken));
    expect(String(outcome.error)).toMatch(/must return an iterator/);
  });
});

describe('a cancelled map of zipped sized arguments', () => {
  it('reports the items it never started, as a map of one sized input does', async () => {
    const controller = new AbortController();
    const scale = task(
      (x: number, by: number) => new Promise<number>((resolve) => setTimeout(() => resolve(x * by), 50)),
    );
    const pending = scale.map([1, 2, 3], unmapped(10), { concurrency: 2, signal: controller.signal }).then((r) => r);
    setTimeout(() => controller.abort(), 5);
    const result = await pending;
    expect(result.itemResults().map((item) => item.index)).toEqual([0, 1, 2]);
    expect(result.failures()[2].error).toBeInstanceOf(NotStartedError);
  });
});

describe('the Promise interface of runs (issue 14, item 8 in part)', () => {
  it('TaskRun and ParallelRun have catch and finally, as Promises do', async () => {
    const failing = task(async () => {
      throw new Error('no');
    });
    expect(await failing().catch((error) => (error as Error).message)).toBe('no');
    let finished = false;
    await parallelMap(async (x: number) => x, [1])
      .finally(() => {
        finished = true;
      })
      .then((result) => expect(result.values()).toEqual([1]));
    expect(finished).toBe(true);
  });

  it('a task group refuses a plain function with a TypeError saying a task is expected', async () => {
    const { taskGroup } = await import('../src/index.js');
    let thrown: unknown;
    const outcome = await taskGroup((group) => {
      try {
        group.start((() => 1) as never);
      } catch (error) {
        thrown = error;
      }
      return 'body ran';
    });
    expect(outcome).toBe('body ran');
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toMatch(/start\(\) expects a task/);
  });

  it('an UpstreamError names its nearest upstream only, however long the chain', async () => {
    const fail = task(
      async () => {
        throw new Error('root cause');
      },
      { name: 'root' },
    );
    const step = task((x: number) => x + 1, { name: 'step' });
    let future = step.submit(fail.submit() as never);
    for (let i = 0; i < 50; i++) future = step.submit(future as never);
    const error = await future.catch((e) => e);
    expect((error as Error).message.length).toBeLessThan(200);
  });
});

describe('polling a future leaves nothing behind (issue 14, item 6)', () => {
  it('wait, result, wait([…]) and asCompleted with a timeout forget the future once they return', async () => {
    const { asCompleted, wait } = await import('../src/index.js');
    let release: () => void = () => {};
    const future = task(() => new Promise<void>((resolve) => (release = resolve))).submit();
    const registered = () => (future as unknown as { doneCallbacks: Set<unknown> }).doneCallbacks.size;
    for (let i = 0; i < 100; i++) {
      expect(await future.wait({ timeout: 0 })).not.toBe('completed');
      await future.result({ timeout: 0 }).catch(() => {});
      expect((await wait([future], { timeout: 0 })).notDone).toHaveLength(1);
      await lastValueFrom(asCompleted([future], { timeout: 0 })).catch(() => {});
    }
    expect(registered()).toBe(0);
    release();
    expect(await future.wait()).toBe('completed');
  });
});

describe('gather cancels a parallel map it gives up on (issue 14, item 5)', () => {
  it('on its signal, and when another argument fails first', async () => {
    const { gather } = await import('../src/index.js');
    const started: number[] = [];
    const slowly = (x: number) => {
      started.push(x);
      return new Promise((resolve) => setTimeout(resolve, 5, x));
    };
    const controller = new AbortController();
    const run = parallelMap(
      slowly,
      Array.from({ length: 100 }, (_, i) => i),
      { concurrency: 1 },
    );
    const gathered = gather(run, { signal: controller.signal }).catch((error: unknown) => error);
    setTimeout(() => controller.abort(new Error('enough')), 12);
    expect(((await gathered) as Error).message).toBe('enough');
    const count = started.length;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(started.length).toBe(count);
    expect((await run).status).toBe('cancelled');

    started.length = 0;
    const other = parallelMap(
      slowly,
      Array.from({ length: 100 }, (_, i) => i),
      { concurrency: 1 },
    );
    const failing = task(async () => {
      await new Promise((resolve) => setTimeout(resolve, 8));
      throw new Error('first to fail');
    });
    await expect(gather(other, failing())).rejects.toThrow('first to fail');
    const after = started.length;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(started.length).toBe(after);
  });
});

describe('async callbacks never leave a rejection unhandled (outside review of issue 14)', () => {
  it('an async onRetry, onEvent, events$ listener or onProgress that rejects fails the run with its error', async () => {
    const flaky = async () => {
      throw new Error('flaky');
    };
    const onRetry = parallelMap(flaky, [1], {
      retry: {
        attempts: 3,
        backoff: 5,
        onRetry: async () => {
          throw new Error('async onRetry rejected');
        },
      },
    });
    await expect(onRetry).rejects.toThrow('async onRetry rejected');

    const slow = (x: number) => new Promise((resolve) => setTimeout(() => resolve(x), 5));
    const onEvent = parallelMap(slow, [1, 2], {
      onEvent: async () => {
        throw new Error('async onEvent rejected');
      },
    });
    await expect(onEvent).rejects.toThrow('async onEvent rejected');

    const subscription = events$.subscribe(async () => {
      throw new Error('async listener rejected');
    });
    try {
      await expect(parallelMap(slow, [1, 2])).rejects.toThrow('async listener rejected');
    } finally {
      subscription.unsubscribe();
    }

    const onProgress = parallelMap(slow, [1, 2], {
      onProgress: async () => {
        throw new Error('async onProgress rejected');
      },
    });
    await expect(onProgress).rejects.toThrow('async onProgress rejected');

    const call = task(slow, {
      onEvent: async () => {
        throw new Error('async onEvent of a call rejected');
      },
    });
    await expect(call(1)).rejects.toThrow('async onEvent of a call rejected');
  });

  it('one that rejects after the run has ended is ignored, not left unhandled', async () => {
    let rejectLate = (_: Error) => {};
    const late = new Promise<void>((_, reject) => (rejectLate = reject));
    const result = await parallelMap(async (x: number) => x, [1], { onEvent: () => late });
    expect(result.values()).toEqual([1]);
    rejectLate(new Error('too late'));
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('a retryIf or retryAfter that answers with a Promise, or retryAfter with a wait that is not one, is a clear error', async () => {
    const flaky = async () => {
      throw new Error('flaky');
    };
    const asyncRetryIf = await parallelMap(flaky, [1], {
      retry: { attempts: 3, retryIf: (async () => false) as never },
    });
    expect(asyncRetryIf.failures()[0].error).toBeInstanceOf(TypeError);
    expect(String(asyncRetryIf.failures()[0].error)).toMatch(/retryIf.*synchronously/);
    expect(asyncRetryIf.failures()[0].attempts).toBe(1);
    for (const [wait, type] of [
      [Number.NaN, RangeError],
      [-5, RangeError],
      [Number.POSITIVE_INFINITY, RangeError],
      ['x', TypeError],
    ] as const) {
      const result = await parallelMap(flaky, [1], { retry: { attempts: 3, retryAfter: () => wait as never } });
      expect(result.failures()[0].error).toBeInstanceOf(type);
    }
  });
});
