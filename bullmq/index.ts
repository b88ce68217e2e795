import { type ConnectionOptions, Queue, QueueEvents, Worker } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { RunContext } from '../src/context.js';
import { outputToPromise } from '../src/dispatch.js';
import type { Runner } from '../src/runners/runner.js';
import { definitionOf, type TaskDefinition } from '../src/task-definition.js';
import { assertPositiveInteger, describe } from '../src/validate.js';

/**
 * What crosses the wire, as JSON. A job's data is `{ v: 1, task, args }`; its return value is `{ v: 1, ok: true,
 * value }` or `{ v: 1, ok: false, error: { name, message, stack, cause } }`.
 *
 * @example
 * ```ts
 * import type { JobEnvelope } from 'rxtask/bullmq';
 *
 * const job: JobEnvelope = { v: 1, task: 'resize', args: ['cat.png', 64] };
 * console.log(JSON.stringify(job)); // what a job's data holds
 * ```
 */
export interface JobEnvelope {
  readonly v: 1;
  readonly task: string;
  readonly args: unknown[];
}

/**
 * The outcome of a job, as the worker returns it.
 *
 * @example
 * ```ts
 * import type { OutcomeEnvelope } from 'rxtask/bullmq';
 *
 * const outcomes: OutcomeEnvelope[] = [
 *   { v: 1, ok: true, value: { bytes: 1024 } },
 *   { v: 1, ok: false, error: { name: 'RangeError', message: 'too big' } },
 * ];
 * console.log(outcomes.length); // 2
 * ```
 */
export type OutcomeEnvelope =
  | { readonly v: 1; readonly ok: true; readonly value: unknown }
  | { readonly v: 1; readonly ok: false; readonly error: EncodedError };

/**
 * An error as JSON.
 *
 * @example
 * ```ts
 * import type { EncodedError } from 'rxtask/bullmq';
 *
 * const error: EncodedError = { name: 'TypeError', message: 'bad input', cause: { field: 'size' } };
 * console.log(error.name); // 'TypeError'
 * ```
 */
export interface EncodedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly cause?: unknown;
}

/**
 * Where the queue lives.
 *
 * @example
 * ```ts
 * import type { BullmqOptions } from 'rxtask/bullmq';
 *
 * const options: BullmqOptions = { connection: { host: '127.0.0.1', port: 6379 }, queue: 'images' };
 * console.log(options.queue); // 'images'
 * ```
 */
export interface BullmqOptions {
  /** The Redis connection (ioredis options: `{ host, port }`). */
  connection: RedisOptions;
  /** The queue's name. Default `'rxtask'`. */
  queue?: string;
}

/**
 * Options of {@link serve}.
 *
 * @example
 * ```ts
 * import type { ServeOptions } from 'rxtask/bullmq';
 *
 * const options: ServeOptions = { connection: { host: '127.0.0.1', port: 6379 }, concurrency: 8, stalledInterval: 5_000 };
 * console.log(options.concurrency); // 8
 * ```
 */
export interface ServeOptions extends BullmqOptions {
  /** Jobs this worker runs at once. Default `1`. */
  concurrency?: number;
  /** How often to look for jobs whose worker died, in ms (BullMQ's `stalledInterval`). Default `30_000`. */
  stalledInterval?: number;
  /** How long a job's lock lasts without renewal, in ms (BullMQ's `lockDuration`). Default `30_000`. */
  lockDuration?: number;
}

const cancelChannel = (queue: string) => `rxtask:cancel:${queue}`;

/**
 * Runs tasks for `bullmqRunner` callers: a BullMQ worker in this process that finds each job's task by name in
 * `tasks`, calls its function with the job's arguments, and returns the outcome. Start one per process, on as many
 * machines as you like; every one of them imports the same task definitions.
 *
 * @example
 * ```ts
 * // Needs a Redis server, and a tasks.js module of yours.
 * import { serve } from 'rxtask/bullmq';
 * import { resize } from './tasks.js';
 *
 * const server = serve([resize], { connection: { host: '127.0.0.1', port: 6379 }, concurrency: 8 });
 * process.on('SIGTERM', () => server.close());
 * ```
 */
