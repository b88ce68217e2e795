import { lastValueFrom, map, Observable, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mapParallel } from '../operators/index.js';
import { NonRetryableError, parallelMap, RateLimiter, type TaskContext, TimeoutError, task } from '../src/index.js';

let testScheduler: TestScheduler;

beforeEach(() => {
  testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
});

afterEach(() => {
  vi.useRealTimers();
});

describe('the retry option', () => {
  it('retries a task call and numbers its attempts', async () => {
    const seen: number[] = [];
    const flaky = task(
      async function (this: TaskContext, x: number) {
        seen.push(this.attempt);
        if (this.attempt < 3) throw new Error(`attempt ${this.attempt}`);
        return x * 2;
      },
      { retry: { attempts: 3, backoff: 1 } },
    );
    expect(await flaky(21)).toBe(42);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('reports the attempts made in each ItemResult, and the last error when they run out', async () => {
    const failsTwice = task(
      async function (this: TaskContext, x: number) {
        if (x === 0 || this.attempt < 2) throw new Error(`item ${x} attempt ${this.attempt}`);
        return x;
      },
      { retry: { attempts: 3, backoff: 1 } },
    );
    const result = await failsTwice.map([0, 1, 2]);
    expect(result.itemResults().map((item) => [item.ok, item.attempts])).toEqual([
      [false, 3],
      [true, 2],
      [true, 2],
    ]);
    expect((result.failures()[0].error as Error).message).toBe('item 0 attempt 3');
  });

  it("is a task's default that a map overrides", async () => {
    let calls = 0;
    const flaky = task(
      async () => {
        calls += 1;
        throw new Error('no');
      },
      { retry: { attempts: 4, backoff: 1 } },
    );
    const result = await parallelMap(flaky, [1], { retry: { attempts: 2, backoff: 1 } });
    expect(result.failures()[0].attempts).toBe(2);
    expect(calls).toBe(2);
  });

  it('ends at once on a NonRetryableError', async () => {
    const result = await parallelMap(
      async () => {
        throw new NonRetryableError('bad request', { cause: 400 });
      },
      [1],
      { retry: { attempts: 5, backoff: 1 } },
    );
    expect(result.failures()[0]).toMatchObject({ attempts: 1, error: expect.any(NonRetryableError) });
  });

  it('never retries after a cancel: nothing starts once the run is unsubscribed during a backoff', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const subscription = parallelMap(
      async () => {
        calls += 1;
        throw new Error('fail');
      },
      [1, 2],
      { retry: { attempts: 5, backoff: 100, jitter: 'none' } },
    ).subscribe();
    await vi.advanceTimersByTimeAsync(50);
    expect(calls).toBe(2);
    subscription.unsubscribe();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('spaces a map item’s attempts by the backoff (virtual time)', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const attempt = cold('-#');
      const result = parallelMap(() => attempt, ['x'], { retry: { attempts: 3, backoff: 2, jitter: 'none' } }).pipe(
        map((item) => `${item.ok}:${item.attempts}`),
      );
      expectObservable(result).toBe('---------(r|)', { r: 'false:3' });
      expectSubscriptions(attempt.subscriptions).toBe(['^!', '---^!', '--------^!']);
    });
  });
});

