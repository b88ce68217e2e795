import type { CacheOptions, ResultCache } from './cache/result-cache.js';
import type { TaskContext } from './context.js';
import type { RunEvent } from './events.js';
import { NO_POLICIES, type Policies, type PolicyOptions } from './policies/task-policies.js';
import type { RunName } from './run-name.js';
import type { Runner } from './runners/runner.js';

/**
 * Any function a task can wrap: sync, async, or returning an Observable. Its context arrives as `this`.
 * (The default `never[]` parameters let TypeScript infer each parameter, default values included, from the function.)
 *
 * @example
 * ```ts
 * import { type TaskFunction, task } from 'rxtask';
 *
 * const fn: TaskFunction<[string], string> = function (word) {
 *   return `${this.name}: ${word}`;
 * };
 * console.log(await task(fn, { name: 'echo' })('hi')); // 'echo: hi'
 * ```
 */
export type TaskFunction<A extends unknown[] = never[], Output = unknown> = (this: TaskContext, ...args: A) => Output;

/**
 * Options of `task()`; `.with()` overrides them, and a map's own options override them for that map.
 *
 * @example
 * ```ts
 * import { task, type TaskOptions } from 'rxtask';
 *
 * const options: TaskOptions = { name: 'fetchUser', runName: 'fetch user {id}', retry: { attempts: 2, backoff: 10 } };
 * const fetchUser = task(async (id: number) => ({ id }), options);
 * console.log(fetchUser.name, fetchUser.submit(3).runName); // 'fetchUser' 'fetch user 3'
 * ```
 */
export interface TaskOptions extends PolicyOptions {
  /** Shown in events and errors, and read by the function as `this.name`. Defaults to the function's name. */
  name?: string;
  /**
   * Names each run after its arguments: a template such as `"train on {dataset.name} with {modelConfig.name}"` (by
   * parameter name or position), or a function of the arguments. Shown in futures, events and errors.
   */
  runName?: RunName;
  /**
   * The names a `runName` template uses for the arguments, in order: `['dataset', 'modelConfig']`; the last may be a
   * rest parameter (`'...ids'`). Without it they are read from the function's source, which a minifier or bundler may
   * rewrite (`(id) => …` becomes `(e) => …`); give them in code that will be minified, or name arguments by position
   * (`{0}`, `{1.name}`).
   */
  parameterNames?: readonly string[];
  /** Futures or runs to wait for before starting, though no data passes between them (Prefect's `wait_for`). */
  waitFor?: readonly unknown[];
  /** Called with each of this task's events (see `RunEvent`); a map's own `onEvent` replaces it for that map. */
  onEvent?: (event: RunEvent) => void;
  /** Runs the task's attempts elsewhere (see `Runner`; `bullmqRunner` runs them on BullMQ workers). */
  runner?: Runner;
  /** Its maps run one item at a time, in input order (see `ParallelOptions.sequential`); a map may say otherwise. */
  sequential?: boolean;
  /**
   * Keeps results, so a call with the same arguments does not run again: `true`, or `{ key, ttl, version, refresh,
   * store }` (see `CacheOptions`). A hit has `attempts: 0` and a `cached` event; failures are never kept; calls with
   * the same key at once run the function once and share its outcome. A map or `.with()` may say otherwise.
   */
  cache?: boolean | CacheOptions;
}

/** What a task is made of; the engine runs the function directly, without a TaskRun per item. @internal */
export interface TaskDefinition {
  readonly fn: TaskFunction<unknown[]>;
  readonly name: string;
  readonly options: Readonly<TaskOptions>;
  /** The task's retry, timeout and rate limit, resolved once: a rate limit given as options is one limiter per task. */
  readonly policies: Policies;
  /** The function's parameter names, for a `runName` template. */
  readonly parameters: readonly string[];
  /** The function itself, for `forward()`, even when `fn` hands attempts to a runner. */
  readonly local: TaskFunction<unknown[]>;
  /** The task's result cache, resolved from its `cache` option. */
  readonly cache: ResultCache | undefined;
  /** True when a call has nothing around its function: no policy, cache, `onEvent`, `waitFor` or `runName` function. */
  readonly plain: boolean;
}

/** Where a task function keeps its definition. @internal */
export const TASK_DEFINITION: unique symbol = Symbol('rxtask.task');

/** The definition of a task, or `undefined` for anything else. @internal */
export function definitionOf(value: unknown): TaskDefinition | undefined {
  return typeof value === 'function' ? (value as { [TASK_DEFINITION]?: TaskDefinition })[TASK_DEFINITION] : undefined;
}

/** The definition to run for `fn`: a task's own, or a plain function named after itself. @internal */
export function toDefinition(fn: TaskFunction<unknown[]> | object): TaskDefinition {
  const definition = definitionOf(fn);
  if (definition !== undefined) return definition;
  const plain = fn as TaskFunction<unknown[]>;
  return {
    fn: plain,
    name: plain.name || 'anonymous',
    options: {},
    policies: NO_POLICIES,
    parameters: [],
    local: plain,
    cache: undefined,
    plain: true,
  };
}