export function serve(tasks: readonly unknown[], options: ServeOptions): { worker: Worker; close(): Promise<void> } {
  if (!Array.isArray(tasks)) throw new TypeError(`serve: \`tasks\` must be an array of tasks, got ${describe(tasks)}`);
  const registry = new Map<string, TaskDefinition>();
  tasks.forEach((candidate, position) => {
    const definition = definitionOf(candidate);
    if (definition === undefined)
      throw new TypeError(`serve: tasks[${position}] is not a task, got ${describe(candidate)}`);
    registry.set(definition.name, definition);
  });
  checkConnection('serve', options);
  assertPositiveInteger('serve', 'concurrency', options.concurrency, false);
  const queue = options.queue ?? 'rxtask';
  const worker = new Worker<JobEnvelope, OutcomeEnvelope>(
    queue,
    async (job, _token, signal) => {
      const definition = registry.get(job.data.task);
      if (definition === undefined) {
        return { v: 1, ok: false, error: encodeError(new Error(`no task named '${job.data.task}' is served here`)) };
      }
      const context = new RunContext(definition.name, undefined, job.attemptsMade + 1);
      signal?.addEventListener('abort', () => context.abort(signal.reason), { once: true });
      try {
        const output = definition.local.apply(context, job.data.args);
        const value = await outputToPromise(output);
        return { v: 1, ok: true, value };
      } catch (error) {
        return { v: 1, ok: false, error: encodeError(error) };
      }
    },
    {
      connection: options.connection as ConnectionOptions,
      concurrency: options.concurrency ?? 1,
      stalledInterval: options.stalledInterval,
      lockDuration: options.lockDuration,
    },
  );
  // A caller that cancels a running job says so on a channel; this worker aborts the job if it runs it.
  const subscriber = new Redis(options.connection);
  subscriber.subscribe(cancelChannel(queue)).catch(() => {});
  subscriber.on('message', (_channel, jobId: string) => worker.cancelJob(jobId, 'cancelled by the caller'));
  return {
    worker,
    async close() {
      await worker.close();
      subscriber.disconnect();
    },
  };
}

type Pending = { resolve(value: unknown): void; reject(error: unknown): void };

/**
 * A `runner` that runs a task's attempts on BullMQ workers (see {@link serve}) instead of in this process. Give it
 * as the `runner` option of a task, a map or a submit. Each attempt is one job, enqueued only when the map has a free
 * slot, so the concurrency cap and window hold across the wire; retry, timeout and rate limit apply as in-process.
 * Cancelling an attempt removes its job if it still waits, and signals the worker running it otherwise.
 *
 * Arguments and values cross as JSON: `null`, booleans, finite numbers, strings, arrays and plain objects. Anything
 * else (a function, a class instance, `undefined`, `NaN`, a BigInt, a cycle) fails the attempt with a TypeError
 * naming where it is, before anything is sent.
 *
 * @example
 * ```ts
 * // Needs a Redis server, workers serving `resize`, and a tasks.js module of yours.
 * import { bullmqRunner } from 'rxtask/bullmq';
 * import { resize } from './tasks.js';
 *
 * const runner = bullmqRunner({ connection: { host: '127.0.0.1', port: 6379 } });
 * const thumbnails = await resize.map(imageUrls, { runner, concurrency: 32 });
 * await runner.close();
 * ```
 */
export function bullmqRunner(options: BullmqOptions): Runner & { close(): Promise<void> } {
  checkConnection('bullmqRunner', options);
  return new BullmqRunner(options);
}

class BullmqRunner implements Runner {
  private readonly name: string;
  private readonly queue: Queue<JobEnvelope, OutcomeEnvelope>;
  private readonly events: QueueEvents;
  private readonly publisher: Redis;
  private readonly pending = new Map<string, Pending>();
  private readonly ready: Promise<unknown>;

