/**
 * Tasks whose function runs on worker threads (Piscina, an optional peer dependency), for CPU-bound work: the same
 * interface as `task()`, with a shared or private {@link WorkerPool}.
 *
 * @module rxtask/worker
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TaskContext } from '../src/context.js';
import { type Task, type TaskOptions, task } from '../src/task.js';
import { assertFunction, assertOptions, describe } from '../src/validate.js';
import { WorkerPool, type WorkerPoolOptions } from '../src/workers/worker-pool.js';

export { WorkerPool, type WorkerPoolOptions };

/**
 * Options of {@link workerTask}: a task's options, and where and how it runs.
 *
 * @example
 * ```ts
 * import { WorkerPool, type WorkerTaskOptions } from 'rxtask/worker';
 *
 * const pool = new WorkerPool({ threads: 2 });
 * const options: WorkerTaskOptions = { pool, timeout: 10_000, transfer: (buffer: ArrayBuffer) => [buffer] };
 * console.log(options.pool === pool); // true
 * await pool.close();
 * ```
 */
export interface WorkerTaskOptions extends TaskOptions {
  /** The pool to run on. Default: a pool of the task's own, made on its first call and sized to the cores. */
  pool?: WorkerPool;
  /** The objects among a call's arguments to move to the thread instead of copying (ArrayBuffers, MessagePorts). */
  transfer?: (...args: never[]) => Transferable[];
}

/**
 * A task that runs on worker threads: a {@link Task}, and the pool it owns.
 *
 * @example
 * ```ts
 * import { type WorkerTask, workerTask } from 'rxtask/worker';
 *
 * // hash.js exports `hash(buffer)`: compiled JavaScript a worker can import.
 * const hash: WorkerTask<[ArrayBuffer], string> = workerTask(new URL('./hash.js', import.meta.url), 'hash');
 * await hash.close(); // closes its pool (made lazily: nothing was started)
 * ```
 */
export type WorkerTask<A extends unknown[], R> = Task<A, R> & {
  /** Stops the task's own pool once its tasks are done (a pool given in the options is left to its owner). */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

const WORKER_OPTIONS = ['name', 'runName', 'waitFor', 'onEvent', 'retry', 'timeout', 'rateLimit', 'pool', 'transfer'];

/**
 * A task whose function runs on a worker thread (Piscina): for CPU-bound work, which would block the event loop.
 * It has the whole interface of `task()` (calls, `map`, `starmap`, `stream`, `submit`, retry, timeout and rate limit).
 * Arguments and results are structured-cloned (`transfer` moves buffers instead); an error comes back with its name,
 * message, stack and cause.
 *
 * The module must be JavaScript a worker can import (Node 20 cannot run TypeScript in a worker): point at the
 * compiled file. Cancelling a call that waits for a thread costs nothing; cancelling one that runs terminates its
 * thread, which Piscina then replaces (a new thread costs some milliseconds to start).
 *
 * @example
 * ```ts
 * // Needs primes.js, compiled JavaScript of yours: export function countPrimes(limit) { … }
 * import { workerTask } from 'rxtask/worker';
 *
 * const countPrimes = workerTask<[limit: number], number>(new URL('./primes.js', import.meta.url), 'countPrimes');
 * const counts = await countPrimes.map([1e6, 2e6, 3e6]);
 * await countPrimes.close();
 * ```
 *
 * @param moduleUrl The module's URL (a `file:` URL, or a path).
 * @param exportName The exported function to call.
 */
export function workerTask<A extends unknown[] = unknown[], R = unknown>(
  moduleUrl: URL | string,
  exportName: string,
  options: WorkerTaskOptions = {},
): WorkerTask<A, R> {
  if (!(moduleUrl instanceof URL) && typeof moduleUrl !== 'string') {
    throw new TypeError(`workerTask: \`moduleUrl\` must be a URL or a string, got ${describe(moduleUrl)}`);
  }
  if (typeof exportName !== 'string' || exportName === '') {
    throw new TypeError(`workerTask: \`exportName\` must be a non-empty string, got ${describe(exportName)}`);
  }
  const checked = assertOptions<WorkerTaskOptions>('workerTask', options, WORKER_OPTIONS) ?? {};
  if (checked.pool !== undefined && !(checked.pool instanceof WorkerPool)) {
    throw new TypeError(`workerTask: \`pool\` must be a WorkerPool, got ${describe(checked.pool)}`);
  }
  if (checked.transfer !== undefined) assertFunction('workerTask', 'transfer', checked.transfer);
  const url =
    moduleUrl instanceof URL
      ? moduleUrl.href
      : /^file:/.test(moduleUrl)
        ? moduleUrl
        : pathToFileURL(resolve(moduleUrl)).href;
  const { pool: given, transfer, ...taskOptions } = checked;
  const pool = given ?? new WorkerPool();
  const runOnThread = function (this: TaskContext, ...args: unknown[]) {
    const transferList = transfer?.(...(args as never[]));
    return pool.run(url, exportName, args, this.signal, transferList);
  };
  Object.defineProperty(runOnThread, 'name', { value: exportName });
  const workerBound = task(runOnThread, { name: exportName, concurrencyLimit: pool.limit, ...taskOptions });
  const close = () => (given === undefined ? pool.close() : Promise.resolve());
  return Object.assign(workerBound, { close, [Symbol.asyncDispose]: close }) as unknown as WorkerTask<A, R>;
}
