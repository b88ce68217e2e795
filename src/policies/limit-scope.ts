import { contextStorage } from '../async-context.js';
import { Queue } from '../queue.js';
import type { ConcurrencyLimit } from './concurrency-limit.js';
import { Waiter } from './waiter.js';

/**
 * Which concurrency limits the code running now holds, through its task and every task above it, and the async
 * context a task was called in.
 *
 * A task's children borrow a permit their parent holds instead of queueing for it, which is how a task waiting on its
 * own children never deadlocks. A borrow is valid only while the parent's attempt still holds that permit: each hold
 * is an object that the parent's attempt marks released when it gives the permit back, so a child that outlives its
 * parent (a handler that submits queries and returns, a `setInterval` started in a task) queues like anyone else, and
 * a limit of n means at most n running.
 *
 * In Node the holds follow the code across `await` (AsyncLocalStorage); where that is missing (browsers), only the
 * synchronous part of a task's function sees them. @internal
 */

/**
 * One attempt's permit of one limit, which its children may borrow, one at a time: while a child runs on it, the
 * next waits its turn, so a family never runs more at once than the permits it holds. A child may borrow only while
 * the attempt that holds the permit runs; once it has ended, children still waiting queue on the limit like anyone
 * else, and the permit goes back when the last borrower is done. A borrower holds a hold of its own, so its
 * children can borrow in turn. @internal
 */
export class Hold {
  /** True while the attempt that holds the permit runs: only then may a child borrow it. */
  active = true;
  /** True while a child runs on the permit. */
  private lent = false;
  private readonly waiters = new Queue<Waiter<boolean>>();

  constructor(
    readonly limit: ConcurrencyLimit,
    /** Gives the permit back: to the limit, or to the hold it was borrowed from. */
    private readonly giveUp: () => void,
  ) {}

  /**
   * Asks to run a child on this permit: `grant(true)` when it is its turn, or `grant(false)` if the attempt ends
   * first (then it must queue on the limit). Returns false when it may not borrow at all; else the waiter, or
   * `undefined` when granted at once.
   */
  borrow(grant: (lent: boolean) => void): Waiter<boolean> | undefined | false {
    if (!this.active) return false;
    if (!this.lent) {
      this.lent = true;
      grant(true);
      return undefined;
    }
    const waiter = new Waiter(this, grant);
    this.waiters.push(waiter);
    return waiter;
  }

  /** The child that borrowed is done: the next one in turn, or the permit goes back once the attempt has ended. */
  giveBack(): void {
    this.lent = false;
    if (this.active) {
      const next = this.nextWaiter();
      if (next !== undefined) {
        this.lent = true;
        next.grant(true);
      }
      return;
    }
    this.giveUp();
  }

  /** The attempt that holds the permit has ended. */
  end(): void {
    if (!this.active) return;
    this.active = false;
    for (let next = this.nextWaiter(); next !== undefined; next = this.nextWaiter()) next.grant(false);
    if (!this.lent) this.giveUp();
  }

  /** @internal */
  withdraw(waiter: Waiter<boolean>): void {
    waiter.cancelled = true;
  }

  private nextWaiter(): Waiter<boolean> | undefined {
    for (let waiter = this.waiters.shift(); waiter !== undefined; waiter = this.waiters.shift()) {
      if (waiter.cancelled) continue;
      waiter.cancelled = true;
      return waiter;
    }
    return undefined;
  }
}

type Holds = readonly Hold[];

const storage = contextStorage<Holds>();
let heldNow: Holds | undefined;

/** The holds of the code running now that are still in force. */
export function activeHolds(): Holds {
  const holds = storage?.getStore() ?? heldNow;
  return holds === undefined ? [] : holds.filter((hold) => hold.active);
}

/**
 * Where there is no async context (browsers): the holds of the synchronous part of a task running now, so a run
 * created there (`await child.map(…)`, which starts a microtask later) still counts as its child. `undefined` in Node,
 * where the holds follow the code anyway.
 */
export function holdsAtCreation(): Holds | undefined {
  return storage === undefined ? heldNow : undefined;
}

/** Runs `fn` as code that holds `holds`. */
export function runHolding<R>(holds: Holds, fn: () => R): R {
  if (storage !== undefined) return storage.run(holds, fn);
  const previous = heldNow;
  heldNow = holds;
  try {
    return fn();
  } finally {
    heldNow = previous;
  }
}
