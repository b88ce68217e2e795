import { randomUUID } from 'node:crypto';
import type { ConnectionOptions, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { NonRetryableError } from '../src/errors.js';
import { bullmq } from '../src/peers/bullmq.js';
import { ioredis } from '../src/peers/ioredis.js';
import type { Runner, RunnerContext } from '../src/runners/runner.js';
import { assertOptions } from '../src/validate.js';
import { assertJson, type JobEnvelope, type OutcomeEnvelope, readOutcome } from './envelope.js';
import { assertMs, type BullmqOptions, checkConnection, QueueKeys } from './keys.js';

/**
 * Options of {@link bullmqRunner}. Only `connection` is needed.
 *
 * @example
 * ```ts
 * import type { BullmqRunnerOptions } from 'rxtask/bullmq';
 *
 * const options: BullmqRunnerOptions = {
 *   connection: { host: 'redis.internal', port: 6380, password: process.env.REDIS_PASSWORD, tls: {} },
 *   jobOptions: { priority: 5 },
 *   noWorkerTimeout: 10_000,
 * };
 * console.log(options.jobOptions?.priority); // 5
 * ```
 */
export interface BullmqRunnerOptions extends BullmqOptions {
  /** BullMQ job options for every job: `priority` (1 is highest) and `lifo`. */
  jobOptions?: { priority?: number; lifo?: boolean };
  /** How long a finished job (and its outcome) stays in Redis, in ms, for a caller that missed its event. Default 1 hour. */
  keepResultsFor?: number;
  /** How long a failed job stays in Redis for inspection, in ms. Default 7 days. */
  keepFailedFor?: number;
  /** How long a job waits for a worker serving its task before its item fails, in ms. Default `30_000`. */
  noWorkerTimeout?: number;
}

const RUNNER_OPTIONS = [
  'connection',
  'queue',
  'prefix',
  'jobOptions',
  'keepResultsFor',
  'keepFailedFor',
  'noWorkerTimeout',
];
/** A caller's lease on its jobs; renewed at a third of it. Workers skip jobs whose caller's lease has lapsed. */
const LEASE_MS = 30_000;
/** How often jobs that may have missed their event are looked up (a stalled caller, a Redis restart). */
const RECONCILE_MS = 2_000;
/** How long a worker's announcement that it serves a task is trusted before it is read again. */
const SERVED_CHECK_MS = 1_000;

/**
 * A `runner` that runs a task's attempts on BullMQ workers (see {@link serve}) instead of in this process. Give it
 * as the `runner` option of a task, a map or a submit. Each attempt is one job, enqueued only when the map has a free
 * slot, so the concurrency cap and window hold across the wire; retry, timeout and rate limit apply as in-process.
 *
 * Guarantees: every item gets exactly one outcome. A job runs at least once (a worker that dies mid-job has it run
 * again elsewhere); its result is taken once. Each job gets an id chosen here before it is sent, so an event can never
 * come before its job is known and a restarted Redis can never hand back another caller's value. Outcomes stay with
 * their jobs for `keepResultsFor`: a caller that missed events (a stalled event loop, a reconnect) looks its pending
 * jobs up every 2 s; a job that vanished (Redis restarted without persistence) fails its item clearly. Cancelling
 * an attempt removes its job if it waits, marks it so no worker starts it, and aborts it where it runs; `close()`
 * does that for every pending job. A caller that dies stops renewing its lease, and its remaining jobs are skipped.
 *
 * Arguments and values cross as JSON: `null`, booleans, finite numbers, strings, arrays and plain objects. Anything
 * else (a function, a class instance such as a `Date`, `undefined` inside, `NaN`, a BigInt, a cycle) fails the attempt
 * at once with a `NonRetryableError` naming where it is, in either direction.
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
export function bullmqRunner(options: BullmqRunnerOptions): Runner & { close(): Promise<void> } {
  checkConnection('bullmqRunner', options);
  assertOptions('bullmqRunner', options, RUNNER_OPTIONS);
  for (const option of ['keepResultsFor', 'keepFailedFor', 'noWorkerTimeout'] as const) {
    assertMs('bullmqRunner', option, options[option]);
  }
  assertOptions('bullmqRunner', options.jobOptions, ['priority', 'lifo']);
  return new BullmqRunner(options);
}

/** One job this caller waits for. */
class PendingJob {
  /** When `add` returned: from then on, a job missing from Redis has vanished. */
  addedAt: number | undefined = undefined;

  constructor(
    readonly id: string,
    readonly queue: TaskQueue,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

/** A task's queue, seen from the caller: where its jobs go and where their outcomes come back. */
class TaskQueue {
  readonly queue: Queue<JobEnvelope, OutcomeEnvelope>;
  readonly events: QueueEvents;
  readonly ready: Promise<unknown>;
  servedUntil = 0;
  serving: Promise<void> | undefined = undefined;

  constructor(
    readonly task: string,
    name: string,
    connection: ConnectionOptions,
    prefix: string,
  ) {
    this.queue = new bullmq.Queue(name, { connection, prefix });
    // From the stream's start: reconciliation covers anything older that was trimmed.
    this.events = new bullmq.QueueEvents(name, { connection, prefix, lastEventId: '0-0' });
    this.queue.on('error', noop);
    this.events.on('error', noop);
    this.ready = this.events.waitUntilReady();
    this.ready.catch(noop);
  }

  close(): Promise<unknown> {
    return Promise.allSettled([this.events.close(), this.queue.close()]);
  }
}

class BullmqRunner implements Runner {
  private readonly keys: QueueKeys;
  private readonly caller = randomUUID();
  private jobCount = 0;
  private readonly connection: ConnectionOptions;
  private readonly redis: Redis;
  private readonly queues = new Map<string, TaskQueue>();
  private readonly pending = new Map<string, PendingJob>();
  private readonly jobOptions: { priority?: number; lifo?: boolean };
  private readonly keepResultsFor: number;
  private readonly keepFailedFor: number;
  private readonly noWorkerTimeout: number;
  private readonly leased: Promise<unknown>;
  private readonly leaseTimer: ReturnType<typeof setInterval>;
  private readonly reconcileTimer: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(options: BullmqRunnerOptions) {
    this.keys = new QueueKeys(options);
    this.connection = options.connection as ConnectionOptions;
    this.redis = new ioredis.Redis(options.connection);
    this.redis.on('error', noop);
    // Redis came back (maybe empty, after a restart without persistence): the lease must be there at once.
    this.redis.on('ready', () => this.renewLease().catch(noop));
    this.jobOptions = options.jobOptions ?? {};
    this.keepResultsFor = options.keepResultsFor ?? 3_600_000;
    this.keepFailedFor = options.keepFailedFor ?? 7 * 24 * 3_600_000;
    this.noWorkerTimeout = options.noWorkerTimeout ?? 30_000;
    this.leased = this.renewLease();
    this.leased.catch(noop);
    this.leaseTimer = setInterval(() => this.renewLease().catch(noop), LEASE_MS / 3);
    this.reconcileTimer = setInterval(() => this.reconcile(), RECONCILE_MS);
    // Only pending work keeps a process alive, and that through its connections.
    this.leaseTimer.unref();
    this.reconcileTimer.unref();
  }

  async run(task: string, args: unknown[], signal: AbortSignal, context?: RunnerContext): Promise<unknown> {
    if (this.closed) throw closedError();
    assertJson('bullmqRunner', args, 'arguments');
    signal.throwIfAborted();
    const queue = this.queueOf(task);
    await Promise.all([queue.ready, this.leased, this.served(queue, signal)]);
    signal.throwIfAborted();
    if (this.closed) throw closedError();
    const id = `${this.caller}-${(this.jobCount++).toString(36)}`;
    const envelope: JobEnvelope = {
      v: 1,
      task,
      args,
      attempt: context?.attempt ?? 1,
      index: context?.index ?? null,
      caller: this.caller,
    };
    return new Promise((resolve, reject) => {
      const onAbort = () => this.cancel(job, signal.reason);
      const job = new PendingJob(
        id,
        queue,
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
      // Known before it is sent: its completion can never arrive first.
      this.pending.set(id, job);
      signal.addEventListener('abort', onAbort, { once: true });
      queue.queue
        .add(task, envelope, {
          ...this.jobOptions,
          jobId: id,
          removeOnComplete: { age: Math.ceil(this.keepResultsFor / 1000) },
          removeOnFail: { age: Math.ceil(this.keepFailedFor / 1000) },
        })
        .then(
          () => {
            const current = this.pending.get(id);
            if (current !== undefined) current.addedAt = Date.now();
          },
          (error: unknown) => this.settle(id, { ok: false, error }),
        );
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.leaseTimer);
    clearInterval(this.reconcileTimer);
    const cancels = [...this.pending.values()].map((job) =>
      this.cancel(job, new NonRetryableError('bullmqRunner: the runner was closed while this job was pending')),
    );
    await Promise.allSettled(cancels);
    await Promise.allSettled([...this.queues.values()].map((queue) => queue.close()));
    await this.redis.del(this.keys.lease(this.caller)).catch(noop);
    this.redis.disconnect();
  }

  private queueOf(task: string): TaskQueue {
    let queue = this.queues.get(task);
    if (queue === undefined) {
      queue = new TaskQueue(task, this.keys.taskQueue(task), this.connection, this.keys.prefix);
      queue.events.on('completed', ({ jobId, returnvalue }) => this.settle(jobId, readOutcome(jobId, returnvalue)));
      queue.events.on('failed', ({ jobId, failedReason }) =>
        this.settle(jobId, { ok: false, error: new Error(failedReason) }),
      );
      this.queues.set(task, queue);
    }
    return queue;
  }

  private settle(jobId: string, outcome: { ok: true; value: unknown } | { ok: false; error: unknown }): void {
    const job = this.pending.get(jobId);
    if (job === undefined) return;
    this.pending.delete(jobId);
    if (outcome.ok) job.resolve(outcome.value);
    else job.reject(outcome.error);
  }

  /** The item is given up now; its job is removed if it waits, marked so no worker starts it, and aborted if it runs. */
  private async cancel(job: PendingJob, reason: unknown): Promise<void> {
    if (this.pending.get(job.id) === undefined) return;
    this.pending.delete(job.id);
    job.reject(reason);
    try {
      await this.redis.set(this.keys.cancelled(job.id), '1', 'PX', this.keepResultsFor);
      await job.queue.queue.remove(job.id).catch(noop);
      await this.redis.publish(this.keys.cancelChannel, job.id);
    } catch {
      // Redis is away: the lease lapses and workers skip the job all the same.
    }
  }

  private renewLease(): Promise<unknown> {
    return this.redis.set(this.keys.lease(this.caller), '1', 'PX', LEASE_MS);
  }

  /** Waits until some worker serves the task, or fails the attempt after `noWorkerTimeout`. */
  private served(queue: TaskQueue, signal: AbortSignal): Promise<void> {
    if (Date.now() < queue.servedUntil) return Promise.resolve();
    queue.serving ??= (async () => {
      const giveUpAt = Date.now() + this.noWorkerTimeout;
      try {
        for (;;) {
          // While Redis is away (a restart), keep asking until it is back or the time is up.
          const served = await this.redis.exists(this.keys.served(queue.task)).catch(() => 0);
          if (served === 1) {
            queue.servedUntil = Date.now() + SERVED_CHECK_MS;
            return;
          }
          if (this.closed) throw closedError();
          if (Date.now() >= giveUpAt) {
            throw new NonRetryableError(
              `bullmqRunner: no worker has served the task '${queue.task}' on queue '${this.keys.queue}' within ` +
                `${this.noWorkerTimeout} ms; start one with serve([${queue.task}], { connection })`,
            );
          }
          await new Promise((wake) => setTimeout(wake, 200));
        }
      } finally {
        queue.serving = undefined;
      }
    })();
    const serving = queue.serving;
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      serving.then(
        () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  /** Looks up the jobs whose events may have been missed: a finished one settles, a vanished one fails clearly. */
  private reconcile(): void {
    const due = Date.now() - RECONCILE_MS;
    for (const job of this.pending.values()) {
      if (job.addedAt === undefined || job.addedAt > due) continue;
      bullmq.Job.fromId<JobEnvelope, OutcomeEnvelope>(job.queue.queue, job.id).then(
        (found) => {
          if (found === undefined) {
            this.settle(job.id, {
              ok: false,
              error: new Error(
                `bullmqRunner: job ${job.id} of '${job.queue.task}' vanished from Redis (was it restarted without persistence?)`,
              ),
            });
          } else if (found.finishedOn !== undefined && found.failedReason) {
            this.settle(job.id, { ok: false, error: new Error(found.failedReason) });
          } else if (found.finishedOn !== undefined) {
            this.settle(job.id, readOutcome(job.id, found.returnvalue));
          }
        },
        noop, // Redis is away: the next round tries again.
      );
    }
  }
}

/** Retrying cannot help a closed runner: it is not retried. */
function closedError(): NonRetryableError {
  return new NonRetryableError('bullmqRunner: the runner is closed');
}

function noop(): void {}
