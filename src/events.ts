import { type Observable, Subject } from 'rxjs';

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
  /** The attempt, from 1. */
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

const hub = new Subject<RunEvent>();

/**
 * Every event of every run and call, for loggers and UIs. Runs decide whether to report when they start, so
 * subscribe before starting the work you want to see; when nobody listens, nothing is built or sent.
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
export const events$: Observable<RunEvent> = hub.asObservable();

/** Where a run's events go: the global stream, its own subject, its `onEvent` callback. @internal */
export class EventTargets {
  constructor(
    private readonly global: boolean,
    private readonly run: Subject<RunEvent> | undefined,
    private readonly onEvent: ((event: RunEvent) => void) | undefined,
  ) {}

  /** The targets of a run, or `undefined` when nobody listens (so the run reports nothing at all). */
  static of(
    run: Subject<RunEvent> | undefined,
    onEvent: ((event: RunEvent) => void) | undefined,
  ): EventTargets | undefined {
    const global = hub.observed;
    const runObserved = run?.observed === true;
    if (!global && !runObserved && onEvent === undefined) return undefined;
    return new EventTargets(global, runObserved ? run : undefined, onEvent);
  }

  emit(event: RunEvent): void {
    if (this.global) hub.next(event);
    this.run?.next(event);
    this.onEvent?.(event);
  }
}
