import type { Subscription, Unsubscribable } from 'rxjs';
import type { RunContext } from '../context.js';
import type { Hold } from '../policies/limit-scope.js';
import type { TimeoutEntry } from '../policies/timeout-queue.js';
import type { Waiter } from '../policies/waiter.js';

/** What a slot reports to: the engine. @internal */
export interface SlotOwner {
  settle(slot: Slot, ok: boolean, valueOrError: unknown): void;
}

/**
 * One place a task runs. Slots are made once per unit of concurrency and reused for every item they run: the two
 * callbacks of the Promise fast path are made here once, so a Promise task costs one `then` and no closure per item.
 * The fields after `onError` serve the guarded path (retry, timeout, rate limit). @internal
 */
export class Slot {
  context: RunContext | undefined = undefined;
  startedAt = 0;
  /** What to unsubscribe when the item is cancelled: an Observable task, or the wait for its dependencies. */
  inner: Unsubscribable | undefined = undefined;
  readonly onValue: (value: unknown) => void;
  readonly onError: (error: unknown) => void;
  /** The attempt the run stopped waiting for while its function still ran (fast path): its outcome is its end. */
  abandoned: RunContext | undefined = undefined;
  /** The item, kept for its retries. */
  item: unknown = undefined;
  /** True while the next attempt waits for its rate-limit turn or its backoff: it has not started. */
  waiting = false;
  /** True between an attempt's end and the decision on it (retry hooks, listeners): it ran, and is over. */
  attemptOver = false;
  waiter: Waiter | undefined = undefined;
  retryTimer: Subscription | undefined = undefined;
  timeoutEntry: TimeoutEntry<Slot> | undefined = undefined;
  /** Starts the slot's next attempt; made on first use by the guarded path. */
  startAttempt: (() => void) | undefined = undefined;
  /** Fails the item when its rate limiter is disposed before its turn; made on first use. */
  refuseAttempt: ((reason: unknown) => void) | undefined = undefined;
  permitWaiter: Waiter | Waiter<boolean> | undefined = undefined;
  /** The permit this attempt holds: its own of the concurrency limit, or its parent's, borrowed. */
  hold: Hold | undefined = undefined;
  /** Goes on once the parent's permit is lent to this attempt (or the parent ended); made on first use. */
  afterBorrow: ((lent: boolean) => void) | undefined = undefined;
  /** Goes on to the rate limit once a concurrency permit is held; made on first use. */
  afterPermit: (() => void) | undefined = undefined;
  /** The item's key in the result cache, after a miss: its attempts compute it (or share another's). */
  cacheKey: string | undefined = undefined;
  /** True once the item's cache was looked up (and missed), so it runs. */
  cacheMissed = false;
  /** True while the slot reports an item its cache had (or another call with its key computed), which did not run. */
  cached = false;
  /** The item's key in the run's checkpoint, when it has one. */
  checkpointKey: string | number | undefined = undefined;
  /** True while the slot reports an item its checkpoint had, which did not run. */
  restored = false;
  /** The item's `itemKey`, when the run has one. */
  key: string | number | undefined = undefined;
  /** The item's run name, set only when someone listens to events. */
  runName = '';

  constructor(owner: SlotOwner) {
    this.onValue = (value) => owner.settle(this, true, value);
    this.onError = (error) => owner.settle(this, false, error);
  }
}
