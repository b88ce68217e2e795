import { resolvePolicies } from './policies/task-policies.js';
import { definitionOf, type TaskFunction, type TaskOptions } from './task-definition.js';
import { checkTaskOptions, makeTask } from './task-methods.js';
import type { Task, TaskOf } from './task-types.js';
import { assertFunction } from './validate.js';

export type {
  BroadcastArguments,
  MapArguments,
  SubmitArguments,
  Task,
  TaskOf,
} from './task-types.js';
export type { TaskFunction, TaskOptions };

/**
 * Wraps a sync or async function (or one that returns an Observable) as a {@link Task}.
 *
 * The function reaches its {@link TaskContext} (signal, attempt, name, index) as `this`, or as a first parameter
 * through {@link withContext}; it is never passed in place of an argument. A sync throw becomes an error notification
 * or a rejection, never an exception out of `subscribe`.
 *
 * @param fn The function to run.
 * @param options See {@link TaskOptions}.
 * @throws TypeError when `fn` is not a function or an option has the wrong type.
 *
 * @example
 * ```ts
 * import { task, type TaskContext } from 'rxtask';
 *
 * const slowDouble = task(async function (this: TaskContext, x: number) {
 *   await new Promise((resolve) => setTimeout(resolve, 10));
 *   this.signal.throwIfAborted();
 *   return x * 2;
 * });
 * console.log(await slowDouble(21)); // 42
 * ```
 */
export function task<F extends TaskFunction>(fn: F, options?: TaskOptions): TaskOf<F> {
  assertFunction('task', 'fn', fn);
  const checked = checkTaskOptions('task', options);
  const policies = resolvePolicies('task', checked);
  return makeTask('task', fn as unknown as TaskFunction<unknown[]>, { ...checked }, policies) as unknown as TaskOf<F>;
}

/**
 * True for the functions {@link task} returns.
 *
 * @example
 * ```ts
 * import { isTask, task } from 'rxtask';
 *
 * console.log(isTask(task(() => 1)), isTask(() => 1)); // true false
 * ```
 */
export function isTask(value: unknown): value is Task<unknown[], unknown> {
  return definitionOf(value) !== undefined;
}
