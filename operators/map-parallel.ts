import type { OperatorFunction } from 'rxjs';
import type { ItemResult } from '../src/item-result.js';
import { createRun, type ItemFunction, type ParallelOptions } from '../src/parallel-map.js';
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
 * Values that arrive while every slot is busy wait in a buffer of at most `bufferSize` (default 10 000); one more
 * fails the stream with a `BufferOverflowError` instead of dropping a value. To map a large array or a generator, give
 * it to `parallelMap`, which reads it only as slots free. Unsubscribing aborts every task in flight. The options and
 * their defaults are those of `parallelMap` (`concurrency` 16, `ordered` false, `window` 2 × concurrency).
 *
 * The operator returns a `ParallelRun`, so the piped result can also be awaited for a `ParallelResult`.
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
): OperatorFunction<T, ItemResult<R>>;
export function mapParallel<T, O>(
  fn: ItemFunction<T, O>,
  options?: ParallelOptions,
): OperatorFunction<T, ItemResult<TaskResult<O>>>;
export function mapParallel(
  fn: ItemFunction<unknown, unknown>,
  options?: ParallelOptions,
): OperatorFunction<unknown, ItemResult<unknown>> {
  assertFunction('mapParallel', 'fn', fn);
  // Checking the options once here makes bad input throw where the operator is built, not at subscribe.
  createRun('mapParallel', fn, [], false, options);
  return (source) => createRun('mapParallel', fn, source, false, options);
}
