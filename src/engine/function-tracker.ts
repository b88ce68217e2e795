import type { Unsubscribable } from 'rxjs';
import type { RunContext } from '../context.js';
import { dispatchOutput } from '../dispatch.js';

/**
 * Counts the task functions one execution has called and not yet seen end, so whoever must outlive them (a task
 * group, `await using`) can wait until each has really returned or thrown, not just until it was cancelled. A function
 * that ignores its signal keeps its execution unfinished for as long as it runs.
 *
 * An error a function raises after its execution is over (a failed rollback in a cancelled child) reaches no one
 * else, so it is kept as a late error. Ending with the abort reason, or any `AbortError`, is how a function obeys a
 * cancel: that is not an error; nor is what an attempt does after its timeout abandoned it (the attempt has failed with
 * its TimeoutError already, and was retried or reported). @internal
 */
export class FunctionTracker {
  /** Functions called whose output has not settled (or, an Observable, not been unsubscribed). */
  running = 0;
  private over = false;
  private stopReason: unknown = undefined;
  private late: unknown[] | undefined = undefined;
  private idleCallbacks: (() => void)[] | undefined = undefined;

  /** A function called earlier has ended; `context` is its attempt's, when known. */
  ended(ok: boolean, valueOrError: unknown, context: RunContext | undefined): void {
    this.running -= 1;
    if (!this.over) return;
    if (!ok && !this.isCancellation(valueOrError, context)) (this.late ??= []).push(valueOrError);
    if (this.running === 0) this.notifyIdle();
  }

  /** The execution is over (its outcome is out, or it was cancelled with `reason`): no function is called any more. */
  close(reason?: unknown): void {
    if (this.over) return;
    this.over = true;
    this.stopReason = reason;
    if (this.running === 0) this.notifyIdle();
  }

  /** True once the execution is over and every function it called has ended. */
  get idle(): boolean {
    return this.over && this.running === 0;
  }

  /** The errors functions raised after the execution was over, in the order they came. */
  get lateErrors(): readonly unknown[] {
    return this.late ?? [];
  }

  /** Calls `callback` once the tracker is idle (at once if it is). */
  whenIdle(callback: () => void): void {
    if (this.idle) callback();
    else (this.idleCallbacks ??= []).push(callback);
  }

  private isCancellation(error: unknown, context: RunContext | undefined): boolean {
    if (context?.timedOut === true) return true;
    if (error === this.stopReason || (context !== undefined && error === context.abortReason)) return true;
    return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
  }

  private notifyIdle(): void {
    const callbacks = this.idleCallbacks;
    this.idleCallbacks = undefined;
    if (callbacks !== undefined) for (const callback of callbacks) callback();
  }
}

/**
 * `dispatchOutput` for a function `tracker` counts as running: the tracker hears once when it has ended, its output
 * settled or (an Observable) unsubscribed. @internal
 */
export function dispatchTracked(
  tracker: FunctionTracker,
  context: RunContext,
  output: unknown,
  onValue: (value: unknown) => void,
  onError: (error: unknown) => void,
  streamValue?: (value: unknown) => void,
): Unsubscribable | undefined {
  let running = true;
  const end = (ok: boolean, valueOrError: unknown) => {
    if (!running) return;
    running = false;
    tracker.ended(ok, valueOrError, context);
  };
  const inner = dispatchOutput(
    output,
    (value) => {
      end(true, value);
      onValue(value);
    },
    (error) => {
      end(false, error);
      onError(error);
    },
    streamValue,
  );
  if (inner === undefined || !running) return inner;
  return {
    unsubscribe() {
      try {
        inner.unsubscribe();
      } finally {
        end(true, undefined);
      }
    },
  };
}
