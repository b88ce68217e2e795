import type { SchedulerLike, Subscription } from 'rxjs';
import { Queue } from '../queue.js';
import { scheduleAfter } from '../time.js';

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

  constructor(
    private readonly ms: number,
    private readonly scheduler: SchedulerLike,
    private readonly onTimeout: (target: T) => void,
  ) {}

  add(target: T): TimeoutEntry<T> {
    const entry = new TimeoutEntry(this.scheduler.now() + this.ms, target);
    this.entries.push(entry);
    if (this.timer === undefined) this.arm();
    return entry;
  }

  /** Stops the timer and forgets every deadline. */
  stop(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.entries.clear();
  }

  private arm(): void {
    let head = this.entries.peek();
    while (head?.done) {
      this.entries.shift();
      head = this.entries.peek();
    }
    if (head === undefined) return;
    this.timer = scheduleAfter(this.scheduler, head.at - this.scheduler.now(), () => this.fire());
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.scheduler.now();
    for (
      let head = this.entries.peek();
      head !== undefined && (head.done || head.at <= now);
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
