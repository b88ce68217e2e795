/**
 * `npm run bench`: rxtask against the hand-written floor and its peers on a no-op async task, then its scaling and
 * its memory when streaming 1e7 items. Prints a table and writes it to docs/performance.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BundleRow, bundleSizes } from './bundle-size.js';
import { performanceChart } from './chart.js';
import { contenders, noop } from './contenders.js';
import { distributedBench } from './distributed.js';
import { CONCURRENCIES, SIZES } from './grid.js';
import { type PathRow, pathTable } from './paths.js';
import { rxtask, rxtaskWorker } from './target.js';

const { events$, MemoryStore, parallelMap, task } = rxtask;
const { WorkerPool, workerTask } = rxtaskWorker;

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

const here = fileURLToPath(new URL('.', import.meta.url));

interface Row {
  size: number;
  concurrency: number;
  name: string;
  ms: number | undefined;
}

/** Each contender runs the whole grid in a process of its own. */
function mapTable(): Row[] {
  const rows: Row[] = [];
  for (const contender of contenders) {
    const output = execFileSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(here, 'run-contender.ts'), contender.name],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    const measured = JSON.parse(output) as { size: number; concurrency: number; ms: number | null }[];
    for (const row of measured) rows.push({ ...row, name: contender.name, ms: row.ms ?? undefined });
    process.stdout.write(`${contender.name} done\n`);
  }
  return rows;
}

