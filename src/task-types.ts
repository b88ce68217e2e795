import type { Observable } from 'rxjs';
import type { AllowFailure } from './futures/dependencies.js';
import type { TaskFuture } from './futures/task-future.js';
import type { Unmapped } from './map-arguments.js';
import type { MapInput, ParallelOptions } from './parallel-map.js';
import type { ParallelRun } from './parallel-run.js';
import type { TaskFunction, TaskOptions } from './task-definition.js';
import type { TaskResult } from './task-output.js';
import type { TaskRun } from './task-run.js';

/**
 * The arguments of `task.map` for a task of parameters `A`: per parameter, an iterable to map over, or one value for
 * every call (`unmapped(value)`, or, with several arguments, any value that is not iterable, strings included).
 *
 * @example
 * ```ts
 * import { type MapArguments, task, unmapped } from 'rxtask';
 *
 * const scale = task((x: number, by: number) => x * by);
 * const args: MapArguments<[number, number]> = [[1, 2], unmapped(10)];
 * console.log((await scale.map(...args)).values()); // [10, 20]
 * ```
 */
export type MapArguments<A extends unknown[]> = {
  [K in keyof A]: Iterable<A[K]> | AsyncIterable<A[K]> | Unmapped<A[K]>;
};

/**
 * The arguments of `task.map` with several parameters, where values that are not iterable are broadcast.
 *
 * @example
 * ```ts
 * import { type BroadcastArguments, task } from 'rxtask';
 *
 * const scale = task((x: number, by: number) => x * by);
 * const args: BroadcastArguments<[number, number]> = [[1, 2], 10]; // 10 is not iterable: every call gets it
 * console.log((await scale.map(...args)).values()); // [10, 20]
 * ```
 */
export type BroadcastArguments<A extends unknown[]> = {
  [K in keyof A]: Iterable<A[K]> | AsyncIterable<A[K]> | Unmapped<A[K]> | A[K];
};

/**
 * An argument of `submit` may also be a future or run of its value, or `allowFailure` of one.
 *
 * @example
 * ```ts
 * import { type SubmitArguments, task } from 'rxtask';
 *
 * const add = task((a: number, b: number) => a + b);
 * const args: SubmitArguments<[number, number]> = [task(async () => 1).submit(), 2]; // a future where a number goes
 * console.log(await add.submit(...args)); // 3
 * ```
 */
export type SubmitArguments<A extends unknown[]> = {
  [K in keyof A]: A[K] | PromiseLike<A[K]> | AllowFailure<unknown>;
};

/**
 * A wrapped function. Calling it returns a lazy {@link TaskRun}; its parameter and result types are the function's.
 *
 * @example
 * ```ts
 * import { task } from 'rxtask';
 *
 * const toText = task(async (x: number) => String(x), { name: 'toText' });
 * const text: string = await toText(7);
 * const loud = toText.with({ name: 'loud' });
 * console.log(text, loud.name, await toText.forward(8)); // '7' 'loud' '8'
 * ```
 */
export interface Task<A extends unknown[], R, Output = unknown> {
  /**
   * Returns a lazy run of the function with these arguments: nothing runs until it is subscribed or awaited. An
   * argument may be a future or run of its value, waited for first (see `submit`).
   */
  (...args: SubmitArguments<A>): TaskRun<R>;
  /** The task's name: `options.name`, else the function's name, else `'anonymous'`. */
  readonly name: string;
  /** The options this task was made with. */
  readonly options: Readonly<TaskOptions>;
  /** Returns a new task with these options laid over this one's (Flyte's `override`, Prefect's `with_options`). */
  with(options: TaskOptions): Task<A, R, Output>;
  /** Calls the function directly and returns what it returns: no laziness, no policies, no events (Flyte's `forward`). */
  forward(...args: A): Output;
  /**
   * Runs the task over its inputs in parallel (see `parallelMap`). With several arguments, as Prefect's `.map`:
   * iterables are zipped (sized ones must be of equal length), and `unmapped(value)` passes one value to every call.
   * Options may follow the last argument. One Observable may stand for the one argument of a task of one parameter.
   */
  map(...args: MapArguments<A> | [...MapArguments<A>, ParallelOptions]): ParallelRun<R>;
  map(...args: BroadcastArguments<A> | [...BroadcastArguments<A>, ParallelOptions]): ParallelRun<R>;
  map(items: Observable<A[0]>, options?: ParallelOptions): ParallelRun<R>;
  /**
   * Starts the task now and returns a {@link TaskFuture} (Prefect's `.submit`). Futures and TaskRuns among the
   * arguments, at the top level or inside arrays and plain objects, are waited for and replaced by their values
   * first; a failed one fails this task with an `UpstreamError` unless wrapped in `allowFailure`.
   */
  submit(...args: SubmitArguments<A>): TaskFuture<R>;
  /** Runs the task over argument tuples in parallel, calling `fn(...tuple)` (Python's `starmap`). */
  starmap(tuples: MapInput<A>, options?: ParallelOptions): ParallelRun<R>;
  /**
   * Runs the task over the items and streams the values alone, in completion order (input order with
   * `ordered: true`). The first failure errors the stream and cancels the rest; use `map` to keep every outcome.
   */
  stream(items: MapInput<A[0]>, options?: Omit<ParallelOptions, 'stopOnError' | 'maxErrors'>): Observable<R>;
}

/**
 * The {@link Task} that wraps a function of type `F`.
 *
 * @example
 * ```ts
 * import { type TaskOf, task } from 'rxtask';
 *
 * const parse = (text: string) => Number(text);
 * const parseTask: TaskOf<typeof parse> = task(parse);
 * console.log(await parseTask('42')); // 42
 * ```
 */
export type TaskOf<F extends TaskFunction> = Task<Parameters<F>, TaskResult<ReturnType<F>>, ReturnType<F>>;
