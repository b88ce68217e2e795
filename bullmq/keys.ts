import type { RedisOptions } from 'ioredis';
import { describe } from '../src/validate.js';

/**
 * Where the queue lives.
 *
 * @example
 * ```ts
 * import type { BullmqOptions } from 'rxtask/bullmq';
 *
 * const options: BullmqOptions = { connection: { host: '127.0.0.1', port: 6379, password: 's3cret' }, queue: 'images' };
 * console.log(options.queue); // 'images'
 * ```
 */
export interface BullmqOptions {
  /** The Redis connection: ioredis's options, whole (`host`, `port`, `password`, `tls`, …). */
  connection: RedisOptions;
  /** The queue's name; each task gets a queue of its own under it. Default `'rxtask'`. */
  queue?: string;
  /** BullMQ's key prefix. Default `'bull'`. */
  prefix?: string;
}

/** The names rxtask uses in Redis for a queue, beside BullMQ's own keys and under its prefix. @internal */
export class QueueKeys {
  readonly queue: string;
  readonly prefix: string;
  /** Where callers announce cancellations to workers that run the job now. */
  readonly cancelChannel: string;

  constructor(options: BullmqOptions) {
    this.queue = options.queue ?? 'rxtask';
    this.prefix = options.prefix ?? 'bull';
    this.cancelChannel = `${this.prefix}:${this.queue}:rxtask:cancel`;
  }

  /** Each task has a queue of its own, so its jobs reach only workers that serve it (BullMQ forbids `:`). */
  taskQueue(task: string): string {
    return `${this.queue}.${encodeURIComponent(task)}`;
  }

  /** Set by a caller that cancelled the job; a worker checks it before it starts the job. */
  cancelled(jobId: string): string {
    return `${this.prefix}:${this.queue}:rxtask:cancelled:${jobId}`;
  }

  /** Renewed by a live caller; a worker skips jobs whose caller's lease has lapsed. */
  lease(caller: string): string {
    return `${this.prefix}:${this.queue}:rxtask:lease:${caller}`;
  }

  /** Renewed by each worker that serves the task. */
  served(task: string): string {
    return `${this.prefix}:${this.queue}:rxtask:served:${encodeURIComponent(task)}`;
  }
}

/** Checks the options every entry point shares. @internal */
export function checkConnection(where: string, options: BullmqOptions): void {
  if (
    options === null ||
    typeof options !== 'object' ||
    typeof options.connection !== 'object' ||
    options.connection === null
  ) {
    throw new TypeError(`${where}: \`connection\` (ioredis options such as { host, port }) is required`);
  }
  for (const name of ['queue', 'prefix'] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== 'string' || value === '' || value.includes(':'))) {
      throw new TypeError(`${where}: \`${name}\` must be a non-empty string without ':', got ${describe(value)}`);
    }
  }
}

/** Checks a duration option in ms. @internal */
export function assertMs(where: string, option: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`${where}: \`${option}\` must be a positive number of ms, got ${describe(value)}`);
  }
}
