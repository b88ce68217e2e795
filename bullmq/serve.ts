import type { ConnectionOptions, Job, Worker } from 'bullmq';
import { RunContext } from '../src/context.js';
import { outputToPromise } from '../src/dispatch.js';
import { cancellationReason } from '../src/errors.js';
import { bullmq } from '../src/peers/bullmq.js';
import { ioredis } from '../src/peers/ioredis.js';
import { definitionOf, type TaskDefinition } from '../src/task-definition.js';
import { assertOptions, assertPositiveInteger, describe } from '../src/validate.js';
import { CallerWatch } from './caller-watch.js';
import { assertJson, failedOutcome, type JobEnvelope, type OutcomeEnvelope, readJob } from './envelope.js';
import { assertMs, type BullmqOptions, checkConnection, QueueKeys } from './keys.js';

/**
 * Options of {@link serve}. Only `connection` is needed; the rest have BullMQ's defaults.
 *
 * @example
 * ```ts
 * import type { ServeOptions } from 'rxtask/bullmq';
 *
 * const options: ServeOptions = { connection: { host: '127.0.0.1', port: 6379 }, concurrency: 8 };
 * console.log(options.concurrency); // 8
 * ```
 */
export interface ServeOptions extends BullmqOptions {
  /** Jobs of each task this process runs at once. Default `1`. */
  concurrency?: number;
  /** How often to look for jobs whose worker died, in ms (BullMQ's `stalledInterval`). Default BullMQ's, `30_000`. */
  stalledInterval?: number;
  /** How long a job's lock lasts without renewal, in ms (BullMQ's `lockDuration`). Default BullMQ's, `30_000`. */
  lockDuration?: number;
}

/**
 * What {@link serve} returns: its BullMQ workers (one per task), and how to wait until they listen and to stop them.
 *
 * @example
 * ```ts
 * import type { Server } from 'rxtask/bullmq';
 *
 * async function stop(server: Server) {
 *   await server.close(); // lets running jobs finish, then closes every connection
 * }
 * console.log(typeof stop); // 'function'
 * ```
 */
export interface Server {
  readonly workers: readonly Worker[];
  /** Resolves once every worker is connected and taking jobs. */
  ready(): Promise<void>;
  /** Stops taking jobs, lets running ones finish (for up to 10 s), and closes every connection. */
  close(): Promise<void>;
}

/** How long `close()` waits for running jobs before it closes the workers regardless. */
const CLOSE_GRACE_MS = 10_000;
/** A worker announces each task it serves this often, and the announcement lasts three times as long. */
const HEARTBEAT_MS = 5_000;

/**
 * Runs tasks for `bullmqRunner` callers: in this process, one BullMQ worker per task, each taking only that task's jobs
 * (so a task served by some workers only never reaches the others). Each job's function gets the same context as it
 * would in-process (`this.attempt`, `this.index`, `this.signal`), and a job its caller cancelled or abandoned before
 * it started is not run. Start one per process, on as many machines as you like, each importing the same tasks.
 *
 * Every task needs an explicit, unique name (`task(fn, { name })`): the name is how callers reach it.
 *
 * @throws TypeError for a task without a name, two tasks of one name, or bad options; nothing is opened then.
 *
 * @example
 * ```ts
 * // Needs a Redis server, and a tasks.js module of yours.
 * import { serve } from 'rxtask/bullmq';
 * import { resize } from './tasks.js';
 *
 * const server = serve([resize], { connection: { host: '127.0.0.1', port: 6379 } });
 * process.on('SIGTERM', () => server.close());
 * ```
 */
