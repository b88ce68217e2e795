import { defer, map, mergeMap, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { rateLimit, retryBackoff, timeoutEach } from '../operators/index.js';
import { NonRetryableError, RateLimiter, type TaskContext, TimeoutError, task } from '../src/index.js';

let testScheduler: TestScheduler;

beforeEach(() => {
  testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
});

/** @test {retryBackoff} */
describe('retryBackoff', () => {
  it('resubscribes after backoff × factor^n: the subscription windows show the spacing', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('--#');
      const subs = ['^-!', '----^-!', '----------^-!'];
      const result = source.pipe(retryBackoff({ attempts: 3, backoff: 2, factor: 2, jitter: 'none' }));
      expectObservable(result).toBe('------------#');
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('passes values of each attempt through, and stops retrying once it completes', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      let attempt = 0;
      const source = defer(() => (++attempt < 2 ? cold('a#') : cold('b|')));
      expectObservable(source.pipe(retryBackoff({ backoff: 3, jitter: 'none' }))).toBe('a---b|');
    });
  });

  it('caps the delay at maxDelay', () => {
    testScheduler.run(({ cold, expectSubscriptions }) => {
      const source = cold('#');
      source
        .pipe(retryBackoff({ attempts: 4, backoff: 3, factor: 10, maxDelay: 5, jitter: 'none' }))
        .subscribe({ error: () => {} });
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '---(^!)', '--------(^!)', '-------------(^!)']);
    });
  });

  it('never retries a NonRetryableError or a cancellation', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const fatal = new NonRetryableError('bad input');
      expectObservable(cold('-#', {}, fatal).pipe(retryBackoff({ backoff: 1 }))).toBe('-#', {}, fatal);
      const abort = new DOMException('stopped', 'AbortError');
      expectObservable(cold('-#', {}, abort).pipe(retryBackoff({ backoff: 1 }))).toBe('-#', {}, abort);
    });
  });

  it('waits what the server asks for', () => {
    testScheduler.run(({ cold, expectSubscriptions }) => {
      const source = cold('#', {}, { status: 429, retryAfterMs: 7 });
      source
        .pipe(retryBackoff({ attempts: 2, retryAfter: (e) => (e as { retryAfterMs: number }).retryAfterMs }))
        .subscribe({ error: () => {} });
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '-------(^!)']);
    });
  });

  it('numbers the attempts of a TaskRun upstream', async () => {
    const attempts: number[] = [];
    const flaky = task(function (this: TaskContext) {
      attempts.push(this.attempt);
      if (this.attempt < 3) throw new Error('again');
      return 'done';
    });
    const value = await new Promise((resolve) =>
      flaky()
        .pipe(retryBackoff({ attempts: 3, backoff: 0 }))
        .subscribe(resolve),
    );
    expect(value).toBe('done');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('throws at the call for bad options', () => {
    expect(() => retryBackoff({ attempts: 0 })).toThrow(RangeError);
    expect(() => retryBackoff({ backoff: -1 })).toThrow(RangeError);
    expect(() => retryBackoff('fast' as never)).toThrow(TypeError);
  });
});

/** @test {timeoutEach} */
describe('timeoutEach', () => {
  it('errors with a TimeoutError and unsubscribes the source when a subscription runs too long', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a------b|');
      const result = source.pipe(timeoutEach(4));
      expectObservable(result).toBe('-a--#', { a: 'a' }, new TimeoutError('The source timed out after 4 ms', 4));
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('lets a subscription that completes in time through', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('-a-|').pipe(timeoutEach(4))).toBe('-a-|');
    });
  });

  it('times each attempt afresh when placed before retryBackoff', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('------a|');
      const result = source.pipe(timeoutEach(3), retryBackoff({ attempts: 2, backoff: 1, jitter: 'none' }));
      expectObservable(result).toBe('-------#', {}, new TimeoutError('The source timed out after 3 ms', 3));
      expectSubscriptions(source.subscriptions).toBe(['^--!', '----^--!']);
    });
  });

  it("aborts a TaskRun's signal with the TimeoutError itself", async () => {
    let signal: AbortSignal | undefined;
    const hang = task(function hang(this: TaskContext) {
      signal = this.signal;
      return new Promise(() => {});
    });
    const error = await new Promise((resolve) => hang().pipe(timeoutEach(5)).subscribe({ error: resolve }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).taskName).toBe('hang');
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(error);
  });

  it('throws at the call for a bad deadline', () => {
    expect(() => timeoutEach(0)).toThrow(RangeError);
    expect(() => timeoutEach(Number.NaN)).toThrow(RangeError);
    expect(() => timeoutEach('1s' as never)).toThrow(TypeError);
  });
});

/** @test {rateLimit} */
describe('rateLimit', () => {
  it('spaces values out to the rate without dropping any', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const source = cold('(abcd|)');
      const result = source.pipe(rateLimit({ limit: 1, interval: 3 }));
      expectObservable(result).toBe('a--b--c--(d|)');
    });
  });

  it('lets values already spaced out pass untouched', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('a---b---c|').pipe(rateLimit({ limit: 1, interval: 3 }))).toBe('a---b---c|');
    });
  });

  it('passes an error on after the values that were waiting', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('(ab#)').pipe(rateLimit({ limit: 1, interval: 2 }))).toBe('a-(b#)');
    });
  });

  it('shares one budget between streams given the same limiter', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const shared = new RateLimiter({ limit: 1, interval: 2 });
      expectObservable(cold('(ab|)').pipe(rateLimit(shared))).toBe('a-(b|)');
      expectObservable(cold('(xy|)').pipe(rateLimit(shared))).toBe('----x-(y|)');
    });
  });

  it('starts tasks at the rate when it paces a stream of TaskRuns', () => {
    testScheduler.run(({ expectObservable }) => {
      const started: number[] = [];
      const stamp = task(() => {
        started.push(testScheduler.now());
        return testScheduler.now();
      });
      const result = of(1, 2, 3).pipe(
        map(() => stamp()),
        rateLimit({ limit: 1, interval: 5 }),
        mergeMap((run) => run),
      );
      expectObservable(result).toBe('a----b----(c|)', { a: 0, b: 5, c: 10 });
    });
  });

  it('throws at the call for bad options', () => {
    expect(() => rateLimit({ limit: 0, interval: 'second' })).toThrow(RangeError);
    expect(() => rateLimit({ limit: 1, interval: 'fortnight' as never })).toThrow(TypeError);
  });
});
