import { map, mergeMap, of, Subject, take, tap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { rateLimit } from '../../operators/index.js';
import { RateLimiter, task } from '../../src/index.js';
import { synchronousSource } from './operator-checks.js';

let testScheduler: TestScheduler;

beforeEach(() => {
  testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
});

/** @test {rateLimit} */
describe('rateLimit', () => {
  it('spaces values out to the rate without dropping any', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('(abcd|)');
      expectObservable(source.pipe(rateLimit({ limit: 1, interval: 3 }))).toBe('a--b--c--(d|)');
      // The source is done at once; the values wait for their turn downstream of it.
      expectSubscriptions(source.subscriptions).toBe('(^!)');
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

  it('does not break unsubscription chains when unsubscribed explicitly, and gives back the turns it waited for', () => {
    const shared = new RateLimiter({ limit: 1, interval: 4 });
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('--a--b--c--|');
      const unsub = '     ------!';
      const result = source.pipe(
        mergeMap((x) => of(x)),
        rateLimit(shared),
        mergeMap((x) => of(x)),
      );
      expectObservable(result, unsub).toBe('--a----');
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
    // `b` was waiting for its turn at the unsubscribe: no waiter and no timer are left.
    expect(testScheduler.actions.length).toBe(0);
  });

  it('stops a synchronous source as soon as a downstream take(1) has its value', () => {
    const sideEffects: number[] = [];
    testScheduler.run(() => {
      synchronousSource(Number.POSITIVE_INFINITY, sideEffects)
        .pipe(rateLimit({ limit: 1, interval: 10 }), take(1))
        .subscribe(() => {});
    });
    expect(sideEffects).toEqual([0]);
  });

  it('takes values emitted reentrantly, in order, each at its turn', () => {
    testScheduler.run(({ expectObservable }) => {
      const subject = new Subject<number>();
      const result = subject.pipe(
        rateLimit({ limit: 1, interval: 2 }),
        tap((x) => {
          if (x < 3) subject.next(x + 1); // emitted while rateLimit is emitting
        }),
      );
      expectObservable(result).toBe('a-b-c', { a: 1, b: 2, c: 3 });
      testScheduler.schedule(() => subject.next(1));
    });
  });

  it('starts tasks at the rate when it paces a stream of TaskRuns', () => {
    testScheduler.run(({ expectObservable }) => {
      const stamp = task(() => testScheduler.now());
      const result = of(1, 2, 3).pipe(
        map(() => stamp()),
        rateLimit({ limit: 1, interval: 5 }),
        mergeMap((run) => run),
      );
      expectObservable(result).toBe('a----b----(c|)', { a: 0, b: 5, c: 10 });
    });
  });

  it('errors with an AbortError when its limiter is disposed', async () => {
    const limiter = new RateLimiter({ limit: 1, interval: 'hour' });
    const error = new Promise((resolve) => of(1, 2).pipe(rateLimit(limiter)).subscribe({ error: resolve }));
    await limiter[Symbol.asyncDispose]();
    expect(((await error) as Error).name).toBe('AbortError');
  });

  it('throws at the call for bad options', () => {
    expect(() => rateLimit({ limit: 0, interval: 'second' })).toThrow(RangeError);
    expect(() => rateLimit({ limit: 1, interval: 'fortnight' as never })).toThrow(TypeError);
  });
});

describe('rateLimit source checks (outside review of issue 15)', () => {
  it('a bad source is a TypeError where the operator is applied', () => {
    expect(() => rateLimit({ limit: 1, interval: 10 })(null as never)).toThrow(TypeError);
  });
});
