import type { TaskContext } from '../context.js';
import type { TaskFunction } from '../task-definition.js';
import { describe } from '../validate.js';

/**
 * Where a task's attempts run, when not in this process: given the task's name, an attempt's arguments and its
 * signal, it runs the attempt elsewhere and resolves its value. `bullmqRunner` (from `rxtask/bullmq`) is one. The
 * engine still applies the concurrency cap, retry, timeout and rate limit around each attempt.
 *
 * @example
 * ```ts
 * import { type Runner, task } from 'rxtask';
 *
 * // A runner that runs attempts in this process, as a stand-in for a remote one.
 * const local = task((x: number) => x * 2, { name: 'double' });
 * const runner: Runner = { run: async (_name, args) => local.forward(...(args as [number])) };
 * console.log(await task((x: number) => x, { name: 'double', runner })(21)); // 42
 * ```
 */
export interface Runner {
  /**
   * Runs one attempt. `context` carries what the task reads as `this.attempt` and `this.index`, so a remote function
   * sees the same context as a local one.
   */
  run(task: string, args: unknown[], signal: AbortSignal, context?: RunnerContext): Promise<unknown>;
}

/**
 * The attempt a runner is asked to run: what `this.attempt` and `this.index` are for the task's function.
 *
 * @example
 * ```ts
 * import type { RunnerContext } from 'rxtask';
 *
 * const context: RunnerContext = { attempt: 2, index: 7 };
 * console.log(context.attempt); // 2
 * ```
 */
export interface RunnerContext {
  readonly attempt: number;
  readonly index: number | undefined;
}

/** The function a task with a runner calls instead of its own: hand the attempt to the runner. @internal */
export function remoteFunction(runner: Runner, name: string): TaskFunction<unknown[]> {
  return function (this: TaskContext, ...args: unknown[]) {
    return runner.run(name, args, this.signal, { attempt: this.attempt, index: this.index });
  };
}

/** Checks a `runner` option. @internal */
export function assertRunner(where: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || typeof (value as Runner).run !== 'function') {
    throw new TypeError(`${where}: \`runner\` must be a Runner (an object with a run method), got ${describe(value)}`);
  }
}
