import type { SchedulerLike, Subscription } from 'rxjs';
import { cancellationReason } from '../errors.js';
import { Queue } from '../queue.js';
import { clockOf, defaultScheduler, scheduleAfter } from '../time.js';
import { assertOptions, assertPositiveInteger, assertScheduler, assertSignal, describe } from '../validate.js';
import { Waiter } from './waiter.js';

/**
 * Options of a {@link RateLimiter}: at most `limit` starts per `interval`.
 *
 * @example
 * ```ts
 * import { RateLimiter, type RateLimitOptions } from 'rxtask';
 *
 * const options: RateLimitOptions = { limit: 600, interval: 'minute', burst: 10 };
 * const limiter = new RateLimiter(options);
 * await limiter.wait();
 * console.log(limiter.limit); // 600
 * ```
 */
export interface RateLimitOptions {
  /** Starts allowed per interval: a positive number. */
  limit: number;
  /** The interval: milliseconds, or `'second'`, `'minute'` or `'hour'`. */
  interval: number | 'second' | 'minute' | 'hour';
  /** How many starts may happen back to back after a quiet spell. Default `1`: evenly spaced starts. */
  burst?: number;
  /**
   * Where time comes from. Default: `asyncScheduler`'s timers with a monotonic clock (a wall-clock adjustment does not
   * stall it); a `TestScheduler` runs it in virtual time.
   */
  scheduler?: SchedulerLike;
}

const RATE_LIMIT_OPTIONS = ['limit', 'interval', 'burst', 'scheduler'] as const;
const INTERVALS = { second: 1_000, minute: 60_000, hour: 3_600_000 } as const;
/** The strict window check keeps one timestamp per allowed start; past this many it is left to the spacing alone. */
const MAX_WINDOW_LOG = 1_000_000;

/**
 * A token bucket that gates task *starts*: at most `limit` per `interval`, `burst` of them back to back. It never
 * drops anything: a start that is not allowed yet waits, and waiters go first come, first served.
 *
 * One instance is one budget: give the same limiter to several tasks, maps and operators and they share it. Every
 * attempt draws a token, retries included. `pause(ms)` holds every start (a server's `Retry-After`); afterwards starts
 * resume at the refill pace, not as a herd.
 *
 * Guarantees: in any window of length `interval`, at most `limit + burst − 1` starts (for an integer limit); over a
 * long run the rate is the target's, since the schedule is kept from timer lateness. A single timer serves the whole
 * queue, and none is left when nothing waits.
 *
 * @example
 * ```ts
 * import { parallelMap, RateLimiter } from 'rxtask';
 *
 * const api = new RateLimiter({ limit: 50, interval: 'second' });
 * const started: number[] = [];
 * await parallelMap(async (x: number) => started.push(x), [1, 2, 3], { rateLimit: api });
 * await api.wait(); // the same budget, for work outside a map
 * console.log(started.length); // 3
 * ```
 */
export class RateLimiter {
  /** Starts per interval. */
  readonly limit: number;
  /** The interval, in milliseconds. */
  readonly interval: number;
  /** Starts allowed back to back. */
  readonly burst: number;
  private readonly spacing: number;
  private readonly scheduler: SchedulerLike;
  private readonly now: () => number;
  /** The theoretical time of the next start (GCRA), kept on schedule whatever the timers' lateness. */
  private nextStartAt = Number.NEGATIVE_INFINITY;
  private pausedUntil = Number.NEGATIVE_INFINITY;
  /** The latest starts, to hold any window of `interval` to `limit + burst − 1` of them. */
  private readonly windowLog: Float64Array;
  private logged = 0;
  private logNext = 0;
  private readonly waiters = new Queue<Waiter>();
  private live = 0;
  private timer: Subscription | undefined = undefined;
  private timerAt = Number.NaN;
  /** Set once the limiter is disposed: every start is refused with it. */
  private disposedWith: { reason: unknown } | undefined = undefined;

  constructor(options: RateLimitOptions) {
    const where = 'RateLimiter';
    const checked = assertOptions<RateLimitOptions>(where, options, RATE_LIMIT_OPTIONS);
    if (checked === undefined) throw new TypeError(`${where}: options { limit, interval } are required`);
    const { limit, interval, burst, scheduler } = checked;
    if (typeof limit !== 'number') throw new TypeError(`${where}: \`limit\` must be a number, got ${describe(limit)}`);
    if (!(limit > 0) || !Number.isFinite(limit)) {
      throw new RangeError(`${where}: \`limit\` must be a positive finite number, got ${String(limit)}`);
    }
    this.interval = intervalMs(where, interval);
    assertPositiveInteger(where, 'burst', burst, false);
    assertScheduler(where, 'scheduler', scheduler);
    this.limit = limit;
    this.burst = burst ?? 1;
    this.spacing = this.interval / limit;
    this.scheduler = scheduler ?? defaultScheduler;
    this.now = clockOf(this.scheduler);
    const windowSize = Number.isInteger(limit) ? limit + this.burst - 1 : 0;
    this.windowLog = new Float64Array(windowSize <= MAX_WINDOW_LOG ? windowSize : 0);
  }

