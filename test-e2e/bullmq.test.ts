import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bullmqRunner, serve } from '../bullmq/index.js';
import { QueueKeys } from '../bullmq/keys.js';
import { NonRetryableError, parallelMap, TimeoutError, task } from '../src/index.js';
import { counted, dated, failing, slow, square, started, thirdTime } from './fixtures/remote-tasks.js';
import { freePort, redisAt, startRedis } from './redis-server.js';

/**
 * The BullMQ runner against a real Redis (Debian's redis-server on a free loopback port) and real worker and caller
 * processes, started as the docs show; no mocks.
 */
const root = resolve(__dirname, '..');
const children: ChildProcess[] = [];
let redis: ChildProcess;
let port: number;
const connection = (on = port) => redisAt(on);

function spawnFixture(script: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test-e2e', 'fixtures', script), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return child;
}

function lineFrom(child: ChildProcess, matches: (line: string) => boolean): Promise<string> {
  return new Promise((found, failed) => {
    let buffered = '';
    child.stdout?.on('data', (data: Buffer) => {
      buffered += data.toString();
      const line = buffered.split('\n').find(matches);
      if (line !== undefined) found(line);
    });
    child.on('exit', (code) => failed(new Error(`${child.spawnargs.join(' ')} exited with ${code}`)));
  });
}

/** A worker process serving the fixture tasks (or only `names`) with the documented defaults. */
async function startWorker(queue: string, names?: string[], on = port): Promise<ChildProcess> {
  const child = spawnFixture('bullmq-worker.ts', [String(on), queue, ...(names ? [names.join(',')] : [])]);
  await lineFrom(child, (line) => line === 'ready');
  return child;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

beforeAll(async () => {
  port = await freePort();
  redis = await startRedis(port);
}, 30_000);

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      // A worker gets a few seconds to finish its jobs and close; a test never waits on it for longer.
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await new Promise((exited) => child.once('exit', exited));
      clearTimeout(kill);
    }
  }
});

afterAll(() => {
  redis?.kill('SIGTERM');
});

