import fc from 'fast-check';
import { type MonoTypeOperatorFunction, Observable, type OperatorFunction, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { mapParallel, rateLimit, retryBackoff, timeoutEach } from '../../operators/index.js';

/**
 * Every operator, against random sources (synchronous or timed, finite or endless) and random `take(n)` and
 * unsubscribe points, in virtual time: it subscribes the source once, emits at most what was asked, and once the
 * subscription is over leaves no timer, no waiter (a rate-limit turn keeps a timer) and no subscription behind.
 */

type OperatorName = 'rateLimit' | 'retryBackoff' | 'timeoutEach' | 'mapParallel sync' | 'mapParallel timed';

interface Case {
  operator: OperatorName;
  /** Values the source emits; `Infinity` for an endless one. */
  count: number;
  /** Frames between values; 0 for a synchronous source. */
  spacing: number;
  take: number;
  unsubscribeAt: number | undefined;
}

/** An endless synchronous source stops only through an operator that passes its values on at once. */
const passesAtOnce = (c: Case) => c.operator !== 'mapParallel timed';

const caseArbitrary: fc.Arbitrary<Case> = fc
  .record({
    operator: fc.constantFrom<OperatorName>(
      'rateLimit',
      'retryBackoff',
      'timeoutEach',
      'mapParallel sync',
      'mapParallel timed',
    ),
    count: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.constant(Number.POSITIVE_INFINITY)),
    spacing: fc.integer({ min: 0, max: 3 }),
    take: fc.integer({ min: 1, max: 10 }),
    unsubscribeAt: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
  })
  .filter((c) => !(c.count === Number.POSITIVE_INFINITY && c.spacing === 0 && !passesAtOnce(c)));

function operatorFor(c: Case, scheduler: TestScheduler): OperatorFunction<number, unknown> {
  switch (c.operator) {
    case 'rateLimit':
      // A burst of `take` lets that many pass back to back, so an endless synchronous source can be stopped.
      return rateLimit<number>({ limit: 1, interval: 2, burst: c.take, scheduler });
    case 'retryBackoff':
      return retryBackoff<number>({ scheduler });
    case 'timeoutEach':
      return timeoutEach<number>(25, scheduler) as MonoTypeOperatorFunction<number>;
    case 'mapParallel sync':
      return mapParallel((x: number) => x, { concurrency: 2, scheduler });
    case 'mapParallel timed':
      return mapParallel(
        (x: number) =>
          new Observable<number>((subscriber) => {
            const timer = scheduler.schedule(() => {
              subscriber.next(x);
              subscriber.complete();
            }, 2);
            return () => timer.unsubscribe();
          }),
        { concurrency: 2, scheduler },
      );
  }
}

describe('operators keep RxJS’s contract', () => {
  it('subscribe the source once, emit at most what was asked, and leave nothing behind', () => {
    fc.assert(
      fc.property(caseArbitrary, (c) => {
        const scheduler = new TestScheduler(() => {});
        scheduler.maxFrames = Number.POSITIVE_INFINITY;
        let subscriptions = 0;
        let open = 0;
        let emittedBySource = 0;
        const source = new Observable<number>((subscriber) => {
          subscriptions += 1;
          open += 1;
          if (c.spacing === 0) {
            for (let i = 0; i < c.count && !subscriber.closed; i++) {
              emittedBySource += 1;
              subscriber.next(i);
            }
            if (!subscriber.closed) subscriber.complete();
            return () => {
              open -= 1;
            };
          }
          let i = 0;
          const tick = scheduler.schedule(function (this: { schedule(state?: unknown, delay?: number): void }) {
            if (i >= c.count) {
              subscriber.complete();
              return;
            }
            emittedBySource += 1;
            subscriber.next(i++);
            this.schedule(undefined, c.spacing);
          }, c.spacing);
          return () => {
            open -= 1;
            tick.unsubscribe();
          };
        });

        const received: unknown[] = [];
        let ended = false;
        const subscription = source.pipe(operatorFor(c, scheduler), take(c.take)).subscribe({
          next: (value) => received.push(value),
          error: () => (ended = true),
          complete: () => (ended = true),
        });
        if (c.unsubscribeAt !== undefined) scheduler.schedule(() => subscription.unsubscribe(), c.unsubscribeAt);
        // An endless timed source with nothing to stop it would run forever: stop it late, as a user would.
        scheduler.schedule(() => subscription.unsubscribe(), 500);
        scheduler.flush();

        expect(subscriptions).toBe(1);
        expect(received.length).toBeLessThanOrEqual(c.take);
        if (c.spacing === 0 && c.count === Number.POSITIVE_INFINITY) expect(emittedBySource).toBe(c.take);
        expect(ended || subscription.closed).toBe(true);
        expect(open).toBe(0);
        expect(scheduler.actions.filter((action) => !action.closed)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});
