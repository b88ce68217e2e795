import { Observable, type Observer, Subscriber, Subscription } from 'rxjs';
import { watchCallbackResult } from './callback-result.js';

/**
 * What every event carries.
 *
 * @example
 * ```ts
 * import { parallelMap, type RunEventBase } from 'rxtask';
 *
 * const seen: RunEventBase[] = [];
 * await parallelMap((x: number) => x, [1], { onEvent: (event) => seen.push(event) });
 * console.log(seen[0].task, seen[0].index, seen[0].attempt); // 'anonymous' 0 1
 * ```
 */
export interface RunEventBase {
  /** The task's name. */
  readonly task: string;
  /** The run's name: the task's `runName` template filled in, or the task's name. */
  readonly runName: string;
  /** The item's index in a map; `undefined` for a single call. */
  readonly index: number | undefined;
  /** The attempt, from 1; 0 for an item that did not run (`restored`, `cached`) and for `progress`. */
  readonly attempt: number;
  /** When it happened: the scheduler's clock, in milliseconds (epoch time by default). */
  readonly time: number;
}

/**
 * What happens to runs and their items, for loggers and UIs: from `events$` (every run), `run.events$` (one map) or
 * the `onEvent` option (of a task or a map).
 *
 * @example
 * ```ts
 * import { parallelMap, type RunEvent } from 'rxtask';
 *
 * const onEvent = (event: RunEvent) => {
 *   if (event.type === 'failed') console.error(event.runName, event.error);
 *   if (event.type === 'progress') console.log(`${event.done}/${event.total}`); // 1/1
 * };
 * await parallelMap((x: number) => x, [1], { onEvent });
 * ```
 */
export type RunEvent =
  | (RunEventBase & { readonly type: 'queued' })
  | (RunEventBase & { readonly type: 'started' })
  | (RunEventBase & { readonly type: 'retrying'; readonly error: unknown; readonly delayMs: number })
  | (RunEventBase & { readonly type: 'succeeded'; readonly durationMs: number })
  | (RunEventBase & { readonly type: 'restored'; readonly from: 'checkpoint' })
  | (RunEventBase & { readonly type: 'cached' })
  | (RunEventBase & { readonly type: 'failed'; readonly error: unknown; readonly durationMs: number })
  | (RunEventBase & { readonly type: 'cancelled'; readonly reason: unknown; readonly durationMs: number })
  | (RunEventBase & { readonly type: 'progress'; readonly done: number; readonly total: number });

/**
 * The type of a {@link RunEvent}.
 *
 * @example
 * ```ts
 * import { parallelMap, type RunEventType } from 'rxtask';
 *
 * const types = new Set<RunEventType>();
 * await parallelMap((x: number) => x, [1], { onEvent: (event) => types.add(event.type) });
 * console.log([...types]); // ['queued', 'started', 'succeeded', 'progress']
 * ```
 */
export type RunEventType = RunEvent['type'];

/**
 * A stream of events whose listeners are called directly by the run that emits, so a listener that throws fails that
 * run (as a throwing `onEvent` or `onProgress` does) instead of becoming an uncaught error later. A listener given to
 * `subscribe` as a function or an observer is called this way; an operator chain (`events$.pipe(…)`) keeps RxJS's own
 * error handling. @internal
 */
export class EventStream extends Observable<RunEvent> {
  /** Replaced, never changed in place, so a listener that leaves while an event is delivered disturbs nothing. */
  private listeners: readonly ((event: RunEvent) => void)[] = [];

  constructor() {
    super((subscriber) => this.listen((event) => subscriber.next(event)));
  }

  /** True while anyone listens: a run decides when it starts whether to build events at all. */
  get observed(): boolean {
    return this.listeners.length > 0;
  }

  /** The listeners now; the array is replaced, never changed, when one comes or goes. @internal */
  get current(): readonly ((event: RunEvent) => void)[] {
    return this.listeners;
  }

  override subscribe(
    observerOrNext?: Partial<Observer<RunEvent>> | ((value: RunEvent) => void) | null,
    ...rest: never[]
  ): Subscription {
    const next = directListener(observerOrNext);
    if (next === undefined) {
      return (super.subscribe as (...args: unknown[]) => Subscription).call(this, observerOrNext, ...rest);
    }
    return new Subscription(this.listen(next));
  }

  /**
   * Delivers to every listener; the first error a listener throws is rethrown once all have had the event, and a
   * Promise an async listener returns that rejects goes to `onAsyncError`.
   */
  emit(event: RunEvent, onAsyncError: (error: unknown) => void = ignore): void {
    deliver(this.listeners, event, onAsyncError);
  }

  private listen(listener: (event: RunEvent) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((each) => each !== listener);
    };
  }
}

