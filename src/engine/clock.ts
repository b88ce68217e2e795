import type { SchedulerLike } from 'rxjs';

/** Runs `callback` after the current event-loop turn; returns how to cancel it. */
const afterThisTurn: (callback: () => void) => () => void =
  typeof setImmediate === 'function'
    ? (callback) => {
        const handle = setImmediate(callback);
        return () => clearImmediate(handle);
      }
    : (callback) => {
        const handle = setTimeout(callback, 0);
        return () => clearTimeout(handle);
      };

/** Reads between two clock reads, at most, within one event-loop turn. */
const READS_PER_TICK = 64;

/**
 * Reads the scheduler's clock at most once per batch of completions. One clock read costs about as much as the whole
 * per-item work of a no-op map, so a batched clock keeps its reading until the event loop turns (every completion of
 * an I/O callback gets a fresh one) or 64 reads have shared it (a long chain of microtasks moves on too); items that
 * start or end together share a timestamp, which is enough for millisecond durations.
 *
 * An unbatched clock reads the scheduler every time, so virtual time (`TestScheduler`) stays exact. @internal
 */
export class BatchClock {
  /** Readings are milliseconds since the clock was made: small integers, which V8 stores without boxing. */
  private readonly origin: number;
  private cached = 0;
  private readsLeft = 0;
  private cancelExpiry: (() => void) | undefined = undefined;
  private readonly expire = () => {
    this.cancelExpiry = undefined;
    this.readsLeft = 0;
  };

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly batched: boolean,
  ) {
    this.origin = scheduler.now();
  }

  /** Milliseconds since the clock was made. */
  now(): number {
    if (!this.batched) return this.scheduler.now() - this.origin;
    if (--this.readsLeft < 0) {
      this.cached = this.scheduler.now() - this.origin;
      this.readsLeft = READS_PER_TICK;
      this.cancelExpiry ??= afterThisTurn(this.expire);
    }
    return this.cached;
  }

  /** The scheduler's time now, read as `now()` reads it. */
  time(): number {
    return this.origin + this.now();
  }

  /** Cancels the pending expiry, so an ended run leaves nothing scheduled. */
  stop(): void {
    this.cancelExpiry?.();
    this.cancelExpiry = undefined;
    this.readsLeft = 0;
  }
}
