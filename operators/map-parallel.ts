import type { Observable } from 'rxjs';
import { createRun, type ItemFunction, type ParallelOptions } from '../src/parallel-map.js';
import type { ParallelRun } from '../src/parallel-run.js';
import type { TaskResult } from '../src/task-output.js';
import type { TaskRun } from '../src/task-run.js';
import { assertFunction } from '../src/validate.js';

/**
 * Runs a task for every value of the source, at most `concurrency` at once, and emits one {@link ItemResult} per
 * value: in completion order, or in source order with `ordered: true`.
 *
 * <span class="informal">`mergeMap` with a cap that never loses a result: failures are ItemResults, not errors, and
 * an ordered mode keeps source order through a bounded reorder buffer.</span>
 *
 * Values that arrive while every slot is busy wait in a queue, as with `mergeMap` (a source cannot be paused);
 * `bufferSize: n` bounds it, and one more value fails the stream with a `BufferOverflowError` instead of dropping it.
 * To map a large array or a generator, give it to `parallelMap`, which reads it only as slots free. Unsubscribing
 * aborts every task in flight, and stops a synchronous source at once. The options and their defaults are those of
 * `parallelMap` (`concurrency` 16, `ordered` false, `window` 2 × concurrency).
 *
 * **What is awaitable.** Applied directly, `mapParallel(fn)(source)` returns a `ParallelRun`, which can be awaited for
 * a `ParallelResult` (as `parallelMap(fn, source)` can). In `source.pipe(…)`, RxJS's `pipe` types the result as an
 * Observable, whatever follows: to await a map there, use `parallelMap(fn, source)`, or `lastValue` for a value.
 *
 * @example
 * ```ts
 * import { of } from 'rxjs';
 * import { mapParallel } from 'rxtask/operators';
 *
 * of(3, 1, 2)
 *   .pipe(mapParallel((ms: number) => new Promise<number>((r) => setTimeout(() => r(ms), ms)), { ordered: true }))
 *   .subscribe((item) => console.log(item.index, item.ok && item.value));
 * // Output: 0 3, 1 1, 2 2
 * ```
 *
 * @param fn A task, or a sync, async or Observable-returning function of one value; it reaches its context as `this`.
 * @param options See `ParallelOptions`.
 */
export function mapParallel<T, R>(
  fn: (...args: [item: T]) => TaskRun<R>,
  options?: ParallelOptions,
): (source: Observable<T>) => ParallelRun<R>;
export function mapParallel<T, O>(
  fn: ItemFunction<T, O>,
  options?: ParallelOptions,
): (source: Observable<T>) => ParallelRun<TaskResult<O>>;
export function mapParallel(
  fn: ItemFunction<unknown, unknown>,
  options?: ParallelOptions,
): (source: Observable<unknown>) => ParallelRun<unknown> {
  assertFunction('mapParallel', 'fn', fn);
  // Checking the options once here makes bad input throw where the operator is built, not at subscribe.
  createRun('mapParallel', fn, [], false, options);
  return (source) => createRun('mapParallel', fn, source, false, options);
}
