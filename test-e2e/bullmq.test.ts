import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bullmqRunner } from '../bullmq/index.js';
import { parallelMap, TimeoutError } from '../src/index.js';
import { failing, slow, square } from './fixtures/remote-tasks.js';

/**
 * The BullMQ runner against a real Redis (Debian's redis-server on a free loopback port) and real worker processes;
 * no mocks.
 */
const root = resolve(__dirname, '..');
let redis: ChildProcess;
let port: number;
const workers: ChildProcess[] = [];
const connection = () => ({ host: '127.0.0.1', port, maxRetriesPerRequest: null });

async function freePort(): Promise<number> {
  return new Promise((found) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as { port: number };
      server.close(() => found(free));
    });
  });
}

async function startWorker(queue: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'test-e2e', 'fixtures', 'bullmq-worker.ts'), String(port), queue],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  workers.push(child);
  await new Promise<void>((ready, failed) => {
    child.stdout?.on('data', (data: Buffer) => data.toString().includes('ready') && ready());
    child.on('exit', (code) => failed(new Error(`worker exited with ${code}`)));
  });
  return child;
}

beforeAll(async () => {
  let binary: string;
  try {
    binary = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('redis-server is not on the PATH: install Debian’s package with `apt-get install -y redis-server`');
  }
  port = await freePort();
  redis = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--maxmemory-policy',
      'noeviction',
    ],
    {
      stdio: 'ignore',
    },
  );
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => 50 });
  client.on('error', () => {}); // refused until the server listens
  for (let i = 0; i < 100; i++) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch {
      await new Promise((wait) => setTimeout(wait, 50));
    }
  }
  client.disconnect();
}, 30_000);

afterEach(async () => {
  for (const worker of workers.splice(0)) {
    if (worker.exitCode === null && worker.signalCode === null) {
      worker.kill('SIGTERM');
      await new Promise((exited) => worker.once('exit', exited));
    }
  }
});

afterAll(() => {
  redis?.kill('SIGTERM');
});

describe('bullmqRunner and serve, on a real Redis', () => {
  it('maps 1000 items across two worker processes, every result exactly once', async () => {
    const queue = 'map-1000';
    await Promise.all([startWorker(queue), startWorker(queue)]);
    const runner = bullmqRunner({ connection: connection(), queue });
    const seen: number[] = [];
    const result = await parallelMap(
      square,
      Array.from({ length: 1000 }, (_, i) => i),
      {
        runner,
        concurrency: 32,
        onProgress: (done) => seen.push(done),
      },
    );
    await runner.close();
    expect(result.ok).toBe(true);
    expect(result.values().map((v) => v.value)).toEqual(Array.from({ length: 1000 }, (_, i) => i * i));
    expect(new Set(result.values().map((v) => v.pid)).size).toBe(2);
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });

  it('loses no item when a worker process is killed mid-run', async () => {
    const queue = 'kill-one';
    const [victim] = await Promise.all([startWorker(queue), startWorker(queue)]);
    const runner = bullmqRunner({ connection: connection(), queue });
    let done = 0;
    const result = await parallelMap(
      slow,
      Array.from({ length: 200 }, () => 20),
      {
        runner,
        concurrency: 16,
        retry: { attempts: 3, backoff: 10 },
        onProgress: (finished) => {
          done = finished;
          if (finished === 40) victim.kill('SIGKILL');
        },
      },
    );
    await runner.close();
    expect(victim.signalCode).toBe('SIGKILL');
    expect(done).toBe(200);
    expect(result.ok).toBe(true);
    expect(result.values()).toHaveLength(200);
  });

  it('leaves no waiting job behind when a map is cancelled, and signals the running ones', async () => {
    const queue = 'cancel';
    await startWorker(queue);
    const runner = bullmqRunner({ connection: connection(), queue });
    const results: number[] = [];
    const subscription = parallelMap(
      slow,
      Array.from({ length: 100 }, () => 300),
      { runner, concurrency: 20 },
    ).subscribe((item) => results.push(item.index));
    await new Promise((wait) => setTimeout(wait, 400));
    subscription.unsubscribe();
    const inspect = new Queue(queue, { connection: connection() });
    let counts = await inspect.getJobCounts('waiting', 'active');
    for (let i = 0; i < 40 && (counts.waiting > 0 || counts.active > 0); i++) {
      await new Promise((wait) => setTimeout(wait, 50));
      counts = await inspect.getJobCounts('waiting', 'active');
    }
    expect(counts).toEqual({ waiting: 0, active: 0 });
    await inspect.close();
    await runner.close();
    expect(results.length).toBeLessThan(100);
  });

  it('applies a per-attempt timeout as in-process runs do, and brings errors back by name', async () => {
    const queue = 'policies';
    await startWorker(queue);
    const runner = bullmqRunner({ connection: connection(), queue });
    const timedOut = await parallelMap(slow, [5_000], { runner, timeout: 100 });
    expect(timedOut.failures()[0].error).toBeInstanceOf(TimeoutError);
    const failed = await parallelMap(failing, ['remote trouble'], { runner });
    const error = failed.failures()[0].error as Error;
    expect(error.name).toBe('RangeError');
    expect(error.message).toBe('remote trouble');
    expect(error.cause).toEqual({ code: 42 });
    await runner.close();
  });

  it('refuses a value JSON cannot carry, naming where it is, before sending anything', async () => {
    const runner = bullmqRunner({ connection: connection(), queue: 'unsent' });
    const result = await parallelMap(slow, [new Date() as never, Number.NaN as never], { runner });
    expect(result.failures().map((f) => (f.error as Error).message)).toEqual([
      'bullmqRunner: arguments[0] is an object (Date), which JSON cannot carry (use plain objects)',
      'bullmqRunner: arguments[0] is NaN, which JSON cannot carry',
    ]);
    expect(() => bullmqRunner({} as never)).toThrow(/`connection`/);
    await runner.close();
  });
});