describe('bullmqRunner and serve, on a real Redis, as the docs show them', () => {
  it('runs ten maps of 1000 items in a row across two workers: every result in its slot, nothing run twice', async () => {
    const queue = 'ten-maps';
    await Promise.all([startWorker(queue), startWorker(queue)]);
    const runner = bullmqRunner({ connection: connection(), queue });
    const recorder = new Redis(connection());
    for (let map = 0; map < 10; map++) {
      const run = `${queue}-${map}`;
      const result = await counted.starmap(
        range(1000).map((x) => [run, x] as [string, number]),
        { runner, concurrency: 64 },
      );
      expect(result.status).toBe('completed');
      expect(result.values()).toEqual(range(1000).map((x) => x * x));
      const executions = (await recorder.lrange(`executions:${run}`, 0, -1)).map(Number).sort((a, b) => a - b);
      expect(executions).toEqual(range(1000));
    }
    recorder.disconnect();
    await runner.close();
  }, 180_000);

  it('a caller that stalls for 5 s while another runs 5000 items on the same queue still gets its results', async () => {
    const queue = 'stalled-caller';
    await Promise.all([startWorker(queue), startWorker(queue)]);
    const caller = spawnFixture('bullmq-caller.ts', [String(port), queue, '10', '5000']);
    const output = lineFrom(caller, (line) => line.startsWith('{'));
    await lineFrom(caller, (line) => line === 'blocking');
    const runner = bullmqRunner({ connection: connection(), queue });
    const busy = await parallelMap(slow, new Array(5000).fill(0), { runner, concurrency: 64 });
    expect(busy.ok).toBe(true);
    const stalled = JSON.parse(await output) as { status: string; values: number[] };
    expect(stalled).toEqual({ status: 'completed', values: range(10).map((i) => 300 + i) });
    await runner.close();
  }, 120_000);

  it('survives Redis killed and restarted without persistence: no wrong value, and it settles soon after', async () => {
    const own = await freePort();
    let server = await startRedis(own);
    const queue = 'restart';
    await Promise.all([startWorker(queue, undefined, own), startWorker(queue, undefined, own)]);
    const runner = bullmqRunner({ connection: connection(own), queue });
    let restartedAt = 0;
    const result = await parallelMap(square, range(400), {
      runner,
      concurrency: 16,
      onProgress: (done) => {
        if (done !== 100) return;
        server.kill('SIGKILL');
        setTimeout(async () => {
          server = await startRedis(own);
          restartedAt = Date.now();
        }, 300);
      },
    });
    const settledAfter = Date.now() - restartedAt;
    expect(restartedAt).toBeGreaterThan(0);
    expect(settledAfter).toBeLessThan(15_000);
    for (const item of result.itemResults()) {
      if (item.ok) expect(item.value.value).toBe(item.index * item.index);
      else expect((item.error as Error).message.length).toBeGreaterThan(0);
    }
    expect(result.successes().length).toBeGreaterThan(100);
    await runner.close();
    server.kill('SIGKILL');
  }, 120_000);

  it('never starts a job its caller cancelled, however close the cancel came to the pickup', async () => {
    const queue = 'cancel-race';
    await startWorker(queue);
    // The worker's check, deterministically: a job cancelled before it starts is skipped even when it is still there.
    const keys = new QueueKeys({ connection: connection(), queue });
    const admin = new Redis(connection());
    const lease = 'a-live-caller';
    await admin.set(keys.lease(lease), '1', 'PX', 60_000);
    // As a caller cancels: the mark, then the announcement; here both come before the worker even fetches the job.
    await admin.set(keys.cancelled('marked-1'), '1', 'PX', 60_000);
    await admin.publish(keys.cancelChannel, 'marked-1');
    const raw = new Queue(keys.taskQueue('started'), { connection: connection() });
    const envelope = { v: 1, task: 'started', args: ['race', 'marked', 0], attempt: 1, index: 0, caller: lease };
    await raw.add('started', envelope, { jobId: 'marked-1' });
    for (let i = 0; i < 100 && (await raw.getJobState('marked-1')) !== 'completed'; i++) {
      await new Promise((wait) => setTimeout(wait, 20));
    }
    expect(await raw.getJobState('marked-1')).toBe('completed');
    expect(await admin.lrange('started:race', 0, -1)).toEqual([]);

    // And racing: a map cancelled while its jobs are being picked up starts nothing afterwards.
    const runner = bullmqRunner({ connection: connection(), queue });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const result = await started.starmap(
      range(100).map((i) => ['race2', String(i), 200] as [string, string, number]),
      { runner, signal: controller.signal, concurrency: 20 },
    );
    expect(result.status).toBe('cancelled');
    await new Promise((wait) => setTimeout(wait, 300));
    const settled = await admin.llen('started:race2');
    await new Promise((wait) => setTimeout(wait, 1_000));
    expect(await admin.llen('started:race2')).toBe(settled);
    await raw.close();
    admin.disconnect();
    await runner.close();
  }, 60_000);

  it('routes a task only to workers that serve it; one nobody serves fails clearly, without retries', async () => {
    const queue = 'routing';
    const [all] = await Promise.all([startWorker(queue), startWorker(queue, ['slow'])]);
    const runner = bullmqRunner({ connection: connection(), queue, noWorkerTimeout: 1_000 });
    const result = await parallelMap(square, range(200), { runner, concurrency: 16 });
    expect(result.ok).toBe(true);
    expect(new Set(result.values().map((v) => v.pid))).toEqual(new Set([all.pid]));
    const ghost = task((x: number) => x, { name: 'ghost', runner, retry: { attempts: 3, backoff: 1 } });
    const lost = await ghost.map([1]);
    const [failure] = lost.failures();
    expect(failure.error).toBeInstanceOf(NonRetryableError);
    expect((failure.error as Error).message).toMatch(/no worker has served the task 'ghost'/);
    expect(failure.attempts).toBe(1);
    await runner.close();
  }, 60_000);

  it('gives the remote task its attempt and index, and brings errors back whole', async () => {
    const queue = 'context';
    await startWorker(queue);
    const runner = bullmqRunner({ connection: connection(), queue });
    const third = await parallelMap(thirdTime, [0, 1], { runner, retry: { attempts: 3, backoff: 5 } });
    expect(third.values()).toEqual([
      { attempt: 3, index: 0 },
      { attempt: 3, index: 1 },
    ]);
    const failed = await parallelMap(failing, ['remote trouble'], { runner });
    const error = failed.failures()[0].error as Error & { code?: string };
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe('remote trouble');
    expect(error.code).toBe('E_REMOTE');
    expect(error.cause).toEqual({ code: 42 });
    const refused = await parallelMap(dated, [0], { runner, retry: { attempts: 3, backoff: 1 } });
    expect(refused.failures()[0].error).toBeInstanceOf(Error);
    expect((refused.failures()[0].error as Error).message).toMatch(/the return value is an object \(Date\)/);
    expect(refused.failures()[0].attempts).toBe(1);
    const timedOut = await parallelMap(slow, [5_000], { runner, timeout: 100 });
    expect(timedOut.failures()[0].error).toBeInstanceOf(TimeoutError);
    await runner.close();
  }, 60_000);

  it('refuses arguments JSON cannot carry before sending anything, and does not retry them', async () => {
    const runner = bullmqRunner({ connection: connection(), queue: 'unsent' });
    const result = await parallelMap(slow, [new Date() as never, Number.NaN as never], {
      runner,
      retry: { attempts: 3, backoff: 1 },
    });
    expect(result.failures().map((f) => [(f.error as Error).message, f.attempts])).toEqual([
      ['bullmqRunner: arguments[0] is an object (Date), which JSON cannot carry (use plain objects)', 1],
      ['bullmqRunner: arguments[0] is NaN, which JSON cannot carry', 1],
    ]);
    expect(() => bullmqRunner({} as never)).toThrow(/`connection`/);
    await runner.close();
  });

  it('loses no item when a worker process is killed mid-run', async () => {
    const queue = 'kill-one';
    const [victim] = await Promise.all([startWorker(queue), startWorker(queue)]);
    const runner = bullmqRunner({ connection: connection(), queue });
    let done = 0;
    const result = await parallelMap(slow, new Array(60).fill(20), {
      runner,
      concurrency: 8,
      retry: { attempts: 3, backoff: 10 },
      onProgress: (finished) => {
        done = finished;
        if (finished === 10) victim.kill('SIGKILL');
      },
    });
    expect(victim.signalCode).toBe('SIGKILL');
    expect(done).toBe(60);
    expect(result.ok).toBe(true);
    await runner.close();
  }, 120_000);

  it('leaves no waiting job behind when a map is cancelled, or when the runner is closed during a map', async () => {
    const queue = 'cancel';
    await startWorker(queue);
    const runner = bullmqRunner({ connection: connection(), queue });
    const subscription = parallelMap(slow, new Array(100).fill(300), { runner, concurrency: 20 }).subscribe();
    await new Promise((wait) => setTimeout(wait, 400));
    subscription.unsubscribe();
    const inspect = new Queue(new QueueKeys({ connection: connection(), queue }).taskQueue('slow'), {
      connection: connection(),
    });
    const drained = async () => {
      let counts = await inspect.getJobCounts('waiting', 'active');
      for (let i = 0; i < 40 && (counts.waiting > 0 || counts.active > 0); i++) {
        await new Promise((wait) => setTimeout(wait, 50));
        counts = await inspect.getJobCounts('waiting', 'active');
      }
      return counts;
    };
    expect(await drained()).toEqual({ waiting: 0, active: 0 });

    const closing = bullmqRunner({ connection: connection(), queue });
    const run = parallelMap(slow, new Array(30).fill(300), { runner: closing, concurrency: 10 }).then((r) => r);
    await new Promise((wait) => setTimeout(wait, 400));
    await closing.close();
    const result = await run;
    expect(result.failures().length).toBeGreaterThan(0);
    expect(result.failures().every((f) => /closed/.test((f.error as Error).message))).toBe(true);
    expect(await drained()).toEqual({ waiting: 0, active: 0 });
    await expect(closing.run('slow', [1], new AbortController().signal)).rejects.toThrow(/closed/);

    // With retry, a closed runner's items are not retried: the map settles at once.
    const retried = bullmqRunner({ connection: connection(), queue });
    const retrying = parallelMap(slow, new Array(200).fill(50), {
      runner: retried,
      concurrency: 10,
      retry: { attempts: 5, backoff: 1_000 },
    }).then((r) => r);
    await new Promise((wait) => setTimeout(wait, 300));
    await retried.close();
    const afterClose = await retrying;
    expect(afterClose.failures().every((f) => f.attempts === 1 && f.error instanceof NonRetryableError)).toBe(true);
    await inspect.close();
    await runner.close();
  }, 60_000);

  it('treats what comes from Redis as data: forged envelopes fail their item, set no prototype', async () => {
    const queue = 'forged';
    const keys = new QueueKeys({ connection: connection(), queue });
    const admin = new Redis(connection());
    await admin.set(keys.served('square'), '1', 'PX', 60_000);
    const forger = new Worker(
      keys.taskQueue('square'),
      async () => JSON.parse('{"v": 1, "ok": false, "error": {"__proto__": {"polluted": true}, "name": 5}}'),
      { connection: { ...connection(), maxRetriesPerRequest: null } },
    );
    const runner = bullmqRunner({ connection: connection(), queue });
    const result = await parallelMap(square, [1], { runner });
    expect(result.failures()[0].error).toBeInstanceOf(Error);
    expect((result.failures()[0].error as Error).message).toMatch(/not an rxtask outcome/);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
    await forger.close();

    // A foreign job in a served task's queue fails alone; the worker goes on serving.
    await startWorker(queue);
    const raw = new Queue(keys.taskQueue('square'), { connection: connection() });
    await raw.add('square', { hello: 'world' } as never);
    const after = await parallelMap(square, [3], { runner });
    expect(after.values()[0].value).toBe(9);
    await raw.close();
    admin.disconnect();
    await runner.close();
  }, 60_000);

  it('serve() with only a connection works, and bad task lists are TypeErrors that open nothing', async () => {
    const server = serve([slow], { connection: connection() });
    await server.ready();
    await server.close();
    expect(() => serve([task((x: number) => x)], { connection: connection() })).toThrow(/has no name/);
    expect(() =>
      serve([task((x: number) => x, { name: 'twin' }), task((x: number) => -x, { name: 'twin' })], {
        connection: connection(),
      }),
    ).toThrow(/two tasks are named 'twin'/);
  });
});
