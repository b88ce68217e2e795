import fc from 'fast-check';
import { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { type ItemResult, parallelMap, type TaskContext } from '../src/index.js';

/**
 * Properties of the engine's guarded path (retry, per-attempt timeout, rate limit), in virtual time: every timer
 * the run uses is on the TestScheduler, so one left pending after a cancel is visible.
 */
describe('guarded engine properties', () => {
  it('yields one result per item within the cap and attempt budget, and a cancel leaves nothing running or pending', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ duration: fc.integer({ min: 0, max: 8 }), failures: fc.integer({ min: 0, max: 3 }) }), {
          maxLength: 25,
        }),
        fc.integer({ min: 1, max: 5 }),
        fc.record({ attempts: fc.integer({ min: 1, max: 3 }), backoff: fc.integer({ min: 0, max: 5 }) }),
        fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
        fc.option(fc.record({ limit: fc.integer({ min: 1, max: 3 }), interval: fc.integer({ min: 1, max: 10 }) }), {
          nil: undefined,
        }),
        fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
        (items, concurrency, retry, timeout, rateLimit, cancelAt) => {
          const scheduler = new TestScheduler(() => {});
          scheduler.maxFrames = Number.POSITIVE_INFINITY;
          let running = 0;
          let peak = 0;
          const starts: number[] = [];
          const attemptsSeen = new Map<number, number>();

          const work = function (this: TaskContext, spec: { duration: number; failures: number }) {
            const index = this.index as number;
            const attempt = this.attempt;
            attemptsSeen.set(index, Math.max(attemptsSeen.get(index) ?? 0, attempt));
            return new Observable<number>((subscriber) => {
              starts.push(scheduler.now());
              running += 1;
              peak = Math.max(peak, running);
              const timer = scheduler.schedule(() => {
                if (attempt <= spec.failures) subscriber.error(new Error(`item ${index} attempt ${attempt}`));
                else {
                  subscriber.next(index);
                  subscriber.complete();
                }
              }, spec.duration);
              return () => {
                running -= 1;
                timer.unsubscribe();
              };
            });
          };

          const results: ItemResult<number>[] = [];
          let completed = false;
          const subscription = parallelMap(work, items, {
            concurrency,
            retry: { ...retry, jitter: 'none' },
            timeout,
            rateLimit,
            scheduler,
          }).subscribe({ next: (item) => results.push(item), complete: () => (completed = true) });

          let startsAtCancel = -1;
          if (cancelAt !== undefined) {
            scheduler.schedule(() => {
              if (completed) return;
              subscription.unsubscribe();
              startsAtCancel = starts.length;
              // Nothing of the run's is left running or scheduled.
              expect(running).toBe(0);
              expect(
                scheduler.actions.filter((action) => !action.closed && action !== undefined).length,
              ).toBeLessThanOrEqual(0);
            }, cancelAt);
          }
          scheduler.flush();

          expect(peak).toBeLessThanOrEqual(concurrency);
          expect(running).toBe(0);
          const indices = results.map((r) => r.index);
          expect(new Set(indices).size).toBe(indices.length);
          if (startsAtCancel === -1) {
            expect(completed).toBe(true);
            expect(indices.sort((a, b) => a - b)).toEqual([...items.keys()]);
          } else {
            expect(starts.length).toBe(startsAtCancel);
          }
          for (const result of results) {
            expect(result.attempts).toBeLessThanOrEqual(retry.attempts);
            expect(result.attempts).toBe(attemptsSeen.get(result.index));
            const spec = items[result.index];
            // A success needed more attempts than the item's planned failures; a failure used them all or ran out.
            if (result.ok) expect(result.attempts).toBeGreaterThan(spec.failures);
            else expect(result.attempts === retry.attempts || timeout !== undefined).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
