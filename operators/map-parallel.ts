import { Observable, type OperatorFunction } from 'rxjs';
import type { ItemResult } from '../src/item-result.js';
import { createRun, type ItemFunction, type ParallelOptions } from '../src/parallel-map.js';
import type { TaskResult } from '../src/task-output.js';
import type { TaskRun } from '../src/task-run.js';
import { assertSource } from '../src/upstream-subscriber.js';
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
 * **What is awaitable.** The operator returns an Observable, as every operator does, so it is never awaited by
 * accident (an `async` function returning it returns the stream). To await a map of a source for its
 * `ParallelResult`, call `parallelMap(fn, source)`, which takes an Observable too.
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
/** */
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
  return (source) => {
    assertSource('mapParallel', source);
    const run = createRun('mapParallel', fn, source, false, options);
    // A plain Observable of the run's results: an operator's result is a stream, never a thenable.
    return new Observable<ItemResult<unknown>>((subscriber) => run.subscribe(subscriber));
  };
}