describe('the timeout option', () => {
  it('aborts the attempt’s signal with a TimeoutError and fails the attempt with it', async () => {
    let signal: AbortSignal | undefined;
    const hang = task(
      function hang(this: TaskContext) {
        signal = this.signal;
        return new Promise(() => {});
      },
      { timeout: 10 },
    );
    const error = await hang().then(undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ name: 'TimeoutError', ms: 10, taskName: 'hang' });
    expect(signal?.reason).toBe(error);
  });

  it('is per attempt, and a timed-out attempt is retried by default', async () => {
    const slowFirst = task(
      function (this: TaskContext) {
        return this.attempt === 1 ? new Promise(() => {}) : Promise.resolve(`attempt ${this.attempt}`);
      },
      { timeout: 10, retry: { attempts: 2, backoff: 1 } },
    );
    expect(await slowFirst()).toBe('attempt 2');
  });

  it('ignores the late answer of an attempt that timed out', async () => {
    vi.useFakeTimers();
    const answers = task(
      function (this: TaskContext, _item: number) {
        const attempt = this.attempt;
        return new Promise((resolve) => setTimeout(() => resolve(`attempt ${attempt}`), attempt === 1 ? 50 : 5));
      },
      { timeout: 20, retry: { attempts: 2, backoff: 10, jitter: 'none' } },
    );
    const pending = answers.map([1]).then((result) => result);
    await vi.advanceTimersByTimeAsync(100);
    const result = await pending;
    expect(result.values()).toEqual(['attempt 2']);
    expect(result.itemResults()[0].attempts).toBe(2);
  });

  it('shows the cancellation in the subscription window (virtual time)', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('------a|');
      const result = cold('(xy|)').pipe(
        mapParallel(() => slow, { timeout: 3 }),
        map((item) => (item.ok ? item.value : (item.error as Error).name)),
      );
      expectObservable(result).toBe('---(tt|)', { t: 'TimeoutError' });
      expectSubscriptions(slow.subscriptions).toBe(['^--!', '^--!']);
    });
  });

  it('uses one shared timer for a whole map, not one per task', async () => {
    vi.useFakeTimers();
    const subscription = parallelMap(
      () => new Promise(() => {}),
      Array.from({ length: 200 }, (_, i) => i),
      {
        concurrency: 200,
        timeout: 1_000,
      },
    ).subscribe();
    await vi.advanceTimersByTimeAsync(1);
    expect(vi.getTimerCount()).toBeLessThanOrEqual(2); // the timeout queue's timer, and at most the clock's tick
    subscription.unsubscribe();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('the rateLimit option', () => {
  it('gates the starts of a map’s tasks (virtual time)', () => {
    testScheduler.run(({ cold, expectSubscriptions }) => {
      const work = cold('-a|');
      parallelMap(() => work, [1, 2, 3], { rateLimit: { limit: 1, interval: 4 } }).subscribe();
      expectSubscriptions(work.subscriptions).toBe(['^-!', '----^-!', '--------^-!']);
    });
  });

  it('draws a token for every retry', () => {
    testScheduler.run(({ cold, expectSubscriptions }) => {
      const failing = cold('#');
      parallelMap(() => failing, [1], {
        rateLimit: { limit: 1, interval: 5 },
        retry: { attempts: 3, backoff: 1, jitter: 'none' },
      }).subscribe();
      expectSubscriptions(failing.subscriptions).toBe(['(^!)', '-----(^!)', '----------(^!)']);
    });
  });

  it('shares one budget between maps given the same limiter', () => {
    testScheduler.run(({ cold, expectSubscriptions }) => {
      const limiter = new RateLimiter({ limit: 1, interval: 3 });
      const a = cold('a|');
      const b = cold('b|');
      parallelMap(() => a, [1, 2], { rateLimit: limiter }).subscribe();
      parallelMap(() => b, [1, 2], { rateLimit: limiter }).subscribe();
      // First come, first served: map A's second item queued before map B's first.
      expectSubscriptions(a.subscriptions).toBe(['^!', '---^!']);
      expectSubscriptions(b.subscriptions).toBe(['------^!', '---------^!']);
    });
  });

  it('is shared by every call of a task given it as options', () => {
    testScheduler.run(({ cold, expectSubscriptions }) => {
      const work = cold('w|');
      const limited = task(() => work, { rateLimit: { limit: 1, interval: 2 } });
      limited().subscribe();
      limited().subscribe();
      limited.with({ name: 'renamed' })().subscribe();
      expectSubscriptions(work.subscriptions).toBe(['^!', '--^!', '----^!']);
    });
  });

  it('pauses every start for a server’s Retry-After', () => {
    testScheduler.run(({ cold, expectSubscriptions }) => {
      const limiter = new RateLimiter({ limit: 10, interval: 10 });
      const tooMany = cold('#', {}, { status: 429 });
      const other = cold('o|');
      parallelMap(() => tooMany, [1], {
        rateLimit: limiter,
        retry: { attempts: 2, retryAfter: () => 20 },
      }).subscribe();
      testScheduler.schedule(() => parallelMap(() => other, [1], { rateLimit: limiter }).subscribe(), 5);
      // Nothing starts until the pause ends; then the waiter that came first (the other map's) goes first.
      expectSubscriptions(tooMany.subscriptions).toBe(['(^!)', `${'-'.repeat(21)}(^!)`]);
      expectSubscriptions(other.subscriptions).toBe(`${'-'.repeat(20)}^!`);
    });
  });

  it('fails an item at once, and pauses no one, for a Retry-After above maxRetryAfter', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const limiter = new RateLimiter({ limit: 10, interval: 10 });
      const tooMany = cold('#', {}, { status: 429 });
      const other = cold('o|');
      const failed = parallelMap(() => tooMany, [1], {
        rateLimit: limiter,
        retry: { attempts: 3, retryAfter: () => 3_600_000, maxRetryAfter: 60_000 },
      });
      expectObservable(failed.pipe(map((result) => [result.ok, result.attempts]))).toBe('(a|)', { a: [false, 1] });
      testScheduler.schedule(() => parallelMap(() => other, [1], { rateLimit: limiter }).subscribe(), 5);
      expectSubscriptions(tooMany.subscriptions).toBe('(^!)');
      expectSubscriptions(other.subscriptions).toBe('-----^!');
    });
  });
});