function directListener(
  observerOrNext: Partial<Observer<RunEvent>> | ((value: RunEvent) => void) | null | undefined,
): ((event: RunEvent) => void) | undefined {
  if (typeof observerOrNext === 'function') return observerOrNext;
  if (observerOrNext === null || typeof observerOrNext !== 'object' || observerOrNext instanceof Subscriber) {
    return undefined;
  }
  const observer = observerOrNext;
  return typeof observer.next === 'function' ? (event) => observer.next?.(event) : undefined;
}

const hub = new EventStream();

/** True while anyone listens on `events$`. @internal */
export function eventsObserved(): boolean {
  return hub.observed;
}

/**
 * Every event of every run and call, for loggers and UIs. Runs decide whether to report when they start, so
 * subscribe before starting the work you want to see; when nobody listens, nothing is built or sent.
 *
 * A listener passed to `subscribe` is called by the run that emits: if it throws, that run fails with its error (as
 * with `onEvent`), rather than the error surfacing later as an uncaught exception.
 *
 * @example
 * ```ts
 * import { events$, parallelMap } from 'rxtask';
 *
 * const seen: string[] = [];
 * const subscription = events$.subscribe((event) => seen.push(event.type));
 * await parallelMap(async (x: number) => x, [1]);
 * subscription.unsubscribe();
 * console.log(seen); // ['queued', 'started', 'succeeded', 'progress']
 * ```
 */
export const events$: Observable<RunEvent> = hub;

/** Where a run's events go: the global stream, its own subject, its `onEvent` callback. @internal */
export class EventTargets {
  /**
   * Where a Promise an async listener returned goes when it rejects, long after `emit`: the run fails with it while
   * it still runs (set by the run), else it is ignored. Never an unhandled rejection.
   */
  onAsyncError: (error: unknown) => void = ignore;
  private readonly asyncFailed = (error: unknown) => this.onAsyncError(error);
  /** The global stream, while it was listened to when the run started. */
  private readonly global: EventStream | undefined;
  private readonly run: EventStream | undefined;
  private readonly onEvent: ((event: RunEvent) => void) | undefined;

  private constructor(run: EventStream | undefined, onEvent: ((event: RunEvent) => void) | undefined) {
    this.global = hub.observed ? hub : undefined;
    this.run = run?.observed === true ? run : undefined;
    this.onEvent = onEvent;
  }

  /** The targets of a run, or `undefined` when nobody listens (so the run reports nothing at all). */
  static of(run: EventStream | undefined, onEvent: ((event: RunEvent) => void) | undefined): EventTargets | undefined {
    const nobody = !hub.observed && run?.observed !== true && onEvent === undefined;
    // `this`, not the class by name: a class that names itself in its body is renamed `_EventTargets` by esbuild's bundler.
    return nobody ? undefined : new this(run, onEvent);
  }

  /**
   * Delivers to every target's listeners as they are now; the first error a listener throws is rethrown once all
   * have had the event.
   */
  emit(event: RunEvent): void {
    // Every target hears the event, even after one throws.
    const fromGlobal = this.global === undefined ? undefined : deliverAll(this.global.current, event, this.asyncFailed);
    const fromRun = this.run === undefined ? undefined : deliverAll(this.run.current, event, this.asyncFailed);
    let fromOnEvent: { error: unknown } | undefined;
    if (this.onEvent !== undefined) {
      try {
        const returned: unknown = this.onEvent(event);
        if (returned !== undefined) watchCallbackResult(returned, this.asyncFailed);
      } catch (error) {
        fromOnEvent = { error };
      }
    }
    const failure = fromGlobal ?? fromRun ?? fromOnEvent;
    if (failure !== undefined) throw failure.error;
  }
}

const ignore = () => {};

/**
 * Calls every listener with the event; the first error one throws is rethrown once all have had it, and a Promise one
 * returns is watched for a rejection.
 */
function deliver(
  listeners: readonly ((event: RunEvent) => unknown)[],
  event: RunEvent,
  onAsyncError: (error: unknown) => void,
): void {
  const failure = deliverAll(listeners, event, onAsyncError);
  if (failure !== undefined) throw failure.error;
}

/** Delivers to every listener, even after one throws; returns the first error thrown. */
function deliverAll(
  listeners: readonly ((event: RunEvent) => unknown)[],
  event: RunEvent,
  onAsyncError: (error: unknown) => void,
): { error: unknown } | undefined {
  let failure: { error: unknown } | undefined;
  for (let i = 0; i < listeners.length; i++) {
    try {
      const returned = listeners[i](event);
      if (returned !== undefined) watchCallbackResult(returned, onAsyncError);
    } catch (error) {
      failure ??= { error };
    }
  }
  return failure;
}
