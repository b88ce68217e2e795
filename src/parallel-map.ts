import { from, type Observable, type SchedulerLike } from 'rxjs';
import type { CacheStore } from './cache/memory-store.js';
import { type CacheOptions, ResultCache } from './cache/result-cache.js';
import type { TaskContext } from './context.js';
import type { EngineSettings } from './engine/engine.js';
import {
  ArraySource,
  AsyncIteratorSource,
  type ItemSource,
  IteratorSource,
  ObservableSource,
} from './engine/sources.js';
import type { EventStream, RunEvent } from './events.js';
import { currentGroupSignal } from './futures/group-scope.js';
import { itemDependencies } from './futures/item-dependencies.js';
import type { ItemResult } from './item-result.js';
import { sizeOf } from './map-arguments.js';
import { ParallelRun } from './parallel-run.js';
import { holdsAtCreation } from './policies/limit-scope.js';
import { POLICY_OPTIONS, type PolicyOptions, resolvePolicies } from './policies/task-policies.js';
import { runNamer } from './run-name.js';
import { assertRunner, type Runner, remoteFunction } from './runners/runner.js';
import { toDefinition } from './task-definition.js';
import { taskIdentity } from './task-identity.js';
import { isObservableLike, type TaskResult } from './task-output.js';
import type { TaskRun } from './task-run.js';
import { defaultScheduler } from './time.js';
import {
  assertBoolean,
  assertDuration,
  assertFunction,
  assertOptions,
  assertPositiveInteger,
  assertScheduler,
  assertSignal,
  describe,
} from './validate.js';

/**
 * Options of {@link parallelMap}, `task.map`, `task.starmap`, `task.stream` and `mapParallel`. The resilience options
 * (`retry`, `timeout` per attempt, `rateLimit`) override the task's own for this map.
 *
 * @example
 * ```ts
 * import { parallelMap, type ParallelOptions } from 'rxtask';
 *
 * const options: ParallelOptions = { concurrency: 4, ordered: true, maxErrors: 3, deadline: 60_000 };
 * const result = await parallelMap(async (x: number) => x + 1, [1, 2, 3], options);
 * console.log(result.values()); // [2, 3, 4]
 * ```
 */
export interface ParallelOptions extends PolicyOptions {
  /** The most tasks running at once: a positive integer or `Infinity`. Default `16`. */
  concurrency?: number;
  /** Deliver results in input order (through a bounded reorder buffer) instead of completion order. Default `false`. */
  ordered?: boolean;
  /**
   * The most items admitted but not yet delivered: running, finished but waiting for an earlier one (`ordered`), or
   * waiting for a `for await` loop to pull them. It bounds the read-ahead and the reorder buffer: a straggler holds
   * admission back rather than growing the buffer. At least `concurrency`; default `2 × concurrency`.
   */
  window?: number;
  /** Stop at the first failure: admit nothing more and cancel what is in flight (status `'aborted'`). Default `false`. */
  stopOnError?: boolean;
  /** Stop after this many failures, as `stopOnError` does after one. Default `Infinity`: never stop. */
  maxErrors?: number;
  /** Called after each finished item with the count done and the count known (it grows for unsized input). */
  onProgress?: (done: number, total: number) => void;
  /**
   * A deadline for the whole run, in milliseconds from its start (`Infinity` for none): when it passes, tasks in
   * flight are aborted with a `TimeoutError`, unstarted items are marked, and the status is `'timed_out'`. It is also
   * checked before each item starts, so it binds synchronous work too, and `deadline: 0` runs nothing.
   */
  deadline?: number;
  /** Cancels the run when it aborts (status `'cancelled'`). */
  signal?: AbortSignal;
  /**
   * For an Observable input, which cannot be paused: how many items may wait for a free slot before the run fails
   * with a `BufferOverflowError`. Default `Infinity`: every item it pushes waits, as with `mergeMap`.
   */
  bufferSize?: number;
  /** Where time comes from (the deadline, durations). Default `asyncScheduler`; pass a `TestScheduler` in tests. */
  scheduler?: SchedulerLike;
  /** Called with each of this map's events (see `RunEvent`); replaces the task's own `onEvent`. */
  onEvent?: (event: RunEvent) => void;
  /** Runs this map's attempts elsewhere (see `Runner`): `bullmqRunner` runs them on BullMQ workers. */
  runner?: Runner;
  /**
   * A file to record each item that succeeds in, as the run goes (Node): a rerun over the same input finds the items
   * an earlier run finished there, reports them with their recorded value and `attempts: 0` (a `restored` event)
   * without running them, and runs the failed and unseen ones. The file is bound to the task (its name and its
   * function's source) and to `checkpointVersion`: another one is a `CheckpointError` at the start. Values are stored
   * as JSON. See `checkpointInfo`.
   *
   * Or a store with Keyv's interface (a Redis, a database): one entry per finished item, keyed by the task's
   * identity, `checkpointVersion` and the item's key, so another task or version finds nothing there (no error).
   */
  checkpoint?: string | CacheStore;
  /** The result cache of this map's items, in place of the task's own (see `TaskOptions.cache`); `false` for none. */
  cache?: boolean | CacheOptions;
  /** Each item's key in the checkpoint, a string or a finite number. Default: its position in the input. */
  checkpointKey?: (item: never) => string | number;
  /** A token for what the task's identity cannot see (its configuration, a model's version): part of the checkpoint's binding. */
  checkpointVersion?: string | number;
  /**
   * An application identity for each item, put on its ItemResult as `key` (the index stays the position): a string or
   * a finite number, read when the item is admitted (for `starmap`, of the whole tuple). A throw fails the run.
   */
  itemKey?: (item: never) => string | number;
  /**
   * Called with each item's result as it completes, in completion order, when the run is awaited (a subscriber or a
   * `for await` loop sees them anyway). Items a cancel or a failed run stopped are in the result only. A throw, or a
   * rejection of an async one, fails the run.
   */
  onResult?: (result: ItemResult<never>) => void;
  /**
   * Runs the items one at a time, in input order, with no read-ahead: for debugging, with every other option as it is
   * (retry, rate limit, progress, `maxErrors`, the deadline). Same as `concurrency: 1`; setting the environment
   * variable `RXTASK_SEQUENTIAL=1` turns every map sequential without a change to the code.
   */
  sequential?: boolean;
}