describe('policies on calls that stream', () => {
  it('streams an Observable task’s values through a call with a timeout, as they come', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const ticks = task(() => cold('a-b-c|'), { timeout: 100 });
      expectObservable(ticks()).toBe('a-b-c|');
    });
  });

  it('streams each attempt again when a call is retried, as RxJS retry does', async () => {
    const values = await lastValueFrom(
      task(
        function (this: TaskContext) {
          return this.attempt === 1 ? cold1() : cold2();
        },
        { retry: { attempts: 2, backoff: 1 } },
      )().pipe(toArray()),
    );
    expect(values).toEqual(['first', 'first', 'second']);
  });
});

function cold1() {
  return new Observable<string>((subscriber) => {
    subscriber.next('first');
    subscriber.error(new Error('broke'));
  });
}

function cold2() {
  return new Observable<string>((subscriber) => {
    subscriber.next('first');
    subscriber.next('second');
    subscriber.complete();
  });
}

describe('bad policy options throw at the call', () => {
  it('on a task', () => {
    expect(() => task(() => 1, { timeout: -1 })).toThrow(/`timeout` must be a positive number of ms/);
    expect(() => task(() => 1, { timeout: '1s' as never })).toThrow(TypeError);
    expect(() => task(() => 1, { retry: 3 as never })).toThrow(/`retry` must be an object/);
    expect(() => task(() => 1, { retry: { attempts: 0 } })).toThrow(RangeError);
    expect(() => task(() => 1, { rateLimit: 5 as never })).toThrow(/`rateLimit` must be a RateLimiter or its options/);
    expect(() => task(() => 1, { rateLimit: { limit: 0, interval: 'second' } })).toThrow(RangeError);
  });

  it('on a map', () => {
    const fn = vi.fn();
    expect(() => parallelMap(fn, [1], { timeout: 0 })).toThrow(RangeError);
    expect(() => parallelMap(fn, [1], { retry: { backoff: Number.NaN } })).toThrow(RangeError);
    expect(() => parallelMap(fn, [1], { rateLimit: { limit: 1, interval: 'week' as never } })).toThrow(TypeError);
    expect(fn).not.toHaveBeenCalled();
  });
});
