import { EmptyError, lastValueFrom, of, type SchedulerLike, Subject, Subscription } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ConcurrencyLimit,
  events$,
  type ParallelOptions,
  parallelMap,
  RateLimiter,
  type RunEvent,
  type TaskContext,
  task,
  taskGroup,
} from '../src/index.js';
import { TimeoutQueue } from '../src/policies/timeout-queue.js';
import { defaultScheduler } from '../src/time.js';
import { deferred, turns } from './support/promises.js';

// The paths made cheap for issue 17 (a plain `await t(x)`, a plain `submit`, a per-attempt timeout, a token or permit
// granted at once, events on the run's clock) keep every behaviour of the general path they skip.

afterEach(() => {
  vi.useRealTimers();
});

describe('await of a call with nothing around it', () => {
  it('takes every kind of output the general path takes', async () => {
    let thens = 0;
    const thenable = {
      // biome-ignore lint/suspicious/noThenProperty: a thenable that resolves twice, to see it adopted once.
      then(resolve: (value: number) => void) {
        thens += 1;
        resolve(1);
        resolve(2);
      },
    };
    expect(await task(() => thenable)()).toBe(1);
    expect(thens).toBe(1);
    expect(await task(() => of(1, 2, 3))()).toBe(3);
    await expect(task(() => of())()).rejects.toBeInstanceOf(EmptyError);
    expect(await task((x: number) => x + 1)(1)).toBe(2);
    await expect(
      task(() => {
        throw new Error('sync');
      })(),
    ).rejects.toThrow('sync');
    const throwingThen = {
      // biome-ignore lint/suspicious/noThenProperty: a thenable whose `then` cannot be read.
      get then() {
        throw new Error('then getter');
      },
    };
    await expect(task(() => throwingThen)()).rejects.toThrow('then getter');
  });

  it('is lazy, runs once however often it is awaited, and gives the function its context', async () => {
    const seen: unknown[] = [];
    const spy = task(async function (this: TaskContext, x: number) {
      seen.push([this.name, this.attempt, this.index, this.signal.aborted]);
      return x * 2;
    });
    const run = spy(21);
    await turns(1);
    expect(seen).toEqual([]);
    expect([await run, await run]).toEqual([42, 42]);
    expect(seen).toEqual([['anonymous', 1, undefined, false]]);
    expect(await lastValueFrom(run)).toBe(42);
    expect(seen).toHaveLength(2);
  });

  it('disposing while awaited aborts the signal, rejects at once and waits for a function that ignores it', async () => {
    const release = deferred();
    let signal: AbortSignal | undefined;
    const stubborn = task(async function (this: TaskContext) {
      signal = this.signal;
      await release.promise;
      return 'late';
    });
    const run = stubborn();
    const awaited = run.then(
      () => 'resolved',
      (error: unknown) => (error as Error).name,
    );
    await turns(1);
    let disposed = false;
    const disposing = run[Symbol.asyncDispose]().then(() => {
      disposed = true;
    });
    expect(await awaited).toBe('AbortError');
    expect(signal?.aborted).toBe(true);
    await turns();
    expect(disposed).toBe(false);
    release.resolve();
    await disposing;
    expect(disposed).toBe(true);
  });

  it('an Observable output is unsubscribed when the run is disposed', async () => {
    const source = new Subject<number>();
    const run = task(() => source)();
    const awaited = run.then(undefined, (error: unknown) => (error as Error).name);
    await turns(1);
    expect(source.observed).toBe(true);
    await run[Symbol.asyncDispose]();
    expect(source.observed).toBe(false);
    expect(await awaited).toBe('AbortError');
  });

  it('still reports events, and still waits for a run passed as an argument', async () => {
    const seen: string[] = [];
    const subscription = events$.subscribe((event) => seen.push(event.type));
    const add = task(async (a: number, b: number) => a + b);
    expect(await add(1, 2)).toBe(3);
    subscription.unsubscribe();
    expect(seen).toEqual(['queued', 'started', 'succeeded']);
    expect(await add(add(1, 2) as never, 4)).toBe(7);
  });
});

