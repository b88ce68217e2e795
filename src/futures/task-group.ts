import { cancellationReason } from '../errors.js';
import type { SubmitArguments, Task } from '../task.js';
import { definitionOf } from '../task-definition.js';
import { assertFunction, assertOptions, assertSignal, describe } from '../validate.js';
import type { TaskFuture } from './task-future.js';

/**
 * Options of {@link taskGroup}.
 *
 * @example
 * ```ts
 * import { task, taskGroup, type TaskGroupOptions } from 'rxtask';
 *
 * const options: TaskGroupOptions = { signal: AbortSignal.timeout(5_000) };
 * console.log(await taskGroup((group) => group.start(task(async () => 'done')), options)); // 'done'
 * ```
 */
export interface TaskGroupOptions {
  /** Cancels every child (and the group) when it aborts. */
  signal?: AbortSignal;
}

/**
 * The handle a {@link taskGroup} body gets: start children with it; the group waits for every one of them.
 *
 * @example
 * ```ts
 * import { type TaskGroup, task, taskGroup } from 'rxtask';
 *
 * const startAll = (group: TaskGroup) => [1, 2].map((n) => group.start(task(async (x: number) => x * 10), n));
 * console.log(await taskGroup(async (group) => Promise.all(startAll(group)))); // [10, 20]
 * ```
 */
export interface TaskGroup {
  /** Starts `task(...args)` as a child of the group and returns its future. */
  start<A extends unknown[], R>(task: Task<A, R>, ...args: SubmitArguments<A>): TaskFuture<R>;
  /** Aborted when the group is cancelled: a child failed, the body threw, or the group's signal aborted. */
  readonly signal: AbortSignal;
  /** The children started so far. */
  readonly futures: readonly TaskFuture<unknown>[];
}

/**
 * Structured concurrency, as anyio's task groups: the body starts children with `group.start(task, ...args)`, and the
 * group settles only when every child has. The first failure (of a child, or of the body itself) cancels every other
 * child, aborting their signals, and the group rejects with an `AggregateError` of the failures. Leaving the group
 * never leaves a child running. It resolves to what the body returns.
 *
 * @example
 * ```ts
 * import { task, taskGroup } from 'rxtask';
 *
 * const double = task(async (x: number) => x * 2);
 * const results = await taskGroup(async (group) => {
 *   const futures = [1, 2, 3].map((n) => group.start(double, n));
 *   return Promise.all(futures);
 * });
 * console.log(results); // [2, 4, 6]
 * ```
 */
export async function taskGroup<R>(
  body: (group: TaskGroup) => R | PromiseLike<R>,
  options?: TaskGroupOptions,
): Promise<Awaited<R>> {
  assertFunction('taskGroup', 'body', body);
  const checked = assertOptions<TaskGroupOptions>('taskGroup', options, ['signal']);
  assertSignal('taskGroup', 'signal', checked?.signal);
  const controller = new AbortController();
  const children: TaskFuture<unknown>[] = [];
  const failures: unknown[] = [];
  let closed = false;

  const cancelAll = (reason: unknown) => {
    if (!controller.signal.aborted) controller.abort(reason);
    for (const child of children) child.cancel();
  };
  const onParentAbort = () => cancelAll(checked?.signal?.reason);
  checked?.signal?.addEventListener('abort', onParentAbort, { once: true });

  const group: TaskGroup = {
    signal: controller.signal,
    futures: children,
    start<A extends unknown[], R>(childTask: Task<A, R>, ...args: SubmitArguments<A>): TaskFuture<R> {
      if (definitionOf(childTask) === undefined) {
        throw new TypeError(
          `taskGroup: start() expects a task (wrap the function with task(fn)), got ${describe(childTask)}`,
        );
      }
      if (closed) throw new Error('taskGroup: the group is closed; start children inside its body');
      if (controller.signal.aborted) throw controller.signal.reason;
      const future = childTask.submit(...args);
      children.push(future);
      future.wait().then((state) => {
        if (state === 'failed') {
          failures.push(future.error);
          cancelAll(cancellationReason(`Cancelled: ${future.runName} failed`));
        }
      });
      return future;
    },
  };

  let result: Awaited<R> | undefined;
  try {
    if (checked?.signal?.aborted) throw checked.signal.reason;
    result = await body(group);
  } catch (error) {
    failures.unshift(error);
    cancelAll(cancellationReason('Cancelled: the task group failed'));
  }
  // Wait for every child, including any started while others were finishing.
  for (let waited = 0; waited < children.length; waited = children.length) {
    await Promise.all(children.slice(waited).map((child) => child.wait()));
  }
  closed = true;
  checked?.signal?.removeEventListener('abort', onParentAbort);
  if (failures.length > 0) throw new AggregateError(failures, `taskGroup: ${failures.length} failed`);
  if (controller.signal.aborted) throw controller.signal.reason;
  return result as Awaited<R>;
}