async function streamingHeap(count: number): Promise<{ growthMb: number; usPerItem: number }> {
  function* numbers() {
    for (let i = 0; i < count; i++) yield i;
  }
  gc();
  const baseline = process.memoryUsage().heapUsed;
  let peak = baseline;
  let seen = 0;
  const started = performance.now();
  for await (const item of parallelMap(noop, numbers(), { concurrency: 16 })) {
    if (!item.ok) throw item.error;
    seen += 1;
    if (seen % 250_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  const ms = performance.now() - started;
  if (seen !== count) throw new Error(`streamed ${seen} of ${count}`);
  return { growthMb: (peak - baseline) / 2 ** 20, usPerItem: (ms * 1000) / count };
}

/** Runs `count` no-op tasks through a rate limit and returns the achieved rate as a ratio of the target. */
async function rateAccuracy(limit: number, burst: number, count: number): Promise<{ achieved: number; ratio: number }> {
  const starts: number[] = [];
  await parallelMap(
    async () => {
      starts.push(performance.now());
    },
    Array.from({ length: count }, (_, i) => i),
    { concurrency: 64, rateLimit: { limit, interval: 'second', burst } },
  );
  // Past the initial burst, starts follow the refill rate.
  const steady = starts.slice(burst - 1);
  const achieved = ((steady.length - 1) / (steady[steady.length - 1] - steady[0])) * 1000;
  return { achieved, ratio: achieved / limit };
}

/** The cost of events: the same map with nobody listening, and with a listener on `events$`. */
async function eventsCost(): Promise<{ silentUs: number; listenedUs: number }> {
  const items = Array.from({ length: 1e6 }, (_, i) => i);
  const median = async (run: () => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      gc();
      const started = performance.now();
      await run();
      times.push(performance.now() - started);
    }
    return (times.sort((a, b) => a - b)[1] * 1000) / items.length;
  };
  await median(() => parallelMap(noop, items.slice(0, 1e4), { concurrency: 16 }).then((r) => r));
  const silentUs = await median(() => parallelMap(noop, items, { concurrency: 16 }).then((r) => r));
  let seen = 0;
  const subscription = events$.subscribe(() => {
    seen += 1;
  });
  const listenedUs = await median(() => parallelMap(noop, items, { concurrency: 16 }).then((r) => r));
  subscription.unsubscribe();
  if (seen === 0) throw new Error('no event was seen');
  return { silentUs, listenedUs };
}

/** What a checkpoint adds per item: the same map of 1e5 no-op items, with and without a checkpoint file. */
async function checkpointCost(): Promise<{ plainUs: number; checkpointUs: number }> {
  const items = Array.from({ length: 1e5 }, (_, i) => i);
  const dir = mkdtempSync(join(os.tmpdir(), 'rxtask-bench-'));
  const median = async (run: (round: number) => Promise<unknown>) => {
    const times: number[] = [];
    for (let round = 0; round < 5; round++) {
      gc();
      const started = performance.now();
      await run(round);
      times.push(performance.now() - started);
    }
    return (times.sort((a, b) => a - b)[2] * 1000) / items.length;
  };
  try {
    await parallelMap(noop, items, { concurrency: 16, checkpoint: join(dir, 'warm.checkpoint') });
    const plainUs = await median(() => parallelMap(noop, items, { concurrency: 16 }).then((r) => r));
    // A fresh file each round: every item runs and is recorded.
    const checkpointUs = await median((round) =>
      parallelMap(noop, items, { concurrency: 16, checkpoint: join(dir, `run-${round}.checkpoint`) }).then((r) => r),
    );
    return { plainUs, checkpointUs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The result cache: a map of 1e5 distinct keys that all miss (each result stored), then the same map all hits. */
async function cacheCost(): Promise<{ plainUs: number; missUs: number; hitUs: number }> {
  const items = Array.from({ length: 1e5 }, (_, i) => i);
  const perItem = (ms: number) => (ms * 1000) / items.length;
  const time = async (run: () => PromiseLike<unknown>) => {
    gc();
    const started = performance.now();
    await run();
    return perItem(performance.now() - started);
  };
  const plainUs = await time(() => parallelMap(noop, items, { concurrency: 16 }));
  const store = new MemoryStore({ maxEntries: items.length });
  const cached = task(noop, { cache: { store } });
  const missUs = await time(() => cached.map(items, { concurrency: 16 }));
  const hitUs = await time(() => cached.map(items, { concurrency: 16 }));
  return { plainUs, missUs, hitUs };
}

/** CPU-bound work on worker threads against the same work inline, and the cost of a trivial task's round trip. */
async function workerSpeedup(): Promise<{ speedup: number; inlineMs: number; workerMs: number; dispatchUs: number }> {
  const work = new URL('./cpu-work.mjs', import.meta.url);
  const { burn, identity } = (await import(work.href)) as {
    burn: (ms: number) => number;
    identity: (x: number) => number;
  };
  const pool = new WorkerPool({ threads: 2 });
  const burnOnThreads = workerTask<[number], number>(work, 'burn', { pool });
  const identityOnThreads = workerTask<[number], number>(work, 'identity', { pool });
  const items = Array.from({ length: 200 }, () => 5);
  await burnOnThreads.map(items.slice(0, 10), { concurrency: 2 }); // start the threads
  let started = performance.now();
  await parallelMap((ms: number) => burn(ms), items, { concurrency: 2 });
  const inlineMs = performance.now() - started;
  started = performance.now();
  await burnOnThreads.map(items, { concurrency: 2 });
  const workerMs = performance.now() - started;
  const trivial = Array.from({ length: 2_000 }, (_, i) => i);
  await identityOnThreads.map(trivial.slice(0, 100), { concurrency: 4 });
  started = performance.now();
  await identityOnThreads.map(trivial, { concurrency: 4 });
  const workerTrivialMs = performance.now() - started;
  started = performance.now();
  await parallelMap(identity, trivial, { concurrency: 4 });
  const inlineTrivialMs = performance.now() - started;
  await pool.close();
  const dispatchUs = ((workerTrivialMs - inlineTrivialMs) * 1000) / trivial.length;
  return { speedup: inlineMs / workerMs, inlineMs, workerMs, dispatchUs };
}

function formatTable(rows: Row[]): string {
  const names = contenders.map((c) => c.name);
  const lines = [
    `| N | concurrency | ${names.join(' | ')} |`,
    `| ---: | ---: | ${names.map(() => '---:').join(' | ')} |`,
  ];
  for (const concurrency of CONCURRENCIES) {
    for (const size of SIZES) {
      const at = rows.filter((r) => r.size === size && r.concurrency === concurrency);
      const floor = at.find((r) => r.name === names[0])?.ms as number;
      const cells = names.map((name) => {
        const row = at.find((r) => r.name === name);
        if (row?.ms === undefined) return 'skipped';
        const us = (row.ms * 1000) / size;
        return `${us.toFixed(3)} µs (${(row.ms / floor).toFixed(1)}×)`;
      });
      lines.push(`| ${size.toExponential(0)} | ${concurrency} | ${cells.join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

function formatPaths(rows: readonly PathRow[]): string {
  const lines = [
    '| path | µs per item | floor in the same process | ratio | goal |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    const goal = row.goal === undefined ? 'peer' : `≤ ${row.goal}×`;
    lines.push(
      `| ${row.name} | ${row.us.toFixed(3)} | ${row.floorUs.toFixed(3)} | ${(row.us / row.floorUs).toFixed(2)}× | ${goal} |`,
    );
  }
  return lines.join('\n');
}

function formatBundles(rows: readonly BundleRow[]): string {
  const lines = ['| import | minified + gzip -9 | goal |', '| --- | ---: | ---: |'];
  for (const row of rows) {
    const goal = row.goal === undefined ? 'peer' : `≤ ${(row.goal / 1000).toFixed(0)} kB`;
    lines.push(`| ${row.name} | ${(row.gzipBytes / 1000).toFixed(1)} kB | ${goal} |`);
  }
  return lines.join('\n');
}

const rows = mapTable();
const paths = pathTable();
const bundles = await bundleSizes();
const table = formatTable(rows);
const at = (name: string, size: number, concurrency: number) =>
  rows.find((r) => r.name === name && r.size === size && r.concurrency === concurrency)?.ms as number;
const scaling = at('rxtask await', 1e6, 16) / at('rxtask await', 1e5, 16);
const floorScaling = at('floor (worker loop)', 1e6, 16) / at('floor (worker loop)', 1e5, 16);
const vsPmap = at('p-map', 1e6, 16) / at('rxtask await', 1e6, 16);
const streaming = await streamingHeap(1e7);
const eventCost = await eventsCost();
const checkpoint = await checkpointCost();
const cache = await cacheCost();
const workers = await workerSpeedup();
const distributed = await distributedBench();
const rates = [
  { limit: 200, burst: 1, ...(await rateAccuracy(200, 1, 1_000)) },
  { limit: 1_000, burst: 10, ...(await rateAccuracy(1_000, 10, 4_000)) },
];

const summary = [
  `- At N = 1e6, concurrency 16: rxtask is ${(at('rxtask await', 1e6, 16) / at('floor (worker loop)', 1e6, 16)).toFixed(2)}× the floor awaiting the result and ${(at('rxtask Observable', 1e6, 16) / at('floor (worker loop)', 1e6, 16)).toFixed(2)}× subscribing to the ItemResults; p-map takes ${vsPmap.toFixed(1)}× as long as rxtask.`,
  `- Scaling, t(1e6) / t(1e5) at concurrency 16: rxtask ${scaling.toFixed(1)}, the floor ${floorScaling.toFixed(1)}.`,
  `- Streaming 1e7 items from a generator through \`for await\`: heap growth ${streaming.growthMb.toFixed(1)} MB, ${streaming.usPerItem.toFixed(2)} µs per item.`,
  `- Events, at N = 1e6, concurrency 16: ${eventCost.silentUs.toFixed(3)} µs per item with nobody listening (as in the table: no event is built), ${eventCost.listenedUs.toFixed(3)} µs with a listener on \`events$\` (four events per item).`,
  `- Checkpoint, 1e5 no-op items at concurrency 16 recorded to a file: ${checkpoint.checkpointUs.toFixed(3)} µs per item against ${checkpoint.plainUs.toFixed(3)} µs without, ${(checkpoint.checkpointUs - checkpoint.plainUs).toFixed(2)} µs added per item.`,
  `- Result cache, 1e5 no-op items at concurrency 16 in a MemoryStore: ${cache.missUs.toFixed(2)} µs per item when every key misses (each result stored), ${cache.hitUs.toFixed(2)} µs when every key hits, against ${cache.plainUs.toFixed(3)} µs uncached.`,
  `- Worker threads (\`rxtask/worker\`, 2 threads on ${os.cpus().length} cores): 200 CPU-bound tasks of ~5 ms took ${workers.inlineMs.toFixed(0)} ms inline and ${workers.workerMs.toFixed(0)} ms on threads, a ${workers.speedup.toFixed(2)}× speedup; a trivial task's round trip to a thread costs ${workers.dispatchUs.toFixed(1)} µs more than running it inline.`,
  ...rates.map(
    (r) =>
      `- Rate limit ${r.limit}/s, burst ${r.burst}: achieved ${r.achieved.toFixed(1)}/s, ${((r.ratio - 1) * 100).toFixed(2)}% from the target.`,
  ),
  distributed === undefined
    ? '- Distributed (BullMQ): skipped, no `redis-server` on the PATH.'
    : `- Distributed, 5,000 no-op items at caller concurrency 64 over two worker processes on a local redis-server: \`rxtask/bullmq\` ${distributed.rxtaskPerSecond.toFixed(0)} items/s, hand-written BullMQ \`add\` + \`waitUntilFinished\` capped at 64 ${distributed.cappedPerSecond.toFixed(0)}/s (rxtask at ${(distributed.rxtaskPerSecond / distributed.cappedPerSecond).toFixed(2)}×), \`addBulk\` + \`QueueEvents\` with no cap ${distributed.bulkPerSecond.toFixed(0)}/s.`,
  '- "skipped": RxJS `from()+mergeMap` is quadratic (it buffers the input and `shift()`s it); a run projected past a minute from the previous size is not made.',
].join('\n');

const machine = `Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, one process run of \`npm run bench\`.`;
console.log(`\n${table}\n\n${summary}\n\n${formatPaths(paths)}\n\n${formatBundles(bundles)}\n\n${machine}`);

const chartRows = rows
  .filter((row) => row.concurrency === 16)
  .map((row) => ({
    name: row.name,
    size: row.size,
    usPerItem: row.ms === undefined ? undefined : (row.ms * 1000) / row.size,
  }));
writeFileSync(
  new URL('../docs/performance.svg', import.meta.url),
  performanceChart(
    chartRows,
    contenders.map((c) => c.name),
    SIZES,
  ),
);

writeFileSync(
  new URL('../docs/performance.md', import.meta.url),
  // The front matter titles the page in the API site (typedoc's projectDocuments).
  `---
title: Performance
---

# Performance

\`npm run bench\` maps a no-op async task (\`async (x) => x\`) over N items with each library and prints the time per
item and its ratio to the floor: a hand-written loop of \`concurrency\` workers pulling a shared index, the least any
capped map can cost. Each library runs the whole grid in a process of its own (so no library's JIT state colours
another's numbers); each cell is the median of three runs after a warm-up. Expect a few percent of noise.

![µs per item at concurrency 16](performance.svg)

${table}

${summary}

${machine}

## Every path users take

The same no-op task along each path, N = 2e5 at concurrency 16 for the maps (one at a time for a single call and a
future), against the floor measured in the same process: each path runs in a process of its own, alternating with
the floor for nine rounds, and each keeps its median. Below rxtask's paths are its peers on the same case: p-map,
p-limit, \`async.mapLimit\` and Effect's \`forEach\` for a map, p-limit's \`limit(fn)\` for a single call, and
Effect's \`fork\` + \`Fiber.join\` for a future. rxtask is measured from its build (\`dist\`), as users run it.

${formatPaths(paths)}

## Bundle size

What a browser app pays for an import: esbuild, minified, rxjs external, gzip -9.

${formatBundles(bundles)}

## Why rxtask is close to the floor

- It pulls the input only when a slot frees and keeps no queue of items, so its cost per item does not grow with N.
- A Promise task costs one \`then\` on a reused slot: no Observable, subscriber or closure per item.
- \`await run\` writes outcomes into columns (values, and typed arrays of attempts and durations); ItemResult objects
  are made only when you ask for them.
- The clock is read about once per item: an item's end reading is the next item's start when no user code ran between.
- Synchronous completions are trampolined in a loop, so a million synchronous tasks never grow the stack.
- \`await t(x)\` and \`t.submit(x)\` of a task with nothing around it (no policy, cache, listener, group or
  dependency) call the function at once and settle from its Promise: no Observable or subscriber is made.
- A per-attempt timeout drops the deadline of an attempt that ended in time at once (they end in order), so its
  queue holds about as many deadlines as attempts are running; policies read one clock, not three.
- A rate-limit token or a permit that is free is taken in the run's own turn, with no async-context snapshot.
- Events reuse the readings of the item's start and end.
`,
);