describe('submit of a call with nothing around it', () => {
  it('runs at once and keeps its outcome for late subscribers and awaits', async () => {
    const release = deferred<number>();
    const future = task(async () => release.promise).submit();
    expect(future.state).toBe('running');
    const early: unknown[] = [];
    future.subscribe({ next: (value) => early.push(value), complete: () => early.push('complete') });
    release.resolve(5);
    expect(await future).toBe(5);
    expect(future.state).toBe('completed');
    const late: unknown[] = [];
    future.subscribe({ next: (value) => late.push(value), complete: () => late.push('complete') });
    expect([early, late]).toEqual([
      [5, 'complete'],
      [5, 'complete'],
    ]);
    await expect(task(() => of()).submit()).rejects.toBeInstanceOf(EmptyError);
  });

  it('a failure is kept without an unhandled rejection, and given to every await', async () => {
    const future = task(async () => {
      throw new Error('boom');
    }).submit();
    await turns();
    expect(future.state).toBe('failed');
    await expect(future).rejects.toThrow('boom');
    await expect(future.result()).rejects.toThrow('boom');
    expect(await future.wait()).toBe('failed');
  });

  it('cancel aborts the function, and disposing waits until it has ended', async () => {
    const release = deferred();
    let signal: AbortSignal | undefined;
    const future = task(async function (this: TaskContext) {
      signal = this.signal;
      await release.promise;
    }).submit();
    let disposed = false;
    const disposing = future[Symbol.asyncDispose]().then(() => {
      disposed = true;
    });
    expect(future.state).toBe('cancelled');
    expect(signal?.aborted).toBe(true);
    await expect(future).rejects.toMatchObject({ name: 'AbortError' });
    await turns();
    expect(disposed).toBe(false);
    release.resolve();
    await disposing;
    expect(disposed).toBe(true);
  });
});

describe('per-attempt timeouts', () => {
  it('drop the deadlines of attempts that ended in time, so a long map keeps a short queue', () => {
    const queue = new TimeoutQueue<number>(10_000, defaultScheduler, () => {});
    for (let i = 0; i < 10_000; i++) queue.clear(queue.add(i));
    const live = queue.add(-1);
    expect((queue as unknown as { entries: { length: number } }).entries.length).toBe(1);
    queue.clear(live);
    queue.stop();
  });

  it('still time out an attempt after many that ended in time', async () => {
    vi.useFakeTimers();
    const slowLast = async (x: number) => {
      if (x === 999) await new Promise((resolve) => setTimeout(resolve, 1_000));
      return x;
    };
    const run = parallelMap(
      slowLast,
      Array.from({ length: 1_000 }, (_, i) => i),
      { concurrency: 8, timeout: 100 },
    );
    const settled = run.then((result) => result.itemResults().filter((item) => !item.ok));
    await vi.advanceTimersByTimeAsync(1_000);
    const failed = await settled;
    expect(failed.map((item) => [item.index, (item as { error: Error }).error.name])).toEqual([[999, 'TimeoutError']]);
  });
});

describe('policies granted at once', () => {
  it('a rate limiter with tokens to spare starts attempts at once, and one without waits in virtual time', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(() => {
      const limiter = new RateLimiter({ limit: 1, interval: 10, burst: 2 });
      const starts: [number, number][] = [];
      parallelMap(
        (x: number) => {
          starts.push([x, scheduler.now()]);
          return x;
        },
        [1, 2, 3],
        { concurrency: 3, rateLimit: limiter },
      ).subscribe();
      scheduler.flush();
      expect(starts).toEqual([
        [1, 0],
        [2, 0],
        [3, 10],
      ]);
    });
  });

  it('event times follow the scheduler, and each item’s events come in time order', async () => {
    const events: RunEvent[] = [];
    await parallelMap(async (x: number) => x, [1, 2, 3], { onEvent: (event) => events.push(event) });
    const before = Date.now() + 1;
    for (const event of events) expect(event.time).toBeGreaterThan(before - 60_000);
    for (const event of events) expect(event.time).toBeLessThanOrEqual(before + 1);
    for (const index of [0, 1, 2]) {
      const times = events.filter((event) => event.index === index).map((event) => event.time);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
  });
});

