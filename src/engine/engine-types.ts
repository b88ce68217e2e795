import type { SchedulerLike, Unsubscribable } from 'rxjs';
import type { CacheStore } from '../cache/memory-store.js';
import type { ResultCache } from '../cache/result-cache.js';
import type { EventStream, RunEvent } from '../events.js';
import type { ItemResult } from '../item-result.js';
import type { Hold } from '../policies/limit-scope.js';
import type { Policies } from '../policies/task-policies.js';
import type { TaskFunction } from '../task-definition.js';
import type { FunctionTracker } from './function-tracker.js';

/**
 * How a run ended: `'completed'` (every item ran), `'timed_out'` (its deadline passed), `'aborted'` (`maxErrors`
 * failures, or the first with `stopOnError`) or `'cancelled'` (its signal aborted, or it was unsubscribed).
 *
 * @example
 * ```ts
 * import { parallelMap, type RunStatus } from 'rxtask';
 *
 * const status: RunStatus = (await parallelMap((x: number) => x, [1], { signal: AbortSignal.abort() })).status;
 * console.log(status); // 'cancelled'
 * ```
 */
export type RunStatus = 'completed' | 'timed_out' | 'aborted' | 'cancelled';

/** Where the engine sends outcomes: an Observable's subscriber, a ParallelResult being collected, an async iterator. @internal */
export interface EngineSink {
  /**
   * False when a result counts as delivered the moment it is handed over; true when the sink holds results back
   * (input order, or a `for await` loop that has not pulled yet) and reports deliveries through `acknowledge`.
   */
  readonly acknowledges: boolean;
  /** One item's outcome; `key` is its `itemKey`, when the run has one and the item started. */
  result(
    index: number,
    ok: boolean,
    valueOrError: unknown,
    attempts: number,
    durationMs: number,
    key?: string | number,
  ): void;
  /** True for the sink of `await run`, whose items go to `onResult` as they complete. */
  readonly collects?: boolean;
  /** An async `onResult` is still running: the run's result waits for it, and fails if it rejects. */
  hold?(pending: PromiseLike<unknown>): void;
  /** Every known item has had its result. `stoppedBy` is the index of the failure that stopped an aborted run. */
  end(status: RunStatus, stoppedBy?: number): void;
  /** The source, or a callback, failed: the run ends without its remaining results. */
  fail(error: unknown): void;
  /** True for a sink that hands each result to user code at once (an Observer's `next`). */
  readonly deliversSynchronously?: boolean;
  /** True for a sink that takes an Observable task's values one by one (`value`) rather than its last one. */
  readonly streamsValues?: boolean;
  value?(value: unknown): void;
}

/** What a run is asked to do; checked by `parallelMap` before anything runs. @internal */
export interface EngineSettings {
  readonly fn: TaskFunction<unknown[]>;
  readonly name: string;
  /** Call `fn(...item)` (starmap, zipped arguments) rather than `fn(item)`. */
  readonly spread: boolean;
  readonly concurrency: number;
  /** The most items admitted but not yet delivered: the read-ahead and reorder bound. */
  readonly window: number;
  readonly maxErrors: number;
  readonly onProgress: ((done: number, total: number) => void) | undefined;
  /** Milliseconds from the start; `undefined` or `Infinity` for none. */
  readonly deadline: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly scheduler: SchedulerLike;
  /** May share a clock reading between an item's end and the next start (see `RunClock`); false under a scheduler the caller gave. */
  readonly shareClock: boolean;
  /** Retry, per-attempt timeout and rate limit; with none, items take the fast path. */
  readonly policies: Policies;
  /** Give the function its item's index (false for a single task call, whose context has none). */
  readonly indexed: boolean;
  /** The `onEvent` option. */
  readonly onEvent: ((event: RunEvent) => void) | undefined;
  /** The run's own event stream (`run.events$`), once someone has asked for it. */
  readonly runEvents: { readonly subject: EventStream | undefined } | undefined;
  /** Names an item's run, for events. */
  readonly runName: (item: unknown) => string;
  /**
   * `runName` calls a function of the user's: it is called for every item, listened to or not, so that its throw
   * fails the run whether or not a logger listens somewhere.
   */
  readonly namesByFunction: boolean;
  /** Finds and waits for futures and runs among an item's arguments; `undefined` where items cannot hold any. */
  readonly dependencies: DependencyResolver | undefined;
  /** Await items that are Promises (or other thenables) before running them, as p-map does. */
  readonly awaitItems: boolean;
  /** Without async context (browsers), the limits held by the code that created the run; see `holdsAtCreation`. */
  readonly createdHolding: readonly Hold[] | undefined;
  /** The task's result cache: a hit does not run the function. */
  readonly cache: ResultCache | undefined;
  /** Where the run records its successes, and finds those of an earlier run. */
  readonly checkpoint: CheckpointPlan | undefined;
  /** Each item's application identity (`ItemResult.key`); read when the item is admitted. */
  readonly itemKey: ((item: unknown) => unknown) | undefined;
  /** Called with each item's result as it completes, when the run is awaited. */
  readonly onResult: ((result: ItemResult<unknown>) => unknown) | undefined;
  /** The signal of the task group the run was made in: the run is cancelled when it cancels. */
  readonly madeInGroup: AbortSignal | undefined;
}

/** How the engine waits for the futures and runs an item's arguments hold. @internal */
export interface DependencyResolver {
  needs(item: object): boolean;
  /** `calls` follows the functions of the lazy runs it starts, as the run's own. */
  resolve(
    item: unknown,
    ready: (item: unknown) => void,
    fail: (error: unknown) => void,
    calls: FunctionTracker,
  ): Unsubscribable;
}

/** A run's checkpoint, as the options gave it. @internal */
export interface CheckpointPlan {
  /** A file, or a store with Keyv's interface. */
  readonly path: string | CacheStore;
  /** The task's identity: its name and a hash of its function's source. */
  readonly identity: string;
  readonly version: string | number | undefined;
  /** Each item's key in the checkpoint; the input position when `undefined`. */
  readonly key: ((item: unknown) => unknown) | undefined;
}
