import { type MonoTypeOperatorFunction, Observable } from 'rxjs';
import { RateLimiter, type RateLimitOptions } from '../src/policies/rate-limiter.js';
import type { Waiter } from '../src/policies/waiter.js';
import { Queue } from '../src/queue.js';
import { assertSource, subscribeUpstream } from '../src/upstream-subscriber.js';

/**
 * Spaces the source's values out to a rate, delaying them and never dropping one: each value waits for a token of
 * a {@link RateLimiter} and leaves in its order.
 *
 * <span class="informal">A lossless rate limit: unlike `throttleTime`, which drops values, every value comes out,
 * at most `limit` per `interval`.</span>
 *
 * Give it a shared `RateLimiter` to share one budget with tasks, maps and other streams, or its options to make one
 * for this operator (shared by every subscription to the result). A stream of TaskRuns paced this way, then
 * subscribed by `mergeMap`, has its tasks *started* at the rate. A source error or completion is passed on after the
 * values that were waiting. Unsubscribing gives back every waiting turn unused.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { rateLimit } from 'rxtask/operators';
 *
 * from(['a', 'b', 'c'])
 *   .pipe(rateLimit({ limit: 20, interval: 'second' }))
 *   .subscribe(console.log); // a, b (50 ms later), c (50 ms after that)
 * ```
 *
 * @param limiterOrOptions A shared limiter, or `{ limit, interval, burst?, scheduler? }` (see `RateLimitOptions`).
 */
export function rateLimit<T>(limiterOrOptions: RateLimiter | RateLimitOptions): MonoTypeOperatorFunction<T> {
  const limiter = limiterOrOptions instanceof RateLimiter ? limiterOrOptions : new RateLimiter(limiterOrOptions);
  return (source) => {
    assertSource('rateLimit', source);
    return new Observable<T>((subscriber) => {
      const waiting = new Queue<Waiter>();
      let pending = 0;
      let ending: (() => void) | undefined;
      const emit = (value: T) => {
        pending -= 1;
        subscriber.next(value);
        if (pending === 0) ending?.();
      };
      // Before the source is subscribed: a synchronous source that ends the subscription finds it here.
      subscriber.add(() => {
        for (let waiter = waiting.shift(); waiter !== undefined; waiter = waiting.shift()) waiter.cancel();
      });
      subscribeUpstream(source, subscriber, {
        next: (value) => {
          pending += 1;
          const waiter = limiter.acquire(
            () => {
              waiting.shift();
              emit(value);
            },
            (reason) => subscriber.error(reason),
          );
          if (waiter !== undefined) waiting.push(waiter);
        },
        error: (error: unknown) => {
          ending = () => subscriber.error(error);
          if (pending === 0) ending();
        },
        complete: () => {
          ending = () => subscriber.complete();
          if (pending === 0) ending();
        },
      });
    });
  };
}