describe('the batched clock (outside review of issue 17)', () => {
  // Fake timers stand in for CPU work: advancing them inside a task is time its function spent before it returned.
  const work = (ms: number) => vi.advanceTimersByTime(ms);

  it('times a function that works before it returns, synchronous or not, and stamps its events so', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const events: RunEvent[] = [];
    const sync = await parallelMap(
      () => {
        work(100);
        return 'v';
      },
      [1, 2],
      { onEvent: (event) => events.push(event) },
    );
    // One at a time: started together, the first's end is seen only once the second's function has returned.
    const async = await parallelMap(
      async () => {
        work(100);
        return 'v';
      },
      [1, 2],
      { concurrency: 1 },
    );
    expect(sync.itemResults().map((item) => item.durationMs)).toEqual([100, 100]);
    expect(async.itemResults().map((item) => item.durationMs)).toEqual([100, 100]);
    const first = events.filter((event) => event.index === 0);
    expect(first.map((event) => event.type)).toEqual(['queued', 'started', 'succeeded']);
    expect(first[2].time - first[1].time).toBe(100);
  });

  it('a deadline binds functions that work before they return', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    for (const fn of [() => work(10), async () => work(10)]) {
      let started = 0;
      const result = await parallelMap(
        () => {
          started += 1;
          return fn();
        },
        Array.from({ length: 100 }, (_, i) => i),
        { concurrency: 1, deadline: 50 },
      );
      expect(result.status).toBe('timed_out');
      expect(started).toBeGreaterThanOrEqual(5);
      expect(started).toBeLessThanOrEqual(6);
    }
  });
});

describe('what the outside review of issue 17 found', () => {
  it('a future of an Observable task that completes with no value has failed with EmptyError, on every path', async () => {
    for (const empty of [task(() => of()), task(() => of(), { timeout: 1_000 })]) {
      const future = empty.submit();
      await expect(future).rejects.toBeInstanceOf(EmptyError);
      expect([future.state, await future.wait(), future.error instanceof EmptyError]).toEqual([
        'failed',
        'failed',
        true,
      ]);
    }
  });

  it('a single call reports the same events whatever path it takes: no progress', async () => {
    const types: string[][] = [];
    for (const options of [{}, { timeout: 10_000 }]) {
      const seen: string[] = [];
      const subscription = events$.subscribe((event) => seen.push(event.type));
      await task(async (x: number) => x, options)(1);
      await task(async (x: number) => x, options).submit(1);
      subscription.unsubscribe();
      types.push(seen);
    }
    const call = ['queued', 'started', 'succeeded'];
    expect(types).toEqual([
      [...call, ...call],
      [...call, ...call],
    ]);
  });

  it('a group cancelled from outside rejects with the bare reason when a nested run obeyed it', async () => {
    const obey = task(function (this: TaskContext) {
      return new Promise((_, reject) => this.signal.addEventListener('abort', () => reject(this.signal.reason)));
    });
    const child = task(async () => await obey());
    const controller = new AbortController();
    const reason = new Error('stop from outside');
    const group = taskGroup(
      async (g) => {
        g.start(child);
      },
      { signal: controller.signal },
    );
    await turns();
    controller.abort(reason);
    await expect(group).rejects.toBe(reason);
  });

  it('a group waits for the function of a lazy argument of a run awaited in its body', async () => {
    const release = deferred();
    let argumentRunning = false;
    const slowArgument = task(async () => {
      argumentRunning = true;
      await release.promise; // ignores its signal
      argumentRunning = false;
      return 1;
    });
    const use = task((x: number) => x);
    const failing = task(async () => {
      await turns(1);
      throw new Error('root');
    });
    let settled = false;
    const group = taskGroup(async (g) => {
      g.start(failing);
      await use(slowArgument() as never);
    }).catch((error: unknown) => {
      settled = true;
      return error;
    });
    await turns();
    expect([argumentRunning, settled]).toEqual([true, false]);
    release.resolve();
    expect(((await group) as AggregateError).errors).toEqual([new Error('root')]);
    expect(argumentRunning).toBe(false);
  });
});

