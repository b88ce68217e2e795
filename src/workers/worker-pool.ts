import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import { decodeError, isEncodedError } from '../error-codec.js';
import { piscina as piscinaPackage } from '../peers/piscina.js';
import { ConcurrencyLimit } from '../policies/concurrency-limit.js';
import { assertOptions, assertPositiveInteger, describe } from '../validate.js';

/**
 * Options of a {@link WorkerPool}.
 *
 * @example
 * ```ts
 * import { WorkerPool, type WorkerPoolOptions } from 'rxtask/worker';
 *
 * const options: WorkerPoolOptions = { threads: 2 };
 * const pool = new WorkerPool(options);
 * console.log(pool.limit.limit); // 2
 * await pool.close();
 * ```
 */
export interface WorkerPoolOptions {
  /** Threads in the pool. Default: the machine's cores (`os.availableParallelism()`). */
  threads?: number;
  /** A Piscina of your own to run on (its `maxThreads` is the thread count); rxtask does not close it. */
  piscina?: Piscina;
}

/**
 * Worker threads for CPU-bound tasks, on Piscina. The threads start on the first task, not before. Each thread runs
 * one task at a time and the pool queues nothing: its `limit` (one permit per thread) makes rxtask's own queue the
 * only place where work waits, so cancelling a waiting task is free. Close it with `close()` or `await using`.
 *
 * @example
 * ```ts
 * import { WorkerPool, workerTask } from 'rxtask/worker';
 *
 * const pool = new WorkerPool({ threads: 2 });
 * const hash = workerTask(new URL('./hash.js', import.meta.url), 'hash', { pool });
 * // … await hash.map(files) …
 * await pool.close();
 * ```
 */
export class WorkerPool {
  /** One permit per thread: the `concurrencyLimit` of every task that runs here. */
  readonly limit: ConcurrencyLimit;
  private piscina: Piscina | undefined;
  private readonly owned: boolean;
  private readonly threads: number;
  private closed = false;

  constructor(options: WorkerPoolOptions = {}) {
    assertOptions('WorkerPool', options, ['threads', 'piscina']);
    assertPositiveInteger('WorkerPool', 'threads', options.threads, false);
    if (options.piscina !== undefined && !(options.piscina instanceof piscinaPackage.Piscina)) {
      throw new TypeError(`WorkerPool: \`piscina\` must be a Piscina instance, got ${describe(options.piscina)}`);
    }
    this.piscina = options.piscina;
    this.owned = options.piscina === undefined;
    this.threads = options.piscina?.maxThreads ?? options.threads ?? availableParallelism();
    this.limit = new ConcurrencyLimit(this.threads);
  }

  /** True once the pool's threads have been asked for. */
  get started(): boolean {
    return this.piscina !== undefined;
  }

  /** Runs `name` exported by the module at `url` with `args` on a thread. Aborting `signal` dequeues or terminates it. @internal */
  async run(
    url: string,
    name: string,
    args: unknown[],
    signal: AbortSignal,
    transferList?: Transferable[],
  ): Promise<unknown> {
    if (this.closed) throw new Error('WorkerPool: the pool is closed');
    this.piscina ??= new piscinaPackage.Piscina({
      filename: new URL('./worker-entry.mjs', import.meta.url).href,
      maxThreads: this.threads,
      minThreads: 0,
      idleTimeout: 1_000,
    });
    const result = await this.piscina.run(
      { url, name, args },
      { signal, transferList: transferList as never, filename: new URL('./worker-entry.mjs', import.meta.url).href },
    );
    if (isEncodedError(result)) {
      throw decodeError(result);
    }
    return result;
  }

  /** Stops the threads once their tasks are done (a pool given a Piscina of yours leaves it running). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.owned) await this.piscina?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
