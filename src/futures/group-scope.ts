import { type ContextStorage, contextStorage } from '../async-context.js';
import type { FunctionTracker } from '../engine/function-tracker.js';

let storage: ContextStorage<AbortSignal> | undefined;

/**
 * The signal of the task group whose body, or whose child's function, is running now (Node only: it follows async
 * context). Groups made there nest in it, and task runs started there are cancelled when it cancels. Made when the
 * first group is, so code that never makes a group never looks for one. @internal
 */
export function enclosingGroup(): ContextStorage<AbortSignal> | undefined {
  storage ??= contextStorage<AbortSignal>();
  return storage;
}

/**
 * The signal of the task group around the code running now, if any: read when a run is made, since `await` calls a
 * run's `then` from a job of its own. @internal
 */
export function currentGroupSignal(): AbortSignal | undefined {
  const signal = storage?.getStore();
  // A run made after its group cancelled (a cleanup in a `finally`) is not part of what the cancel stops.
  return signal?.aborted === true ? undefined : signal;
}

/** Each group's door for the runs made or started in it, by the group's signal. */
const groupRuns = new WeakMap<AbortSignal, (calls: FunctionTracker) => void>();

/** Makes `track` hear of every run (call or map) made or started in the group whose signal this is. @internal */
export function followGroupRuns(signal: AbortSignal, track: (calls: FunctionTracker) => void): void {
  groupRuns.set(signal, track);
}

/**
 * Calls `cancel` with the reason if the task group around the code that made the run (`madeIn`), or else around the
 * code running now, cancels before `unlink` is called; at once if the group the run was made in has cancelled since.
 * Returns `unlink`, or `undefined` when there is no group to follow. @internal
 */
export function onEnclosingGroupCancel(
  cancel: (reason: unknown) => void,
  madeIn: AbortSignal | undefined,
  /** The run's functions, for the group to wait for when it has cancelled them. */
  calls: FunctionTracker,
): (() => void) | undefined {
  if (madeIn?.aborted === true) {
    cancel(madeIn.reason);
    return undefined;
  }
  const signal = madeIn ?? currentGroupSignal();
  if (signal === undefined) return undefined;
  groupRuns.get(signal)?.(calls);
  const onAbort = () => cancel(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}
