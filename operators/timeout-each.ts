import { type MonoTypeOperatorFunction, Observable, type SchedulerLike } from 'rxjs';
import { TimeoutError } from '../src/errors.js';
import { TaskRun } from '../src/task-run.js';
import { defaultScheduler, scheduleAfter } from '../src/time.js';
import { assertSource, subscribeUpstream, type UpstreamSubscriber } from '../src/upstream-subscriber.js';
import { assertScheduler, describe } from '../src/validate.js';

/**
 * Errors with a `TimeoutError` when a subscription to the source has not completed within `ms`: a deadline for
 * each attempt.
 *
 * <span class="informal">Unlike RxJS's `timeout({ each })`, which bounds the gap between values, this bounds the
 * whole of each subscription, so placed before `retryBackoff` it times every attempt afresh.</span>
 *
 * When it fires, the source is unsubscribed and a TaskRun upstream has its task's `AbortSignal` aborted with the
 * same `TimeoutError` (`name === 'TimeoutError'`, with `ms` and the task's name), so the task can tell a timeout
 * from a cancellation: through RxJS's operators, though not across `share()` or a hand-written operator that
 * subscribes with a plain observer (there the signal's reason is an `AbortError`). The timer is one `scheduler.schedule` per subscription; for maps, the `timeout` option shares
 * one timer among all tasks instead.
 *
 * @example
 * ```ts
 * import { task } from 'rxtask';
 * import { timeoutEach } from 'rxtask/operators';
 *
 * const slow = task(() => new Promise((resolve) => setTimeout(resolve, 1_000)));
 * slow()
 *   .pipe(timeoutEach(50))
 *   .subscribe({ error: (error) => console.log(error.name) }); // 'TimeoutError' after 50 ms
 * ```
 *
 * @param ms The deadline of each subscription, in milliseconds (a positive number; `Infinity` for none).
 * @param scheduler Where time comes from. Default `asyncScheduler`.
 */
export function timeoutEach<T>(ms: number, scheduler: SchedulerLike = defaultScheduler): MonoTypeOperatorFunction<T> {
  if (typeof ms !== 'number') throw new TypeError(`timeoutEach: \`ms\` must be a number, got ${describe(ms)}`);
  if (!(ms > 0)) throw new RangeError(`timeoutEach: \`ms\` must be a positive number of ms, got ${String(ms)}`);
  assertScheduler('timeoutEach', 'scheduler', scheduler);
  // No deadline at all: the source passes through untouched.
  if (ms === Number.POSITIVE_INFINITY) return (source) => source;
  return (source) => {
    assertSource('timeoutEach', source);
    return new Observable<T>((subscriber) => {
      const taskName = source instanceof TaskRun ? source.taskName : undefined;
      let upstream: UpstreamSubscriber<T> | undefined;
      // Armed before the source is subscribed, and cleared with the subscription: a synchronous source that ends it
      // leaves no timer behind.
      const timer = scheduleAfter(scheduler, ms, () => {
        // A TaskRun upstream, even behind other operators, noted its task's name as it was subscribed.
        const name = taskName ?? upstream?.taskName;
        const what = name === undefined ? 'The source' : name;
        const error = new TimeoutError(`${what} timed out after ${ms} ms`, ms, name);
        if (upstream !== undefined) {
          // The TaskRun upstream aborts its task's signal with this error, not a plain cancellation.
          upstream.stopReason = { reason: error };
          upstream.unsubscribe();
        }
        subscriber.error(error);
      });
      subscriber.add(timer);
      upstream = subscribeUpstream(source, subscriber, {
        next: (value) => subscriber.next(value),
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
  };
}
