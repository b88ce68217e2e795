import type { SchedulerLike } from 'rxjs';
import { clockOf } from '../time.js';

/**
 * A run's clock. One clock read costs about as much as the whole per-item work of a no-op map, so a bare run (one
 * where no user code can run between one item's end and the next item's start: an array or Observable input, an
 * awaited result, no listener, hook or store) shares the reading of an item's end with the start of the item that
 * takes its slot in the same step, until a function runs. Every other reading is fresh, so a function that works
 * before it returns, a slow listener or a slow input never skews a duration, an event's time or a deadline. @internal
 */
export class RunClock {
  /** Readings are milliseconds since the clock was made: small numbers, which V8 stores without boxing. */
  private readonly origin: number;
  private readonly read: () => number;
  /** The reading of the step under way, while only the engine has run since it was taken. */
  private sharedReading = 0;
  private sharing = false;

  constructor(scheduler: SchedulerLike) {
    this.read = clockOf(scheduler);
    this.origin = this.read();
  }

  /** Milliseconds since the clock was made: the step's shared reading while there is one, else a fresh one. */
  now(): number {
    return this.sharing ? this.sharedReading : this.read() - this.origin;
  }

  /** Reads afresh, and shares the reading with what follows in this step until `unshare`. */
  share(): number {
    this.sharedReading = this.read() - this.origin;
    this.sharing = true;
    return this.sharedReading;
  }

  /** User code is about to run, or the step is over: later readings are fresh. */
  unshare(): void {
    this.sharing = false;
  }

  /** A reading as the scheduler's time. */
  epoch(reading: number): number {
    return this.origin + reading;
  }

  /** The scheduler's time now, read as `now()` reads it. */
  time(): number {
    return this.origin + this.now();
  }
}