describe('the run clock (second outside review of issue 17)', () => {
  const work = (ms: number) => vi.advanceTimersByTime(ms);
  const clockOnly = () => vi.useFakeTimers({ toFake: ['Date', 'performance'] });

  it('user code between one item and the next never counts in a duration', async () => {
    clockOnly();
    function* slowInput() {
      for (let i = 0; i < 4; i++) {
        work(20);
        yield i;
      }
    }
    const fn = (x: number) => {
      work(1);
      return x;
    };
    const cases: [Iterable<number>, ParallelOptions, (() => void) | undefined][] = [
      [slowInput(), {}, undefined],
      [[0, 1, 2, 3], { onProgress: () => work(20) }, undefined],
      [[0, 1, 2, 3], {}, () => work(20)],
      [[0, 1, 2, 3], { onEvent: (event) => event.type === 'queued' && work(20) }, undefined],
    ];
    for (const [input, options, onNext] of cases) {
      const durations: number[] = [];
      await new Promise<void>((resolve, reject) =>
        parallelMap(fn, input, { concurrency: 1, ...options }).subscribe({
          next: (item) => {
            durations.push(item.durationMs);
            onNext?.();
          },
          error: reject,
          complete: resolve,
        }),
      );
      expect(durations).toEqual([1, 1, 1, 1]);
    }
  });

  it('nothing starts past the deadline, however slow the input or a callback', async () => {
    clockOnly();
    function* slowInput() {
      for (let i = 0; i < 10; i++) {
        work(20);
        yield i;
      }
    }
    const started = Date.now();
    const calledAt: number[] = [];
    const record = (x: number) => {
      calledAt.push(Date.now() - started);
      return x;
    };
    const fromInput = await parallelMap(record, slowInput(), { concurrency: 1, deadline: 50 });
    expect(fromInput.status).toBe('timed_out');
    expect(Math.max(...calledAt)).toBeLessThan(50);
    calledAt.length = 0;
    const restart = Date.now();
    const fromProgress = await parallelMap(
      (x: number) => {
        calledAt.push(Date.now() - restart);
        return x;
      },
      [0, 1, 2, 3, 4, 5],
      { concurrency: 1, deadline: 50, onProgress: () => work(20) },
    );
    expect(fromProgress.status).toBe('timed_out');
    expect(Math.max(...calledAt)).toBeLessThan(50);
  });

  it('a function that returned before the deadline passed keeps its value, at any concurrency', async () => {
    clockOnly();
    for (const concurrency of [1, 8]) {
      const result = await parallelMap(
        async (x: number) => {
          work(5);
          return x;
        },
        Array.from({ length: 30 }, (_, i) => i),
        { concurrency, deadline: 50 },
      );
      expect(result.status).toBe('timed_out');
      const ran = result.itemResults().filter((item) => item.attempts > 0);
      expect(ran.length).toBeGreaterThanOrEqual(10);
      expect(ran.every((item) => item.ok)).toBe(true);
    }
  });

  it('a retry is stamped when it starts, after its backoff', async () => {
    vi.useFakeTimers();
    const events: RunEvent[] = [];
    const run = parallelMap(
      async function (this: TaskContext) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        if (this.attempt === 1) throw new Error('fail once');
      },
      [0],
      { retry: { attempts: 2, backoff: 30, jitter: 'none' }, onEvent: (event) => events.push(event) },
    );
    const done = run.then((result) => result.status);
    await vi.advanceTimersByTimeAsync(100);
    expect(await done).toBe('completed');
    const time = (type: string, attempt: number) =>
      events.find((event) => event.type === type && event.attempt === attempt)?.time as number;
    expect(time('started', 2) - time('retrying', 1)).toBe(30);
    expect(time('succeeded', 2) - time('started', 2)).toBe(10);
  });
});

