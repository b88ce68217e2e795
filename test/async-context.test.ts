import { AsyncLocalStorage } from 'node:async_hooks';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit, parallelMap, RateLimiter, type TaskContext, task } from '../src/index.js';

/** Issue 14, items 1 and 2: a task runs in its caller's async context, and a limit of n means at most n running. */
const request = new AsyncLocalStorage<{ id: number }>();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('a task runs in the async context of the call that started it', () => {
  it('after waiting for a ConcurrencyLimit permit, as p-limit does', async () => {
    const seenByTask: number[] = [];
    const limited = task(
      async () => {
        seenByTask.push(request.getStore()?.id as number);
        await sleep(2);
      },
      { concurrencyLimit: new ConcurrencyLimit(1) },
    );
    // As a request handler would: the call is awaited inside the caller's context.
    await Promise.all([0, 1, 2, 3].map((id) => request.run({ id }, async () => await limited())));
    const limit = pLimit(1);
    const seenByPLimit: number[] = [];
    await Promise.all(
      [0, 1, 2, 3].map((id) =>
        request.run({ id }, () =>
          limit(async () => {
            seenByPLimit.push(request.getStore()?.id as number);
            await sleep(2);
          }),
        ),
      ),
    );
    expect(seenByPLimit).toEqual([0, 1, 2, 3]);
    expect(seenByTask).toEqual(seenByPLimit);
  });

  it('after waiting for a rate-limit token, a retry backoff or a dependency', async () => {
    const limiter = new RateLimiter({ limit: 200, interval: 'second' });
    const seen: number[] = [];
    const paced = task(async () => seen.push(request.getStore()?.id as number), { rateLimit: limiter });
    await Promise.all([0, 1, 2, 3].map((id) => request.run({ id }, async () => await paced())));
    expect(seen.sort()).toEqual([0, 1, 2, 3]);

    const retried: number[] = [];
    let calls = 0;
    const flaky = task(
      async () => {
        retried.push(request.getStore()?.id as number);
        if (++calls % 2 === 1) throw new Error('first attempt');
      },
      { retry: { attempts: 2, backoff: 5, jitter: 'none' }, concurrencyLimit: new ConcurrencyLimit(1) },
    );
    await request.run({ id: 7 }, async () => await flaky());
    expect(retried).toEqual([7, 7]);

    const upstream = task(() => sleep(5).then(() => 1));
    const downstream = task((x: number) => request.getStore()?.id === 9 && x === 1);
    const future = upstream.submit();
    expect(await request.run({ id: 9 }, async () => await downstream(future as never))).toBe(true);
  });
});

describe('a concurrency limit of n means at most n running', () => {
  it('children that outlive their parent queue like anyone else', async () => {
    const database = new ConcurrencyLimit(1);
    let running = 0;
    let peak = 0;
    const query = task(
      async (n: number) => {
        peak = Math.max(peak, ++running);
        await sleep(3);
        running -= 1;
        return n;
      },
      { concurrencyLimit: database },
    );
    const futures: Promise<unknown>[] = [];
    const handler = task(
      async () => {
        // Submits its queries and returns at once: they outlive it.
        for (let i = 0; i < 10; i++) futures.push(query.submit(i).wait());
      },
      { concurrencyLimit: database },
    );
    await handler();
    await Promise.all(futures);
    expect(peak).toBe(1);
    expect(database.active).toBe(0);
  });

  it('a parent that waits on its children under the same limit does not deadlock, and the family counts as one', async () => {
    const limit = new ConcurrencyLimit(1);
    let running = 0;
    let peak = 0;
    const child = task(
      async (n: number) => {
        peak = Math.max(peak, ++running);
        await sleep(1);
        running -= 1;
        return n * 2;
      },
      { concurrencyLimit: limit },
    );
    const parent = task(
      async function (this: TaskContext, n: number) {
        await sleep(1);
        return (await child.map([n, n + 1], { concurrency: 2 })).values();
      },
      { concurrencyLimit: limit },
    );
    const result = await parallelMap(parent, [1, 10], { concurrency: 2 });
    expect(result.values()).toEqual([
      [2, 4],
      [20, 22],
    ]);
    expect(limit.active).toBe(0);
    // The children borrow their parent's one permit in turn: never two at once, and never beside another family.
    expect(peak).toBe(1);
  });
});

describe('without async context, as in browsers', () => {
  it('children started in the synchronous part of their parent borrow its permit, however they are started', () => {
    // A process of its own: the library reads `process.getBuiltinModule` once, as it loads.
    const fixture = join(__dirname, 'fixtures', 'no-async-context.ts');
    const output = execFileSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 30_000 });
    expect(JSON.parse(output)).toEqual({
      submits: [2, 4],
      maps: [20, 22],
      calls: [200, 202],
      late: [2000, 2002],
      peak: 1,
      active: 0,
    });
  });
});
