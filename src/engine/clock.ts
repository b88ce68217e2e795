import type { SchedulerLike } from 'rxjs';
import { clockOf } from '../time.js';

/** Reads between two clock reads, at most, within one job. */
const READS_PER_JOB = 64;

/**
 * Reads the scheduler's clock at most once per job: one clock read costs about as much as the whole per-item work
 * of a no-op map, so a batched clock keeps its reading until the current job ends (a microtask queued at the read
 * expires it), until a synchronous function's outcome is to be timed (`touched`), or until 64 reads have shared it.
 * Completions queued together share a timestamp, and so do items started together: a function that works before its
 * first `await` is timed right, but the items started in the same go after it share its start reading.
 *
 * An unbatched clock reads the scheduler every time, so virtual time (`TestScheduler`) stays exact. @internal
 */
export class BatchClock {
  /** Readings are milliseconds since the clock was made: small numbers, which V8 stores without boxing. */
  private readonly origin: number;
  private readonly read: () => number;
  private cached = 0;
  private readsLeft = 0;
  private expiring = false;
  private readonly expire = () => {
    this.expiring = false;
    this.readsLeft = 0;
  };

  constructor(
    scheduler: SchedulerLike,
    private readonly batched: boolean,
  ) {
    this.read = clockOf(scheduler);
    this.origin = this.read();
  }

  /** Milliseconds since the clock was made. */
  now(): number {
    if (!this.batched) return this.read() - this.origin;
    if (--this.readsLeft < 0) {
      this.cached = this.read() - this.origin;
      this.readsLeft = READS_PER_JOB;
      if (!this.expiring) {
        this.expiring = true;
        queueMicrotask(this.expire);
      }
    }
    return this.cached;
  }

  /** User code ran synchronously since the last read (a synchronous task): the next read is fresh. */
  touched(): void {
    this.readsLeft = 0;
  }

  /** The scheduler's time now, read as `now()` reads it. */
  time(): number {
    return this.origin + this.now();
  }

  /** Nothing to cancel: an expiry is a microtask. Kept so an ended run forgets its reading. */
  stop(): void {
    this.readsLeft = 0;
  }
}
