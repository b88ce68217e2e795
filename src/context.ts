import { describe } from './validate.js';

/**
 * What a running task can know about itself.
 *
 * A task function reaches it as `this` (write `function (this: TaskContext, …)`), or as the first parameter when it
 * is wrapped in {@link withContext}. It is never passed in place of an argument, so a function with optional or
 * default parameters always sees exactly the arguments it was called with.
 *
 * @example
 * ```ts
 * import { task, type TaskContext } from 'rxtask';
 *
 * const fetchText = task(async function (this: TaskContext, url: string) {
 *   const response = await fetch(url, { signal: this.signal });
 *   return response.text();
 * });
 * ```
 */
export interface TaskContext {
  /** Aborted when the run is cancelled (unsubscribed, its signal aborted, its deadline passed); never after a normal completion. */
  readonly signal: AbortSignal;
  /** The attempt number, starting at 1. */
  readonly attempt: number;
  /** The task's name. */
  readonly name: string;
  /** The item's position in the input when the task runs inside a parallel map; `undefined` otherwise. */
  readonly index: number | undefined;
}

/** The abort of a context whose signal was never read: kept until it is. */
class PendingAbort {
  constructor(readonly reason: unknown) {}
}

/**
 * The one implementation of {@link TaskContext}, made once per item, so it is kept small: its `AbortController` is
 * made only when `signal` is first read (a task that never looks at its signal pays nothing for it), and an abort
 * that comes first is replayed onto the new signal. @internal
 */
export class RunContext implements TaskContext {
  name: string;
  index: number | undefined;
  attempt: number;
  /** Set when its attempt's timeout abandoned it: what the function does after that was already judged. @internal */
  timedOut = false;
  /** Set while its function runs on after the execution stopped waiting for it; see `FunctionTracker`. @internal */
  abandoned = false;
  /** Nothing yet, the controller once `signal` was read, or an abort waiting for the first read. */
  private abortState: AbortController | PendingAbort | undefined = undefined;

  constructor(name: string, index: number | undefined, attempt: number) {
    this.name = name;
    this.index = index;
    this.attempt = attempt;
  }

  get signal(): AbortSignal {
    const state = this.abortState;
    if (state instanceof AbortController) return state.signal;
    const controller = new AbortController();
    if (state !== undefined) controller.abort(state.reason);
    this.abortState = controller;
    return controller.signal;
  }

  /** The reason it was aborted with; `undefined` while it is not. @internal */
  get abortReason(): unknown {
    const state = this.abortState;
    if (state instanceof PendingAbort) return state.reason;
    return state?.signal.aborted ? state.signal.reason : undefined;
  }

  /** Aborts the signal once; later calls do nothing. */
  abort(reason: unknown): void {
    const state = this.abortState;
    if (state === undefined) this.abortState = new PendingAbort(reason);
    else if (state instanceof AbortController && !state.signal.aborted) state.abort(reason);
  }
}

/**
 * Adapts a function that takes its {@link TaskContext} as the first parameter into one that reads it from `this`, so
 * arrow functions can reach the signal, attempt and index.
 *
 * @example
 * ```ts
 * import { parallelMap, withContext } from 'rxtask';
 *
 * const run = parallelMap(
 *   withContext((ctx, url: string) => fetch(url, { signal: ctx.signal }).then((r) => r.status)),
 *   ['https://example.com'],
 * );
 * ```
 */
export function withContext<A extends unknown[], R>(
  fn: (context: TaskContext, ...args: A) => R,
): (this: TaskContext, ...args: A) => R {
  if (typeof fn !== 'function') {
    throw new TypeError(`withContext: expected a function, got ${describe(fn)}`);
  }
  const named = {
    [fn.name]: function (this: TaskContext, ...args: A): R {
      return fn(this, ...args);
    },
  };
  return named[fn.name] as (this: TaskContext, ...args: A) => R;
}