  /** Resolves when a start is allowed, having taken its token; an aborted signal rejects and takes nothing. */
  wait(signal?: AbortSignal): Promise<void> {
    assertSignal('RateLimiter.wait', 'signal', signal);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        waiter?.cancel();
        reject(signal?.reason);
      };
      const waiter = this.acquire(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        (reason) => {
          signal?.removeEventListener('abort', onAbort);
          reject(reason);
        },
      );
      if (waiter !== undefined) signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Holds every start for `ms`; the furthest pause wins. Afterwards one start goes at once, the rest at the refill pace. */
  pause(ms: number): void {
    if (typeof ms !== 'number') throw new TypeError(`RateLimiter.pause: \`ms\` must be a number, got ${describe(ms)}`);
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw new RangeError(`RateLimiter.pause: \`ms\` must be a finite number ≥ 0, got ${String(ms)}`);
    }
    const until = this.now() + ms;
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    // Exactly one token when the pause ends, whatever the burst: no herd.
    this.nextStartAt = Math.max(this.nextStartAt, until + (this.burst - 1) * this.spacing);
    this.reschedule(this.now());
  }

  /**
   * Disposes of the limiter: every start waiting for a token is refused (a `wait()` rejects, a task's attempt fails)
   * with an `AbortError`, and so is every later one; its timer is cleared. For `await using`.
   *
   * @example
   * ```ts
   * import { RateLimiter } from 'rxtask';
   *
   * {
   *   await using limiter = new RateLimiter({ limit: 1, interval: 'hour' });
   *   await limiter.wait();
   *   limiter.wait().catch((error) => console.log(error.name)); // 'AbortError', once the block ends
   * }
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    if (this.disposedWith === undefined) {
      this.disposedWith = { reason: cancellationReason('RateLimiter: the limiter was disposed') };
      const refused: Waiter[] = [];
      for (let waiter = this.waiters.shift(); waiter !== undefined; waiter = this.waiters.shift()) {
        if (!waiter.cancelled) refused.push(waiter);
        waiter.cancelled = true;
      }
      this.live = 0;
      this.reschedule(this.now());
      for (const waiter of refused) waiter.refuse?.(this.disposedWith.reason);
    }
    return Promise.resolve();
  }

  /**
   * Calls `grant` when a start is allowed: at once (returning `undefined`) when nobody waits and a token is there,
   * else later, in arrival order (returning the waiter, which can be cancelled). Once the limiter is disposed,
   * `refuse` is called instead. @internal
   */
  acquire(grant: () => void, refuse?: (reason: unknown) => void): Waiter | undefined {
    if (this.tryTake()) {
      grant();
      return undefined;
    }
    if (this.disposedWith !== undefined) {
      refuse?.(this.disposedWith.reason);
      return undefined;
    }
    const now = this.now();
    const waiter = new Waiter(this, grant, refuse);
    this.waiters.push(waiter);
    this.live += 1;
    this.reschedule(now);
    return waiter;
  }

  /** Takes a token if one is there now and nobody waits before; false otherwise (and once disposed). @internal */
  tryTake(): boolean {
    if (this.disposedWith !== undefined || this.live > 0) return false;
    const now = this.now();
    if (this.earliestStart(now) > now) return false;
    this.record(now);
    return true;
  }

  /** @internal */
  withdraw(waiter: Waiter): void {
    if (waiter.cancelled) return;
    waiter.cancelled = true;
    this.live -= 1;
    if (this.live === 0) this.reschedule(this.now());
  }

  private earliestStart(now: number): number {
    let at = Math.max(now, this.pausedUntil, this.nextStartAt - (this.burst - 1) * this.spacing);
    if (this.windowLog.length > 0 && this.logged === this.windowLog.length) {
      at = Math.max(at, this.windowLog[this.logNext] + this.interval);
    }
    return at;
  }

  /** Takes a token for a start at `now`. */
  private record(now: number): void {
    // Late by less than one spacing (a timer's lateness while busy): keep the ideal schedule; idle longer: restart it.
    this.nextStartAt = (now - this.nextStartAt < this.spacing ? this.nextStartAt : now) + this.spacing;
    if (this.windowLog.length > 0) {
      this.windowLog[this.logNext] = now;
      this.logNext = (this.logNext + 1) % this.windowLog.length;
      this.logged = Math.min(this.logged + 1, this.windowLog.length);
    }
  }

  /** Grants every waiter whose turn has come, then sets the one timer for the next. */
  private drain(): void {
    this.timer = undefined;
    this.timerAt = Number.NaN;
    const now = this.now();
    while (this.live > 0) {
      const head = this.headWaiter();
      if (head === undefined || this.earliestStart(now) > now) break;
      this.waiters.shift();
      head.cancelled = true;
      this.live -= 1;
      this.record(now);
      head.grant();
    }
    this.reschedule(now);
  }

  private headWaiter(): Waiter | undefined {
    for (let head = this.waiters.peek(); head !== undefined; head = this.waiters.peek()) {
      if (!head.cancelled) return head;
      this.waiters.shift();
    }
    return undefined;
  }

  private reschedule(now: number): void {
    if (this.live === 0) {
      this.timer?.unsubscribe();
      this.timer = undefined;
      this.timerAt = Number.NaN;
      this.waiters.clear();
      return;
    }
    const at = this.earliestStart(now);
    if (this.timer !== undefined && this.timerAt === at) return;
    this.timer?.unsubscribe();
    this.timerAt = at;
    this.timer = scheduleAfter(this.scheduler, at - now, () => this.drain());
  }
}

/** Converts an `interval` option to milliseconds. @internal */
export function intervalMs(where: string, interval: unknown): number {
  if (typeof interval === 'string') {
    const ms = (INTERVALS as Record<string, number>)[interval];
    if (ms === undefined) {
      throw new TypeError(
        `${where}: \`interval\` must be a number of ms, 'second', 'minute' or 'hour', got ${describe(interval)}`,
      );
    }
    return ms;
  }
  if (typeof interval !== 'number') {
    throw new TypeError(
      `${where}: \`interval\` must be a number of ms, 'second', 'minute' or 'hour', got ${describe(interval)}`,
    );
  }
  if (!(interval > 0) || !Number.isFinite(interval)) {
    throw new RangeError(`${where}: \`interval\` must be a positive finite number of ms, got ${String(interval)}`);
  }
  return interval;
}