  constructor(options: BullmqOptions) {
    this.name = options.queue ?? 'rxtask';
    const connection = options.connection as ConnectionOptions;
    this.queue = new Queue(this.name, { connection });
    // Read the event stream from its start: a job that completes before the first blocking read is not missed.
    this.events = new QueueEvents(this.name, { connection, lastEventId: '0-0' });
    this.publisher = new Redis(options.connection);
    this.events.on('completed', ({ jobId, returnvalue }) => this.settle(jobId, parseOutcome(returnvalue)));
    this.events.on('failed', ({ jobId, failedReason }) =>
      this.settle(jobId, { v: 1, ok: false, error: { name: 'Error', message: failedReason } }),
    );
    this.ready = this.events.waitUntilReady();
    this.ready.catch(() => {});
  }

  async run(task: string, args: unknown[], signal: AbortSignal): Promise<unknown> {
    assertJson(args, 'arguments');
    await this.ready;
    signal.throwIfAborted();
    const job = await this.queue.add(task, { v: 1, task, args }, { removeOnComplete: true, removeOnFail: true });
    const jobId = job.id as string;
    return new Promise((resolve, reject) => {
      this.pending.set(jobId, { resolve, reject });
      const onAbort = () => {
        this.pending.delete(jobId);
        reject(signal.reason);
        // A job still waiting is removed; one that runs is locked, so its worker is told to abort it.
        job.remove().catch(() => this.publisher.publish(cancelChannel(this.name), jobId).catch(() => {}));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async close(): Promise<void> {
    for (const [, pending] of this.pending) pending.reject(new Error('bullmqRunner: closed'));
    this.pending.clear();
    await Promise.all([this.events.close(), this.queue.close()]);
    this.publisher.disconnect();
  }

  private settle(jobId: string, outcome: OutcomeEnvelope): void {
    const pending = this.pending.get(jobId);
    if (pending === undefined) return;
    this.pending.delete(jobId);
    if (outcome.ok) pending.resolve(outcome.value);
    else pending.reject(decodeError(outcome.error));
  }
}

function parseOutcome(returnvalue: unknown): OutcomeEnvelope {
  const parsed = typeof returnvalue === 'string' ? (JSON.parse(returnvalue) as unknown) : returnvalue;
  return parsed as OutcomeEnvelope;
}

function checkConnection(where: string, options: BullmqOptions): void {
  if (
    options === null ||
    typeof options !== 'object' ||
    typeof options.connection !== 'object' ||
    options.connection === null
  ) {
    throw new TypeError(`${where}: \`connection\` (Redis options such as { host, port }) is required`);
  }
  if (options.queue !== undefined && typeof options.queue !== 'string') {
    throw new TypeError(`${where}: \`queue\` must be a string, got ${describe(options.queue)}`);
  }
}

/** Throws a TypeError naming the first part of `value` that JSON cannot carry faithfully. */
function assertJson(value: unknown, path: string, seen: Set<unknown> = new Set()): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`bullmqRunner: ${path} is ${value}, which JSON cannot carry`);
    return;
  }
  if (typeof value !== 'object')
    throw new TypeError(`bullmqRunner: ${path} is ${describe(value)}, which JSON cannot carry`);
  if (seen.has(value)) throw new TypeError(`bullmqRunner: ${path} refers back to itself, which JSON cannot carry`);
  seen.add(value);
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) assertJson(item, `${path}[${index}]`, seen);
  } else {
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      throw new TypeError(`bullmqRunner: ${path} is ${describe(value)}, which JSON cannot carry (use plain objects)`);
    }
    for (const [key, inner] of Object.entries(value)) assertJson(inner, `${path}.${key}`, seen);
  }
  seen.delete(value);
}

function encodeError(error: unknown): EncodedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const cause = error.cause instanceof Error ? encodeError(error.cause) : safeJson(error.cause);
  return { name: error.name, message: error.message, stack: error.stack, ...(cause === undefined ? {} : { cause }) };
}

function safeJson(value: unknown): unknown {
  try {
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  } catch {
    return String(value);
  }
}

function decodeError(encoded: EncodedError): Error {
  const cause =
    encoded.cause !== null && typeof encoded.cause === 'object' && 'message' in (encoded.cause as object)
      ? decodeError(encoded.cause as EncodedError)
      : encoded.cause;
  const error = new Error(encoded.message, cause === undefined ? undefined : { cause });
  Object.defineProperty(error, 'name', { value: encoded.name, configurable: true, writable: true });
  if (encoded.stack !== undefined) error.stack = encoded.stack;
  return error;
}
