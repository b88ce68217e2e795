import { EmptyError, from, type ObservableInput, type Subscription } from 'rxjs';
import type { RunContext } from '../context.js';
import { UpstreamSubscriber } from '../upstream-subscriber.js';

/** What an Observable task's item settles with when its values were streamed already. @internal */
export const STREAMED: unique symbol = Symbol('streamed');

/**
 * Subscribes to an Observable task's output and reports its outcome once: its last value (EmptyError if it had none),
 * or `STREAMED` when each value went to `onValue` as it came, or its error. The outcome is reported once the
 * subscription is torn down, so the next task never starts beside the teardown of the last (as RxJS's own mergeMap
 * ensures). Returns the subscription, for cancelling. @internal
 */
export function subscribeOutcome(
  output: ObservableInput<unknown>,
  onValue: ((value: unknown) => void) | undefined,
  onOutcome: (ok: boolean, valueOrError: unknown) => void,
  context: RunContext | undefined,
): Subscription {
  let hasValue = false;
  let last: unknown;
  let ended = false;
  let ok = false;
  let outcome: unknown;
  // A TaskRun the function returned runs as this attempt: it reads its attempt, index and abort reason from here.
  const subscription = new UpstreamSubscriber<unknown>(undefined, {
    next: (value) => {
      hasValue = true;
      last = value;
      onValue?.(value);
    },
    error: (error: unknown) => {
      ended = true;
      outcome = error;
    },
    complete: () => {
      ended = true;
      ok = hasValue || onValue !== undefined;
      outcome = onValue !== undefined ? STREAMED : hasValue ? last : new EmptyError();
    },
  });
  subscription.context = context;
  from(output).subscribe(subscription);
  subscription.add(() => {
    if (ended) onOutcome(ok, outcome);
  });
  return subscription;
}
