import type { SchedulerLike, Subscription } from 'rxjs';
import { Queue } from '../queue.js';
import { clockOf, scheduleAfter } from '../time.js';

/** One attempt's deadline. @internal */
export class TimeoutEntry<T> {
  done = false;
  constructor(
    readonly at: number,
    readonly target: T,
  ) {}
}

/**
 * The per-attempt deadlines of one map, behind a single timer. Every attempt of a map has the same timeout, so
 * deadlines come in order and a FIFO queue is enough: O(1) to add, to clear (an entry is marked done and dropped when
 * it reaches the head) and to fire. This replaces one `setTimeout` per task. @internal
 */
export class TimeoutQueue<T> {
  private readonly entries = new Queue<TimeoutEntry<T>>();
  private timer: Subscription | undefined = undefined;
  private readonly now: () => number;

  constructor(
    private readonly ms: number,
    private readonly scheduler: SchedulerLike,
    private readonly onTimeout: (target: T) => void,
  ) {
    this.now = clockOf(scheduler);
  }

  /** Adds the deadline of an attempt that starts at `now` (the scheduler's time, as the caller last read it). */
  add(target: T, now = this.now()): TimeoutEntry<T> {
    this.dropDoneHead();
    const entry = new TimeoutEntry(now + this.ms, target);
    this.entries.push(entry);
    if (this.timer === undefined) this.arm();
    return entry;
  }

  /** The attempt ended in time: its deadline is dropped once it reaches the head, which is soon, as they come in order. */
  clear(entry: TimeoutEntry<T>): void {
    entry.done = true;
    this.dropDoneHead();
  }

  /** Stops the timer and forgets every deadline. */
  stop(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.entries.clear();
  }

  /** Cleared deadlines leave the queue as soon as they are at its head, so it holds about as many as are running. */
  private dropDoneHead(): void {
    const entries = this.entries;
    while (entries.length > 0 && (entries.peek() as TimeoutEntry<T>).done) entries.shift();
  }

  private arm(): void {
    this.dropDoneHead();
    const head = this.entries.peek();
    if (head === undefined) return;
    const due = head.at;
    this.timer = scheduleAfter(this.scheduler, due - this.now(), () => this.fire(due));
  }

  /**
   * Expires the deadlines due by `due`, the time the timer was set for. Later ones wait for a timer of their own,
   * even when this one fired late: a function's own timer due before its deadline then fires first, as it would
   * against a timer per attempt.
   */
  private fire(due: number): void {
    this.timer = undefined;
    for (
      let head = this.entries.peek();
      head !== undefined && (head.done || head.at <= due);
      head = this.entries.peek()
    ) {
      this.entries.shift();
      if (!head.done) {
        head.done = true;
        this.onTimeout(head.target);
      }
    }
    if (this.timer === undefined) this.arm();
  }
}
