import { asyncScheduler, type SchedulerAction, type SchedulerLike, Subscription } from 'rxjs';

/** The longest delay a JavaScript timer holds (2³¹−1 ms, about 24.8 days); a longer one fires at once. @internal */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

const hasPerformance = typeof performance === 'object' && typeof performance?.now === 'function';

/**
 * A clock that never goes back when the wall clock is adjusted: `performance.timeOrigin + performance.now()`, which
 * reads as epoch milliseconds. Under `TestScheduler.run`, whose virtual clock replaces `asyncScheduler.now()`, the
 * virtual time is used instead, so marble tests stay exact. @internal
 */
export function monotonicNow(): number {
  const wall = Date.now();
  const scheduled = asyncScheduler.now();
  // Outside TestScheduler.run both read Date.now() (faked alike by fake timers), a millisecond apart at most.
  if (scheduled - wall > 1 || scheduled < wall) return scheduled;
  return hasPerformance ? performance.timeOrigin + performance.now() : wall;
}

/**
 * The clock of `scheduler` as a function, settled once: for the default scheduler, the virtual clock if
 * `TestScheduler.run` is running now, else the monotonic one, so a policy that reads the clock per attempt (a
 * per-attempt timeout, a rate limiter) pays one read instead of three. Made inside `TestScheduler.run`, it follows
 * virtual time; made outside, real time. @internal
 */
export function clockOf(scheduler: SchedulerLike): () => number {
  if (scheduler !== defaultScheduler) return () => scheduler.now();
  const wall = Date.now();
  const scheduled = asyncScheduler.now();
  if (scheduled - wall > 1 || scheduled < wall || !hasPerformance) return () => asyncScheduler.now();
  const origin = performance.timeOrigin;
  return () => origin + performance.now();
}

/**
 * The scheduler used when none is given: RxJS's `asyncScheduler` for timers (so `TestScheduler.run` and fake timers
 * virtualize it) with a monotonic `now()`, so a wall-clock adjustment never stalls pacing or fires a timeout early.
 * @internal
 */
export const defaultScheduler: SchedulerLike = {
  now: monotonicNow,
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription {
    return asyncScheduler.schedule(work, delay, state as T);
  },
};

/**
 * Calls `work` once after `delay` ms on `scheduler`. Unlike a bare `schedule`, a delay longer than a timer can hold is
 * chained in steps of at most 2³¹−1 ms (a bare one fires after 1 ms), and `Infinity` never fires. A zero or negative
 * delay still goes through the scheduler: callers that want no timer for 0 check it themselves. @internal
 */
export function scheduleAfter(scheduler: SchedulerLike, delay: number, work: () => void): Subscription {
  if (delay === Number.POSITIVE_INFINITY) return new Subscription();
  if (!(delay > MAX_TIMER_DELAY)) return scheduler.schedule(work, Math.max(0, delay || 0));
  const due = scheduler.now() + delay;
  const chain = new Subscription();
  let link: Subscription | undefined;
  const step = () => {
    const left = due - scheduler.now();
    if (link !== undefined) chain.remove(link);
    if (left <= 0) {
      chain.unsubscribe();
      work();
      return;
    }
    link = scheduler.schedule(step, Math.min(left, MAX_TIMER_DELAY));
    chain.add(link);
  };
  link = scheduler.schedule(step, MAX_TIMER_DELAY);
  chain.add(link);
  return chain;
}