export function serve(tasks: readonly unknown[], options: ServeOptions): Server {
  const definitions = checkTasks(tasks);
  checkConnection('serve', options);
  assertOptions('serve', options, ['connection', 'queue', 'prefix', 'concurrency', 'stalledInterval', 'lockDuration']);
  assertPositiveInteger('serve', 'concurrency', options.concurrency, false);
  assertMs('serve', 'stalledInterval', options.stalledInterval);
  assertMs('serve', 'lockDuration', options.lockDuration);
  const keys = new QueueKeys(options);
  // Checks of jobs starting together go in one round trip.
  const redis = new ioredis.Redis({ ...options.connection, enableAutoPipelining: true });
  const subscriber = new ioredis.Redis(options.connection);
  // Outages are retried by ioredis; a connection without an error listener would crash the process.
  redis.on('error', noop);
  subscriber.on('error', noop);
  const watch = new CallerWatch(redis, subscriber, keys);
  const synced = watch.sync().catch(noop);

  const workerOptions = {
    connection: options.connection as ConnectionOptions,
    concurrency: options.concurrency ?? 1,
    prefix: keys.prefix,
    // Only what was given: an option set to undefined would override BullMQ's default.
    ...(options.stalledInterval === undefined ? {} : { stalledInterval: options.stalledInterval }),
    ...(options.lockDuration === undefined ? {} : { lockDuration: options.lockDuration }),
  };
  const workers = definitions.map((definition) => {
    const worker = new bullmq.Worker<JobEnvelope, OutcomeEnvelope>(
      keys.taskQueue(definition.name),
      (job) => runJob(definition, job, watch),
      workerOptions,
    );
    worker.on('error', noop);
    return worker;
  });

  const announce = () => {
    const pipeline = redis.pipeline();
    for (const definition of definitions) pipeline.set(keys.served(definition.name), '1', 'PX', 3 * HEARTBEAT_MS);
    pipeline.exec().catch(noop);
  };
  announce();
  const heartbeat = setInterval(announce, HEARTBEAT_MS);
  heartbeat.unref();

  return {
    workers,
    async ready() {
      await Promise.all([synced, ...workers.map((worker) => worker.waitUntilReady())]);
    },
    async close() {
      clearInterval(heartbeat);
      // Running jobs get a grace period to finish; after it (or if Redis is away) the workers close regardless, and
      // BullMQ hands their jobs to another worker once their locks lapse.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise((expired) => {
        timer = setTimeout(expired, CLOSE_GRACE_MS);
      });
      await Promise.race([Promise.allSettled(workers.map((worker) => worker.close())), grace]);
      clearTimeout(timer);
      await Promise.allSettled(workers.map((worker) => worker.close(true)));
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}

function checkTasks(tasks: readonly unknown[]): TaskDefinition[] {
  if (!Array.isArray(tasks)) throw new TypeError(`serve: \`tasks\` must be an array of tasks, got ${describe(tasks)}`);
  const byName = new Map<string, TaskDefinition>();
  tasks.forEach((candidate, position) => {
    const definition = definitionOf(candidate);
    if (definition === undefined) {
      throw new TypeError(`serve: tasks[${position}] is not a task, got ${describe(candidate)}`);
    }
    if (definition.options.name === undefined) {
      throw new TypeError(
        `serve: tasks[${position}] has no name; a served task needs one, as callers reach it by name: task(fn, { name: '…' })`,
      );
    }
    if (byName.has(definition.name)) {
      throw new TypeError(`serve: two tasks are named '${definition.name}'; each served task needs a name of its own`);
    }
    byName.set(definition.name, definition);
  });
  return [...byName.values()];
}

/** One job: checked, skipped if its caller cancelled or left, else run in the context the caller's attempt has. */
async function runJob(
  definition: TaskDefinition,
  job: Job<JobEnvelope, OutcomeEnvelope>,
  watch: CallerWatch,
): Promise<OutcomeEnvelope> {
  let envelope: JobEnvelope;
  try {
    envelope = readJob(job.data);
  } catch (error) {
    return failedOutcome(error);
  }
  const jobId = job.id as string;
  const context = new RunContext(definition.name, envelope.index ?? undefined, envelope.attempt);
  // Tracked before the check below, so a cancel heard meanwhile is not missed either.
  const tracked = { context, cancelled: false };
  watch.running.set(jobId, tracked);
  try {
    const verdict = await watch.mayStart(jobId, envelope.caller);
    if (verdict === 'cancelled' || tracked.cancelled) {
      return failedOutcome(cancellationReason('The job was cancelled by its caller before it started'));
    }
    if (verdict === 'gone') return failedOutcome(new Error('The job was skipped: its caller is gone'));
    const value = await outputToPromise(definition.local.apply(context, envelope.args));
    // `undefined` (a task that returns nothing) arrives as `undefined`; anything else must be JSON.
    if (value !== undefined) assertJson('serve', value, 'the return value');
    return { v: 1, ok: true, value };
  } catch (error) {
    return failedOutcome(error);
  } finally {
    watch.running.delete(jobId);
  }
}

function noop(): void {}
