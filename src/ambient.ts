/**
 * What an operator tells the TaskRun it (re)subscribes or unsubscribes, across the operators between them: the
 * attempt number (`retryBackoff`) and why it is being cancelled (`timeoutEach`). Subscribing and unsubscribing are
 * synchronous, so a value set around the call reaches the TaskRun; each is read once and cleared, so it never leaks
 * into a task that the function itself starts. @internal
 */

let attempt: number | undefined;
let hasAbortReason = false;
let abortReason: unknown;

/** Runs `subscribe` with `n` as the attempt number of the TaskRun it subscribes. */
export function asAttempt<T>(n: number, subscribe: () => T): T {
  const previous = attempt;
  attempt = n;
  try {
    return subscribe();
  } finally {
    attempt = previous;
  }
}

/** The attempt number an operator set for this subscription (1 when none did); clears it. */
export function takeAttempt(): number {
  const n = attempt ?? 1;
  attempt = undefined;
  return n;
}

/** Runs `unsubscribe` with `reason` as the abort reason of the TaskRuns it cancels. */
export function withAbortReason(reason: unknown, unsubscribe: () => void): void {
  const previous = [hasAbortReason, abortReason] as const;
  hasAbortReason = true;
  abortReason = reason;
  try {
    unsubscribe();
  } finally {
    [hasAbortReason, abortReason] = previous;
  }
}

/** The abort reason an operator set for this unsubscription, or `fallback()`. */
export function abortReasonOr(fallback: () => unknown): unknown {
  return hasAbortReason ? abortReason : fallback();
}
