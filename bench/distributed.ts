/**
 * The distributed row of `npm run bench`: 5,000 no-op items at caller concurrency 64 over two worker processes on a
 * local redis-server, through `rxtask/bullmq` and through hand-written BullMQ (`add` + `waitUntilFinished` capped at
 * 64, and `addBulk` + `QueueEvents`). Skipped when redis-server is not on the PATH.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { bullmqRunner } from '../bullmq/index.js';
import { parallelMap, task } from '../src/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const N = 5_000;
const CONCURRENCY = 64;

export interface DistributedResult {
  rxtaskPerSecond: number;
  cappedPerSecond: number;
  bulkPerSecond: number;
}

export async function distributedBench(): Promise<DistributedResult | undefined> {
  let binary: string;
  try {
    binary = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
  const port = await freePort();
  const redis = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const children: ChildProcess[] = [];
  try {
    await waitForRedis(port);
    for (let i = 0; i < 2; i++) children.push(await startWorker(port));
    const connection = { host: '127.0.0.1', port };
    const items = Array.from({ length: N }, (_, i) => i);

    const queue = new Queue('bench-raw', { connection });
    queue.setMaxListeners(4 * CONCURRENCY); // waitUntilFinished adds a listener per job in flight
    const events = new QueueEvents('bench-raw', { connection });
    await events.waitUntilReady();
    const capped = async (inputs: number[]) => {
      await parallelMap(
        async (x: number) => (await queue.add('noop', { x }, { removeOnComplete: true })).waitUntilFinished(events),
        inputs,
        { concurrency: CONCURRENCY },
      );
    };
    const runner = bullmqRunner({ connection, queue: 'bench' });
    const noop = task(async (x: number) => x, { name: 'noop', runner });
    const viaRxtask = async (inputs: number[]) => {
      const result = await noop.map(inputs, { concurrency: CONCURRENCY });
      if (!result.ok) throw new Error('the distributed bench map failed');
    };
    await capped(items.slice(0, 200)); // warm-ups
    await viaRxtask(items.slice(0, 200));
    // Alternated, best of two each: the order of runs on one Redis otherwise colours the figures.
    let cappedMs = Number.POSITIVE_INFINITY;
    let rxtaskMs = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 2; round++) {
      let started = performance.now();
      await capped(items);
      cappedMs = Math.min(cappedMs, performance.now() - started);
      started = performance.now();
      await viaRxtask(items);
      rxtaskMs = Math.min(rxtaskMs, performance.now() - started);
    }
    await runner.close();

    const started = performance.now();
    const done = new Promise<void>((resolve) => {
      let left = N;
      events.on('completed', () => {
        left -= 1;
        if (left === 0) resolve();
      });
    });
    await queue.addBulk(items.map((x) => ({ name: 'noop', data: { x }, opts: { removeOnComplete: true } })));
    await done;
    const bulkMs = performance.now() - started;
    await Promise.all([events.close(), queue.close()]);
    return {
      rxtaskPerSecond: (N / rxtaskMs) * 1000,
      cappedPerSecond: (N / cappedMs) * 1000,
      bulkPerSecond: (N / bulkMs) * 1000,
    };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    redis.kill('SIGKILL');
  }
}

async function startWorker(port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, 'bullmq-worker.ts'), String(port), String(CONCURRENCY / 2)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((ready, failed) => {
    child.stdout?.on('data', (data: Buffer) => data.toString().includes('ready') && ready());
    child.on('exit', (code) => failed(new Error(`bench worker exited with ${code}`)));
  });
  return child;
}

async function waitForRedis(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null });
    client.on('error', () => {});
    const answered = await client.connect().then(
      () => client.ping(),
      () => undefined,
    );
    client.disconnect();
    if (answered === 'PONG') return;
    await new Promise((wait) => setTimeout(wait, 25));
  }
  throw new Error('redis-server did not start');
}

function freePort(): Promise<number> {
  return new Promise((found) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => found(port));
    });
  });
}
