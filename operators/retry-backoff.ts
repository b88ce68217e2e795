import { type MonoTypeOperatorFunction, Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { type RetryOptions, RetryPolicy } from '../src/policies/retry-policy.js';
import { defaultScheduler, scheduleAfter } from '../src/time.js';
import { assertSource, UpstreamSubscriber } from '../src/upstream-subscriber.js';
import { assertScheduler, describe } from '../src/validate.js';

/**
 * Options of {@link retryBackoff}: the retry options, and where time comes from.
 *
 * @example
 * ```ts
 * import { asyncScheduler, defer } from 'rxjs';
 * import { type RetryBackoffOptions, retryBackoff } from 'rxtask/operators';
 *
 * const options: RetryBackoffOptions = { attempts: 3, backoff: 10, jitter: 'none', scheduler: asyncScheduler };
 * defer(async () => 'ok').pipe(retryBackoff(options)).subscribe(console.log); // 'ok'
 * ```
 */
export interface RetryBackoffOptions extends RetryOptions {
  /** Schedules the delays. Default: `asyncScheduler`'s timers on a monotonic clock; `TestScheduler.run` makes them virtual. */
  scheduler?: SchedulerLike;
}

/**
 * Resubscribes to the source when it errors, waiting longer each time: exponential backoff with jitter.
 *
 * <span class="informal">RxJS's `retry({ count, delay })`, with the backoff, jitter, server-mandated waits and
 * retry predicate written out: `attempts` counts the first try, so `attempts: 3` is two retries.</span>
 *
 * An error from a cancellation (`name === 'AbortError'`) or a `NonRetryableError` is passed on at once; so is an
 * error `retryIf` rejects, and the error of the last attempt. A TaskRun upstream sees the attempt number as
 * `this.attempt`, through any of RxJS's operators and schedulers in between; not across `share()` or a hand-written
 * operator that subscribes with a plain observer, which start a subscription of their own (there it sees 1). An async
 * `onRetry` is not waited for: its rejection fails the stream if it is still going. For a task's own calls and maps, prefer the `retry` option, which also draws a rate-limit token per
 * attempt and reports `attempts` in each ItemResult.
 *
 * Options and defaults: `attempts` 3, `backoff` 1000 ms, `factor` 2, `maxDelay` 30 000 ms, `jitter` `'full'`,
 * `retryIf`, `retryAfter(error) → ms`, `maxRetryAfter` 60 000 ms (a longer server wait fails at once),
 * `onRetry({ error, attempt, delayMs })`, `scheduler` `asyncScheduler`.
 *
 * @example
 * ```ts
 * import { defer } from 'rxjs';
 * import { retryBackoff } from 'rxtask/operators';
 *
 * let calls = 0;
 * defer(async () => {
 *   calls += 1;
 *   if (calls < 3) throw new Error('flaky');
 *   return calls;
 * })
 *   .pipe(retryBackoff({ attempts: 5, backoff: 10, jitter: 'none' }))
 *   .subscribe((n) => console.log(`succeeded on attempt ${n}`)); // after waits of 10 and 20 ms
 * ```
 */
export function retryBackoff<T>(options: RetryBackoffOptions = {}): MonoTypeOperatorFunction<T> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`retryBackoff: \`options\` must be an object, got ${describe(options)}`);
  }
  const { scheduler = defaultScheduler, ...retryOptions } = options;
  assertScheduler('retryBackoff', 'scheduler', scheduler);
  const policy = new RetryPolicy('retryBackoff', retryOptions, '');
  return (source) => {
    assertSource('retryBackoff', source);
    return new Observable<T>((subscriber) => {
      let attempt = 0;
      let current: UpstreamSubscriber<T> | undefined;
      let backoff: Subscription | undefined;
      // Before the first attempt is subscribed: a synchronous source that ends the subscription finds it here.
      subscriber.add(() => {
        current?.unsubscribe();
        backoff?.unsubscribe();
      });
      const subscribeAttempt = () => {
        attempt += 1;
        backoff = undefined;
        const upstream = new UpstreamSubscriber<T>(subscriber, {
          next: (value) => subscriber.next(value),
          error: (error: unknown) => {
            // The hooks are user code: they may end the subscription, and then no attempt follows.
            const decision = policy.decide(error, upstream.attempt as number, (hookError) =>
              subscriber.error(hookError),
            );
            if (subscriber.closed) return;
            if (decision.retry) backoff = scheduleAfter(scheduler, decision.delayMs, subscribeAttempt);
            else subscriber.error(decision.error);
          },
          complete: () => subscriber.complete(),
        });
        // Handed to the TaskRun upstream with this subscription, whatever runs between them.
        upstream.attempt = attempt;
        current = upstream;
        source.subscribe(upstream);
      };
      subscribeAttempt();
    });
  };
}
