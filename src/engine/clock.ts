import type { SchedulerLike } from 'rxjs';
import { clockOf } from '../time.js';

/**
 * Reads the scheduler's clock about once per item: one clock read costs about as much as the whole per-item work of
 * a no-op map. A reading is kept while no user code runs: from an item's end (always read afresh: its function has
 * just settled) to the start of the item that takes its slot, in the same synchronous step. Anything that lets user
 * code run (calling a function, the end of the engine's step) marks the reading stale with `touched`, so a function
 * that works before it returns, synchronous or not, is timed by fresh reads around it.
 *
 * An unbatched clock reads the scheduler every time. @internal
 */
export class BatchClock {
  /** Readings are milliseconds since the clock was made: small numbers, which V8 stores without boxing. */
  private readonly origin: number;
  private readonly read: () => number;
  private cached = 0;
  private stale = true;

  constructor(
    scheduler: SchedulerLike,
    private readonly batched: boolean,
  ) {
    this.read = clockOf(scheduler);
    this.origin = this.read();
  }

  /** Milliseconds since the clock was made. */
  now(): number {
    if (this.stale || !this.batched) {
      this.cached = this.read() - this.origin;
      this.stale = false;
    }
    return this.cached;
  }

  /** User code may have run since the last read: the next read is fresh. */
  touched(): void {
    this.stale = true;
  }

  /** The scheduler's time now, read as `now()` reads it. */
  time(): number {
    return this.origin + this.now();
  }

  /** Forgets the reading. */
  stop(): void {
    this.stale = true;
  }
}
