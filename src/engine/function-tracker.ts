import type { RunContext } from '../context.js';

/**
 * Follows the task functions an execution left running, so whoever must outlive them (a task group, `await using`)
 * can wait until each has really returned or thrown, not just until it was cancelled. A function is left running
 * when its execution stops waiting for it: a cancel while its Promise is pending, or its attempt's timeout. Nothing
 * is counted while an execution runs normally, so this costs the hot path nothing.
 *
 * An error a function left running raises (a failed rollback in a cancelled child) reaches no one else, so it is kept
 * as a late error. Ending with the abort reason, or any `AbortError`, is how a function obeys a cancel: that is not
 * an error; nor is what an attempt does after its timeout abandoned it (the attempt has failed with its TimeoutError
 * already, and was retried or reported). @internal
 */
export class FunctionTracker {
  private abandoned = 0;
  private over = false;
  private stopReason: unknown = undefined;
  private late: unknown[] | undefined = undefined;
  private idleCallbacks: (() => void)[] | undefined = undefined;

  /** The execution stopped waiting for a function that still runs; `context` is its attempt's. */
  abandon(context: RunContext): void {
    context.abandoned = true;
    this.abandoned += 1;
  }

  /**
   * User code the execution started and stopped waiting for, other than a task (an input's pending `next()`, its
   * `return()`): the execution has ended only once it settles.
   */
  waitFor(pending: PromiseLike<unknown>): void {
    this.abandoned += 1;
    const settled = () => {
      this.abandoned -= 1;
      if (this.idle) this.notifyIdle();
    };
    Promise.resolve(pending).then(settled, settled);
  }

  /**
   * A function the execution left running has ended; a call for one it did not leave is ignored, so callers may
   * report every stale outcome here.
   */
  ended(ok: boolean, valueOrError: unknown, context: RunContext): void {
    if (!context.abandoned) return;
    context.abandoned = false;
    this.abandoned -= 1;
    if (!ok && !this.isCancellation(valueOrError, context)) (this.late ??= []).push(valueOrError);
    if (this.idle) this.notifyIdle();
  }

  /** The execution is over (its outcome is out, or it was cancelled with `reason`): it calls no function any more. */
  close(reason?: unknown): void {
    if (this.over) return;
    this.over = true;
    this.stopReason = reason;
    if (this.idle) this.notifyIdle();
  }

  /** True once the execution is over (it may have left functions running). */
  get isOver(): boolean {
    return this.over;
  }

  /** True once the execution is over and every function it left running has ended. */
  get idle(): boolean {
    return this.over && this.abandoned === 0;
  }

  /** The errors functions raised after they were left running, in the order they came. */
  get lateErrors(): readonly unknown[] {
    return this.late ?? [];
  }

  /** Calls `callback` once the tracker is idle (at once if it is). */
  whenIdle(callback: () => void): void {
    if (this.idle) callback();
    else (this.idleCallbacks ??= []).push(callback);
  }

  /**
   * The tracker for a lazy run passed as an argument (a dependency): what its functions are left running counts as
   * this execution's, and only this execution closes.
   */
  forDependency(): FunctionTracker {
    return new DependencyTracker(this);
  }

  private isCancellation(error: unknown, context: RunContext): boolean {
    if (context.timedOut || error === this.stopReason || error === context.abortReason) return true;
    return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
  }

  private notifyIdle(): void {
    const callbacks = this.idleCallbacks;
    this.idleCallbacks = undefined;
    if (callbacks !== undefined) for (const callback of callbacks) callback();
  }
}

/** A dependency's view of its dependent's tracker; see `FunctionTracker.forDependency`. */
class DependencyTracker extends FunctionTracker {
  constructor(private readonly owner: FunctionTracker) {
    super();
  }

  override abandon(context: RunContext): void {
    this.owner.abandon(context);
  }

  override ended(ok: boolean, valueOrError: unknown, context: RunContext): void {
    this.owner.ended(ok, valueOrError, context);
  }

  override waitFor(pending: PromiseLike<unknown>): void {
    this.owner.waitFor(pending);
  }

  override close(): void {
    // The dependent execution closes the tracker, once it is over itself.
  }

  override forDependency(): FunctionTracker {
    return this;
  }
}