/** The names of every map option. @internal */
export const PARALLEL_OPTION_NAMES = [
  'onEvent',
  'runner',
  ...POLICY_OPTIONS,
  'concurrency',
  'ordered',
  'window',
  'stopOnError',
  'maxErrors',
  'onProgress',
  'deadline',
  'signal',
  'bufferSize',
  'scheduler',
  'itemKey',
  'onResult',
  'sequential',
  'checkpoint',
  'cache',
  'checkpointKey',
  'checkpointVersion',
] as const;

/**
 * The default cap on running tasks: enough to overlap I/O, few enough not to flood a server by accident.
 *
 * @example
 * ```ts
 * import { DEFAULT_CONCURRENCY } from 'rxtask';
 *
 * console.log(DEFAULT_CONCURRENCY); // 16
 * ```
 */
export const DEFAULT_CONCURRENCY = 16;
const DEFAULT_BUFFER_SIZE = Number.POSITIVE_INFINITY;

/**
 * What a parallel map can run over.
 *
 * @example
 * ```ts
 * import { from } from 'rxjs';
 * import { type MapInput, parallelMap } from 'rxtask';
 *
 * async function* pages() {
 *   yield 1;
 *   yield 2;
 * }
 * const inputs: MapInput<number>[] = [[1, 2], new Set([1, 2]), pages(), from([1, 2])];
 * for (const input of inputs) console.log((await parallelMap((x: number) => x * 2, input)).values()); // [2, 4]
 * ```
 */
export type MapInput<T> = Iterable<T> | AsyncIterable<T> | Observable<T>;

/**
 * Anything a parallel map can run: a task, or a plain function of one item (sync, async or Observable-returning).
 *
 * @example
 * ```ts
 * import { type ItemFunction, parallelMap } from 'rxtask';
 *
 * const double: ItemFunction<number, Promise<number>> = async function (x) {
 *   return this.index === 0 ? x : x * 2;
 * };
 * console.log((await parallelMap(double, [5, 5])).values()); // [5, 10]
 * ```
 */
export type ItemFunction<T, O> = (this: TaskContext, item: T) => O;