describe('deadlines, timeouts and permits (third outside review of issue 17)', () => {
  const work = (ms: number) => vi.advanceTimersByTime(ms);
  const clockOnly = () => vi.useFakeTimers({ toFake: ['Date', 'performance'] });

  it('a per-attempt deadline is expired by a timer set for it, even when an earlier one fired late', () => {
    let now = 0;
    const timers: { at: number; work: () => void }[] = [];
    const scheduler = {
      now: () => now,
      schedule: (work: () => void, delay = 0) => {
        timers.push({ at: now + delay, work });
        return new Subscription();
      },
    } as unknown as SchedulerLike;
    const expired: string[] = [];
    const queue = new TimeoutQueue<string>(30, scheduler, (target) => expired.push(target));
    queue.add('B'); // due at 30
    now = 10;
    const a = queue.add('A'); // due at 40
    now = 45; // the timer for B fires 15 ms late, after A's own work was due
    timers.shift()?.work();
    expect(expired).toEqual(['B']);
    queue.clear(a); // A's function ended before its deadline's own timer fired
    for (const timer of timers.splice(0)) timer.work();
    expect(expired).toEqual(['B']);
  });

  it('nothing starts past the deadline after a slow started listener, and no retry hook is called past it', async () => {
    clockOnly();
    const calls: number[] = [];
    const listened = await parallelMap(
      (x: number) => {
        calls.push(x);
        return x;
      },
      [0, 1, 2, 3],
      { concurrency: 1, deadline: 30, onEvent: (event) => event.type === 'started' && work(12) },
    );
    expect(listened.status).toBe('timed_out');
    expect(calls).toEqual([0, 1]);
    const hooks: string[] = [];
    const retried = await parallelMap(
      () => {
        work(40);
        throw new Error('boom');
      },
      [0],
      {
        deadline: 30,
        retry: {
          attempts: 3,
          backoff: 1,
          retryIf: () => hooks.push('retryIf') > 0,
          onRetry: () => hooks.push('onRetry'),
        },
      },
    );
    expect(hooks).toEqual([]);
    expect((retried.itemResults()[0] as { error: Error }).error.message).toBe('boom');
  });

  it('a run past its deadline still hears an item whose own timer was due before the deadline’s', async () => {
    clockOnly();
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const result = await parallelMap(
      async (name: string) => {
        await sleep(name === 'A' ? 45 : 35);
        return name;
      },
      ['D', 'A'],
      { concurrency: 2, deadline: 50, onProgress: () => work(25) },
    );
    expect(result.itemResults().map((item) => (item.ok ? item.value : 'failed'))).toEqual(['D', 'A']);
  });

  it('an attempt’s end is read before its permit lets the next one start', async () => {
    clockOnly();
    const result = await parallelMap(
      async (x: number) => {
        work(10);
        return x;
      },
      [0, 1, 2],
      { concurrency: 3, concurrencyLimit: new ConcurrencyLimit(1) },
    );
    // Items 1 and 2 are admitted once item 0's function has returned (at 10); each attempt's end is read before the
    // next one runs on the permit it gives back.
    expect(result.itemResults().map((item) => item.durationMs)).toEqual([10, 10, 20]);
  });
});
