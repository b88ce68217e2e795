/**
 * The reason a task's signal is aborted with when its run is cancelled: unsubscribed, a `for await` loop left early,
 * or cancelled by a sibling's failure. A `DOMException` named `AbortError`, as `fetch` and `AbortSignal.abort()` use.
 * @internal
 */
export function cancellationReason(message = 'The task run was cancelled'): DOMException {
  return new DOMException(message, 'AbortError');
}