/**
 * Runs `fn` over every item with at most `concurrency` running at once, pulling the next item only when a slot is
 * free, and returns a {@link ParallelRun}: stream its ItemResults as they complete, `for await` them, or `await`
 * the {@link ParallelResult}. By default every item runs and failures are collected.
 *
 * `fn` is a task or a plain function; it reaches its {@link TaskContext} (with the item's `index`) as `this`.
 *
 * @throws RangeError for a `concurrency`, `window` or `maxErrors` that is 0, negative, fractional or NaN.
 * @throws TypeError when `fn` is not a function, `items` cannot be iterated, or an option has the wrong type.
 *
 * @example
 * ```ts
 * import { parallelMap } from 'rxtask';
 *
 * const sizes = await parallelMap(async (word: string) => word.length, ['a', 'bb', 'ccc'], { concurrency: 2 });
 * console.log(sizes.values()); // [1, 2, 3]
 * ```
 */
export function parallelMap<T, R>(
  fn: (...args: [item: T]) => TaskRun<R>,
  items: MapInput<T>,
  options?: ParallelOptions,
): ParallelRun<R>;
/** */
export function parallelMap<T, O>(
  fn: ItemFunction<T, O>,
  items: MapInput<T>,
  options?: ParallelOptions,
): ParallelRun<TaskResult<O>>;
export function parallelMap(
  fn: ItemFunction<unknown, unknown>,
  items: MapInput<unknown>,
  options?: ParallelOptions,
): ParallelRun<unknown> {
  assertFunction('parallelMap', 'fn', fn);
  assertItems('parallelMap', items);
  return createRun('parallelMap', fn, items, false, options);
}

/**
 * Builds a run after checking every option, so bad input throws at the call, before anything runs. `spread` calls
 * `fn(...item)` for tuple items (starmap, zipped arguments). @internal
 */
export function createRun(
  where: string,
  fn: object,
  items: MapInput<unknown>,
  spread: boolean,
  options: ParallelOptions | undefined,
): ParallelRun<unknown> {
  const checked = checkParallelOptions(where, options);
  const definition = toDefinition(fn);
  // The environment switch wins over everything: it is for debugging a program without changing its code.
  const sequential = sequentialByEnvironment() || (checked.sequential ?? definition.options.sequential ?? false);
  const concurrency = sequential ? 1 : (checked.concurrency ?? DEFAULT_CONCURRENCY);
  const window = sequential ? 1 : (checked.window ?? 2 * concurrency);
  if (window < concurrency) {
    throw new RangeError(`${where}: \`window\` (${window}) must be at least \`concurrency\` (${concurrency})`);
  }
  const bufferSize = checked.bufferSize ?? DEFAULT_BUFFER_SIZE;
  const runEvents: { subject: EventStream | undefined } = { subject: undefined };
  const runner = checked.runner;
  const settings: EngineSettings = {
    fn: runner === undefined ? definition.fn : remoteFunction(runner, definition.name),
    name: definition.name,
    spread,
    concurrency,
    window,
    maxErrors: checked.stopOnError ? 1 : (checked.maxErrors ?? Number.POSITIVE_INFINITY),
    onProgress: checked.onProgress,
    deadline: checked.deadline,
    signal: checked.signal,
    scheduler: checked.scheduler ?? defaultScheduler,
    shareClock: checked.scheduler === undefined,
    policies: resolvePolicies(where, checked, definition.policies, checked.scheduler),
    indexed: true,
    onEvent: checked.onEvent ?? definition.options.onEvent,
    runEvents,
    runName: runNamer(definition, spread),
    namesByFunction: typeof definition.options.runName === 'function',
    dependencies: itemDependencies(spread),
    awaitItems: !spread,
    createdHolding: holdsAtCreation(),
    madeInGroup: currentGroupSignal(),
    cache:
      checked.cache === undefined
        ? definition.cache
        : ResultCache.of(where, checked.cache, taskIdentity(definition.name, definition.local)),
    checkpoint:
      checked.checkpoint === undefined
        ? undefined
        : {
            path: checked.checkpoint,
            identity: checkpointIdentity(where, definition.name, definition.local),
            version: checked.checkpointVersion,
            key: checked.checkpointKey as ((item: unknown) => unknown) | undefined,
          },
    itemKey: checked.itemKey as ((item: unknown) => unknown) | undefined,
    onResult: checked.onResult as ((result: ItemResult<unknown>) => unknown) | undefined,
  };
  return new ParallelRun({
    settings,
    runEvents,
    ordered: checked.ordered === true,
    createSource: () => createSource(items, bufferSize),
  });
}

