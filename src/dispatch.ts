import type { Unsubscribable } from 'rxjs';
import type { RunContext } from './context.js';
import { FunctionTracker } from './engine/function-tracker.js';
import { subscribeOutcome } from './engine/observable-outcome.js';
import { isPromiseLike, isStreamedOutput } from './task-output.js';

/**
 * The one dispatcher of what a task returns, used by the engine, single calls, `gather` and the runners: a Promise
 * gets one `then`, an Observable or a TaskRun is subscribed (its last value is the outcome, or with `streamValue`
 * each value goes there as it comes and the outcome is `STREAMED`), any other thenable is adopted through
 * `Promise.resolve` (settled once, whatever it does), and anything else is the value itself.
 *
 * Exactly one of `onValue` and `onError` is called, once. An output that cannot even be looked at (a revoked Proxy,
 * a `then` getter that throws) is an error of its own item, never an exception out of here. Returns what to
 * unsubscribe to cancel an Observable output. @internal
 */
export function dispatchOutput(
  output: unknown,
  onValue: (value: unknown) => void,
  onError: (error: unknown) => void,
  streamValue?: (value: unknown) => void,
  /** The attempt the output belongs to: a TaskRun it is runs as that attempt. */
  context?: RunContext,
): Unsubscribable | undefined {
  let kind: 'promise' | 'stream' | 'thenable' | 'value';
  try {
    kind =
      output instanceof Promise
        ? 'promise'
        : isStreamedOutput(output)
          ? 'stream'
          : isPromiseLike(output)
            ? 'thenable'
            : 'value';
  } catch (error) {
    onError(error);
    return undefined;
  }
  if (kind === 'promise') {
    (output as Promise<unknown>).then(onValue, onError);
    return undefined;
  }
  if (kind === 'stream') {
    return subscribeOutcome(
      output as never,
      streamValue,
      (ok, outcome) => (ok ? onValue(outcome) : onError(outcome)),
      context,
    );
  }
  if (kind === 'thenable') {
    Promise.resolve(output).then(onValue, onError);
    return undefined;
  }
  onValue(output);
  return undefined;
}

/** The outcome of a task's output as a Promise: its value, or an Observable's last value. @internal */
export function outputToPromise(output: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    dispatchOutput(output, resolve, reject);
  });
}

/**
 * `dispatchOutput` for a call that a cancel may have to wait for: returns the Promise its function's outcome comes
 * from (the output itself, or a thenable adopted once), or the subscription of an Observable output, or `undefined`
 * for an output that was settled at once. @internal
 */
export function followOutput(
  output: unknown,
  onValue: (value: unknown) => void,
  onError: (error: unknown) => void,
  context: RunContext,
): Promise<unknown> | Unsubscribable | undefined {
  if (output instanceof Promise) {
    output.then(onValue, onError);
    return output;
  }
  let thenable = false;
  try {
    thenable = !isStreamedOutput(output) && isPromiseLike(output);
  } catch {
    // An output that cannot be looked at: `dispatchOutput` reports what it throws.
  }
  if (!thenable) return dispatchOutput(output, onValue, onError, undefined, context);
  const adopted = Promise.resolve(output);
  adopted.then(onValue, onError);
  return adopted;
}

/**
 * Cancels a call that runs directly: aborts its signal, unsubscribes an Observable output, and returns a tracker
 * that is idle once a pending Promise output settles (the function may run on after the abort). @internal
 */
export function abandonCall(
  context: RunContext,
  outcome: Promise<unknown> | Unsubscribable | undefined,
  reason: unknown,
): FunctionTracker {
  const calls = new FunctionTracker();
  context.abort(reason);
  if (outcome instanceof Promise) {
    calls.abandon(context);
    outcome.then(
      (value) => calls.ended(true, value, context),
      (error) => calls.ended(false, error, context),
    );
  } else {
    outcome?.unsubscribe();
  }
  calls.close(reason);
  return calls;
}
