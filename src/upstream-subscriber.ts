import { type Observable, Subscriber } from 'rxjs';
import type { RunContext } from './context.js';

/** What an operator does with its source's notifications. @internal */
export interface UpstreamObserver<T> {
  next(value: T): void;
  error(error: unknown): void;
  complete(): void;
}

/**
 * The subscriber an rxtask operator subscribes its source with, as RxJS's own operators do (`OperatorSubscriber`):
 * it is a child of the downstream subscriber from before the source is subscribed, so when the downstream leaves (a
 * `take(1)`) it is closed at once, and a synchronous source that checks `subscriber.closed` stops in the middle of its
 * loop.
 *
 * It also carries, explicitly, what a TaskRun upstream must know of this one subscription: the attempt number a
 * `retryBackoff` gives it, and the reason a `timeoutEach` unsubscribes it. A TaskRun finds them by walking its
 * subscriber's chain of destinations (see {@link attemptOf}), so they reach it through any operator or scheduler in
 * between, and never reach another subscription. @internal
 */
export class UpstreamSubscriber<T> extends Subscriber<T> {
  /** The attempt number of this subscription, when a `retryBackoff` made it. */
  attempt: number | undefined = undefined;
  /** Why this subscription is being unsubscribed, when a `timeoutEach` fired. */
  stopReason: { reason: unknown } | undefined = undefined;
  /** The attempt of a map or call whose function returned the TaskRun upstream: its attempt, index and abort reason. */
  context: RunContext | undefined = undefined;
  /** The name of the task upstream, noted by the TaskRun as it is subscribed, for a `timeoutEach`'s error. */
  taskName: string | undefined = undefined;

  constructor(
    /** The subscriber this one is a child of; none for a source the engine reads. */
    downstream: Subscriber<unknown> | undefined,
    private readonly observer: UpstreamObserver<T>,
  ) {
    // The downstream is the destination (which makes this a child of it); notifications go to `observer`.
    super(downstream);
  }

  protected override _next(value: T): void {
    this.observer.next(value);
  }

  protected override _error(error: unknown): void {
    try {
      this.observer.error(error);
    } finally {
      this.unsubscribe();
    }
  }

  protected override _complete(): void {
    try {
      this.observer.complete();
    } finally {
      this.unsubscribe();
    }
  }
}

/**
 * Subscribes `source` for an operator whose downstream is `downstream`. Anything the operator must let go of is to be
 * added to `downstream` before calling this, so a synchronous source that ends the subscription finds it there.
 * @internal
 */
export function subscribeUpstream<T>(
  source: Observable<T>,
  downstream: Subscriber<unknown>,
  observer: UpstreamObserver<T>,
): UpstreamSubscriber<T> {
  const upstream = new UpstreamSubscriber(downstream, observer);
  if (!downstream.closed) source.subscribe(upstream);
  return upstream;
}

/** The next subscriber down the chain a subscription was made through, if it is one. */
function destinationOf(subscriber: Subscriber<unknown>): Subscriber<unknown> | undefined {
  // RxJS keeps it as a protected field; every operator's subscriber has one.
  const destination = (subscriber as unknown as { destination?: unknown }).destination;
  return destination instanceof Subscriber ? destination : undefined;
}

/**
 * The attempt number (and index) the nearest operator downstream gave this subscription: a `retryBackoff`'s count,
 * or the attempt of the map or call whose function returned this TaskRun. Attempt 1 and no index when none did.
 * @internal
 */
export function attemptOf(subscriber: Subscriber<unknown>): { attempt: number; index: number | undefined } {
  for (let at: Subscriber<unknown> | undefined = subscriber; at !== undefined; at = destinationOf(at)) {
    if (!(at instanceof UpstreamSubscriber)) continue;
    if (at.attempt !== undefined) return { attempt: at.attempt, index: undefined };
    if (at.context !== undefined) return { attempt: at.context.attempt, index: at.context.index };
  }
  return FIRST_ATTEMPT;
}

const FIRST_ATTEMPT = { attempt: 1, index: undefined };

/** Notes a TaskRun's task name on the rxtask operators downstream, for the errors they make. @internal */
export function noteTaskName(subscriber: Subscriber<unknown>, name: string): void {
  for (let at: Subscriber<unknown> | undefined = subscriber; at !== undefined; at = destinationOf(at)) {
    if (at instanceof UpstreamSubscriber) at.taskName ??= name;
  }
}

/** An operator's source must be an Observable: a clear TypeError where the operator is applied. @internal */
export function assertSource(where: string, source: unknown): void {
  if (
    source === null ||
    typeof source !== 'object' ||
    typeof (source as Observable<unknown>).subscribe !== 'function'
  ) {
    throw new TypeError(`${where}: the source must be an Observable, got ${source === null ? 'null' : typeof source}`);
  }
}

/**
 * Why this subscription is being unsubscribed, when an operator downstream said (a `timeoutEach` that fired), else
 * `fallback()`. Read while it is being unsubscribed, when the chain is still in place. @internal
 */
export function stopReasonOf(subscriber: Subscriber<unknown>, fallback: () => unknown): unknown {
  for (let at: Subscriber<unknown> | undefined = subscriber; at !== undefined; at = destinationOf(at)) {
    if (!(at instanceof UpstreamSubscriber)) continue;
    if (at.stopReason !== undefined) return at.stopReason.reason;
    // The attempt that returned this TaskRun was aborted (its timeout, a cancel): the same reason.
    if (at.context?.abortReason !== undefined) return at.context.abortReason;
  }
  return fallback();
}