/** A checkpoint's binding: a bound or native function has no source to tell it by, so a version must. */
function checkpointIdentity(where: string, name: string, fn: (...args: never[]) => unknown): string {
  const identity = taskIdentity(name, fn);
  if (identity === undefined) {
    throw new TypeError(
      `${where}: the checkpoint cannot tell a bound or native function from another: pass an unbound function`,
    );
  }
  return identity;
}

/** `RXTASK_SEQUENTIAL=1` (or `true`) in the environment turns every map sequential, for debugging. */
function sequentialByEnvironment(): boolean {
  const value = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
    ?.RXTASK_SEQUENTIAL;
  return value === '1' || value === 'true';
}

function createSource(items: MapInput<unknown>, bufferSize: number): ItemSource<unknown> {
  if (Array.isArray(items) || ArrayBuffer.isView(items)) return new ArraySource(items as ArrayLike<unknown>);
  if (isObservableLike(items)) return new ObservableSource(from(items), bufferSize);
  // As `for await` does, an object with both protocols is read through Symbol.asyncIterator.
  if (Symbol.asyncIterator in Object(items)) return new AsyncIteratorSource(items as AsyncIterable<unknown>);
  return new IteratorSource(items as Iterable<unknown>, sizeOf(items));
}

/** @internal */
export function assertItems(where: string, items: unknown): void {
  const ok =
    items !== null &&
    items !== undefined &&
    (isObservableLike(items) || Symbol.iterator in Object(items) || Symbol.asyncIterator in Object(items));
  if (!ok) {
    throw new TypeError(`${where}: \`items\` must be an Iterable, AsyncIterable or Observable, got ${describe(items)}`);
  }
}

/** @internal */
export function checkParallelOptions(where: string, options: unknown): ParallelOptions {
  const checked = assertOptions<ParallelOptions>(where, options, PARALLEL_OPTION_NAMES) ?? {};
  assertPositiveInteger(where, 'concurrency', checked.concurrency, true);
  assertPositiveInteger(where, 'window', checked.window, true);
  assertPositiveInteger(where, 'maxErrors', checked.maxErrors, true);
  assertPositiveInteger(where, 'bufferSize', checked.bufferSize, true);
  assertBoolean(where, 'ordered', checked.ordered);
  assertBoolean(where, 'stopOnError', checked.stopOnError);
  assertDuration(where, 'deadline', checked.deadline);
  assertSignal(where, 'signal', checked.signal);
  if (checked.onProgress !== undefined) assertFunction(where, 'onProgress', checked.onProgress);
  if (checked.onEvent !== undefined) assertFunction(where, 'onEvent', checked.onEvent);
  if (checked.itemKey !== undefined) assertFunction(where, 'itemKey', checked.itemKey);
  const checkpoint = checked.checkpoint as unknown;
  if (checkpoint !== undefined && typeof checkpoint !== 'string') {
    const store = checkpoint as Record<string, unknown> | null;
    if (typeof store?.get !== 'function' || typeof store.set !== 'function' || typeof store.delete !== 'function') {
      throw new TypeError(
        `${where}: \`checkpoint\` must be a file's path or a store with Keyv's get, set and delete, got ${describe(checkpoint)}`,
      );
    }
  }
  if (checked.checkpointKey !== undefined) assertFunction(where, 'checkpointKey', checked.checkpointKey);
  const version = checked.checkpointVersion;
  if (
    version !== undefined &&
    typeof version !== 'string' &&
    !(typeof version === 'number' && Number.isFinite(version))
  ) {
    throw new TypeError(
      `${where}: \`checkpointVersion\` must be a string or a finite number, got ${describe(version)}`,
    );
  }
  if (checked.checkpoint === undefined && (checked.checkpointKey !== undefined || version !== undefined)) {
    throw new TypeError(`${where}: \`checkpointKey\` and \`checkpointVersion\` need a \`checkpoint\` file`);
  }
  if (checked.onResult !== undefined) assertFunction(where, 'onResult', checked.onResult);
  assertBoolean(where, 'sequential', checked.sequential);
  if (checked.sequential === true && (checked.concurrency ?? 1) !== 1) {
    throw new RangeError(
      `${where}: \`sequential: true\` runs one item at a time, but \`concurrency\` is ${checked.concurrency}`,
    );
  }
  assertRunner(where, checked.runner);
  assertScheduler(where, 'scheduler', checked.scheduler);
  return checked;
}
