import { Piscina } from 'piscina';
import { afterAll, describe, expect, it } from 'vitest';
import { parallelMap, TimeoutError } from '../src/index.js';
import { WorkerPool, workerTask } from '../worker/index.js';

// The functions run on threads are compiled JavaScript, as a worker needs (Node 20 cannot run TypeScript there).
const functions = new URL('./fixtures/worker-functions.mjs', import.meta.url);
const pool = new WorkerPool({ threads: 2 });
const add = workerTask<[number, number], number>(functions, 'add', { pool });
const describeValue = workerTask<[unknown], { type: string; size: number | null; threadId: number }>(
  functions,
  'describeValue',
  { pool },
);
const fail = workerTask<[string], never>(functions, 'fail', { pool });
const spin = workerTask<[number, SharedArrayBuffer], number>(functions, 'spin', { pool });
const whichThread = workerTask<[], number>(functions, 'whichThread', { pool });

afterAll(async () => {
  await pool.close();
});

const counter = () => new SharedArrayBuffer(4);
const turns = (buffer: SharedArrayBuffer) => Atomics.load(new Int32Array(buffer), 0);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('workerTask', () => {
  it('runs the function on a thread, with the task interface', async () => {
    expect(await add(2, 3)).toBe(5);
    expect(
      (
        await add.starmap([
          [1, 2],
          [3, 4],
        ] as [number, number][])
      ).values(),
    ).toEqual([3, 7]);
    expect(await add.submit(10, 20)).toBe(30);
    expect(add.name).toBe('add');
  });

  it('spreads calls over the threads, no more at once than there are threads', async () => {
    const threads = await parallelMap(() => whichThread(), Array.from({ length: 6 }), { concurrency: 6 });
    expect(new Set(threads.values()).size).toBe(2);
    expect(pool.limit.active).toBe(0);
  });

  it('structured-clones arguments and results', async () => {
    expect((await describeValue(new Map([[1, 2]]))).type).toBe('[object Map]');
    expect((await describeValue(new Date(0))).type).toBe('[object Date]');
  });

  it('moves buffers listed by `transfer` instead of copying them', async () => {
    const byteLength = workerTask<[ArrayBuffer], number>(functions, 'byteLength', {
      pool,
      transfer: (buffer: ArrayBuffer) => [buffer],
    });
    const buffer = new ArrayBuffer(1024);
    expect(await byteLength(buffer)).toBe(1024);
    expect(buffer.byteLength).toBe(0); // detached: it was moved, not copied
  });

  it('brings an error back with its class, name, message, stack, cause and properties', async () => {
    const error = (await fail('out of range').then(undefined, (e: unknown) => e)) as RangeError & { code: string };
    expect(error).toBeInstanceOf(RangeError);
    expect(error.name).toBe('RangeError');
    expect(error.message).toBe('out of range');
    expect(error.stack).toContain('worker-functions.mjs');
    expect((error.cause as Error).message).toBe('root cause');
    expect(error.code).toBe('E_RANGE');
  });

  it('terminates a running task’s thread when it is cancelled', async () => {
    const turnsSeen = counter();
    const subscription = spin(10_000, turnsSeen).subscribe({ error: () => {} });
    while (turns(turnsSeen) === 0) await sleep(5);
    subscription.unsubscribe();
    await sleep(100);
    const afterCancel = turns(turnsSeen);
    await sleep(100);
    expect(turns(turnsSeen)).toBe(afterCancel); // the thread no longer runs
    expect(await add(1, 1)).toBe(2); // and the pool carries on
  });

  it('never starts a queued call that is cancelled', async () => {
    const busy = [counter(), counter()];
    const running = busy.map((buffer) => spin(300, buffer).subscribe({ error: () => {} }));
    const queued = counter();
    const waiting = spin(300, queued).subscribe({ error: () => {} });
    await sleep(50);
    waiting.unsubscribe();
    await sleep(400);
    expect(turns(queued)).toBe(0);
    for (const subscription of running) subscription.unsubscribe();
  });

  it('applies a per-attempt timeout by terminating the thread, then retries', async () => {
    const slowThenFast = workerTask<[number, SharedArrayBuffer], number>(functions, 'spin', {
      pool,
      timeout: 50,
    });
    const error = await slowThenFast(5_000, counter()).then(undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    const attempt = workerTask<[number, SharedArrayBuffer], number>(functions, 'attempt', {
      pool,
      retry: { attempts: 3, backoff: 1 },
    });
    expect(await attempt(3, counter())).toBe(3);
  });

  it('creates its own pool lazily and closes it', async () => {
    expect(() => new WorkerPool({ maxThreads: 1 } as never)).toThrow(
      new TypeError('WorkerPool: unknown option `maxThreads` (known options: threads, piscina)'),
    );
    const own = new WorkerPool({ threads: 1 });
    const lazy = workerTask<[number, number], number>(functions, 'add', { pool: own });
    expect(own.started).toBe(false);
    expect(await lazy(1, 2)).toBe(3);
    expect(own.started).toBe(true);
    await own.close();
    await expect(lazy(1, 2)).rejects.toThrow(/closed/);
    const selfOwned = workerTask<[number, number], number>(functions, 'add');
    expect(await selfOwned(4, 5)).toBe(9);
    await selfOwned[Symbol.asyncDispose]();
  });

  it('runs on a Piscina of the caller’s, and leaves it open', async () => {
    const piscina = new Piscina({ maxThreads: 1 });
    const theirs = new WorkerPool({ piscina });
    const onTheirs = workerTask<[number, number], number>(functions, 'add', { pool: theirs });
    expect(await onTheirs(2, 2)).toBe(4);
    await theirs.close();
    expect(piscina.threads.length).toBeGreaterThanOrEqual(0);
    await piscina.close();
  });

  it('throws at the call for bad input', () => {
    expect(() => workerTask(42 as never, 'add')).toThrow(TypeError);
    expect(() => workerTask(functions, '')).toThrow(/`exportName`/);
    expect(() => workerTask(functions, 'add', { pool: {} as never })).toThrow(/`pool` must be a WorkerPool/);
    expect(() => workerTask(functions, 'add', { threads: 2 } as never)).toThrow(/unknown option `threads`/);
    expect(() => new WorkerPool({ threads: 0 })).toThrow(RangeError);
  });
});
