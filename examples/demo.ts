/**
 * `npm run demo`: a few hundred fetch-like jobs with varied latency, a share of flaky failures and a few that hang,
 * run through rxtask with a rate limit, retries and a per-attempt timeout. A live progress bar (cli-progress) shows
 * done/total, rate, retries and failures; then a summary table. When stdout is not a terminal (CI), it prints plain
 * progress lines instead.
 *
 *   npm run demo -- --items 500 --concurrency 32 --rate 200
 *
 * With `--checkpoint FILE`, each page fetched is recorded in FILE as the run goes: stop the demo with Ctrl-C and run
 * the same command again, and it finishes only what was left.
 *
 *   npm run demo -- --checkpoint demo.checkpoint
 */
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { type RunEvent, type TaskContext, task } from '../src/index.js';

const { values: flags } = parseArgs({
  options: {
    items: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '24' },
    rate: { type: 'string', default: '150' },
    checkpoint: { type: 'string' },
  },
});
const itemCount = Number(flags.items);
const concurrency = Number(flags.concurrency);
const ratePerSecond = Number(flags.rate);
if (!Number.isInteger(itemCount) || itemCount < 1)
  throw new RangeError(`--items must be a positive integer, got ${flags.items}`);

/** A deterministic stand-in for randomness, so every run of the demo tells the same story. */
function noise(seed: number): number {
  const x = Math.sin(seed * 12.9898) * 43758.5453;
  return x - Math.floor(x);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts (as fetch does). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/**
 * A stand-in for an HTTP GET: 20–400 ms of latency; one request in ten fails with a 503 on its first attempt; one in
 * thirty hangs on its first attempt until the per-attempt timeout aborts it.
 */
const fetchPage = task(
  async function fetchPage(this: TaskContext, page: number) {
    const roll = noise(page * 7 + this.attempt);
    if (this.attempt === 1 && noise(page) < 1 / 30) await sleep(60_000, this.signal);
    await sleep(20 + Math.round(380 * roll ** 2), this.signal);
    if (this.attempt === 1 && noise(page + 0.5) < 0.1) throw new Error(`HTTP 503 for page ${page}`);
    if (noise(page + 0.25) < 0.01) throw new Error(`HTTP 404 for page ${page}`);
    return { page, bytes: 1_000 + Math.round(9_000 * roll) };
  },
  { retry: { attempts: 3, backoff: 100 }, timeout: 1_000, runName: 'GET /pages/{page}' },
);

const interactive = process.stdout.isTTY === true;
const bar = new SingleBar({
  format: ' {bar} {percentage}% | {value}/{total} | {rate}/s | retries {retries} | failed {failed}',
  barCompleteChar: '█',
  barIncompleteChar: '░',
  hideCursor: true,
  stream: process.stdout,
});
let retries = 0;
let failed = 0;
let restored = 0;
let lastPrinted = -1;
const startedAt = performance.now();
const rateNow = (done: number) => (done / ((performance.now() - startedAt) / 1000)).toFixed(0);

if (interactive) bar.start(itemCount, 0, { rate: 0, retries: 0, failed: 0 });
const onEvent = (event: RunEvent) => {
  if (event.type === 'retrying') retries += 1;
  if (event.type === 'failed') failed += 1;
  if (event.type === 'restored') restored += 1;
  if (event.type !== 'progress') return;
  if (interactive) {
    bar.update(event.done, { rate: rateNow(event.done), retries, failed });
    return;
  }
  const tenth = Math.floor((event.done / event.total) * 10);
  if (tenth > lastPrinted) {
    lastPrinted = tenth;
    console.log(
      `progress ${event.done}/${event.total} (${tenth * 10}%), ${rateNow(event.done)}/s, retries ${retries}, failed ${failed}`,
    );
  }
};

// Ctrl-C cancels the run (what is in flight is aborted, the checkpoint is written) instead of killing the process.
const interrupt = new AbortController();
process.once('SIGINT', () => interrupt.abort(new Error('interrupted with Ctrl-C')));
let result: Awaited<ReturnType<typeof fetchPage.map>>;
try {
  result = await fetchPage.map(
    Array.from({ length: itemCount }, (_, page) => page),
    {
      concurrency,
      rateLimit: { limit: ratePerSecond, interval: 'second' },
      onEvent,
      signal: interrupt.signal,
      checkpoint: flags.checkpoint,
    },
  );
} finally {
  if (interactive) bar.stop();
}

const seconds = (performance.now() - startedAt) / 1000;
const durations = result
  .itemResults()
  .map((item) => item.durationMs)
  .sort((a, b) => a - b);
const percentile = (p: number) => durations[Math.min(durations.length - 1, Math.floor(p * durations.length))];
const attempts = result.itemResults().reduce<Record<number, number>>((counts, item) => {
  counts[item.attempts] = (counts[item.attempts] ?? 0) + 1;
  return counts;
}, {});
const bytes = result.successes().reduce((sum, item) => sum + item.value.bytes, 0);

console.log(`\n${result.total} requests in ${seconds.toFixed(1)} s (status: ${result.status})`);
if (flags.checkpoint !== undefined) {
  console.log(
    `checkpoint ${flags.checkpoint}: ${restored} pages restored from an earlier run, ${result.successes().length - restored} fetched now`,
  );
}
console.table({
  succeeded: { value: result.successes().length },
  failed: { value: result.failures().length },
  retries: { value: retries },
  'items by attempts': {
    value: Object.entries(attempts)
      .map(([n, count]) => `${count}×${n}`)
      .join(', '),
  },
  'duration p50 / p95 (ms)': { value: `${percentile(0.5)} / ${percentile(0.95)}` },
  'achieved rate (/s)': { value: (result.total / seconds).toFixed(1) },
  downloaded: { value: `${(bytes / 1024).toFixed(0)} KiB` },
});
for (const failure of result.failures().slice(0, 5)) {
  console.log(`  item ${failure.index} failed after ${failure.attempts} attempts: ${(failure.error as Error).message}`);
}
