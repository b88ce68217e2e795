/**
 * `npm run demo`: a parallel map over simulated fetch jobs with varied latency and a share of failures, printing
 * progress as results stream in and a summary at the end.
 *
 *   npm run demo -- --items 300 --concurrency 24
 */
import { parseArgs } from 'node:util';
import { type TaskContext, task } from '../src/index.js';

const { values: flags } = parseArgs({
  options: {
    items: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '16' },
  },
});
const itemCount = Number(flags.items);
const concurrency = Number(flags.concurrency);

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
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

/** A stand-in for an HTTP GET: 20–200 ms of latency, and about one request in ten answered with a 503. */
const fetchPage = task(async function fetchPage(this: TaskContext, page: number) {
  const latency = 20 + ((page * 7919) % 181);
  await sleep(latency, this.signal);
  if ((page * 31) % 10 === 3) throw new Error(`HTTP 503 for page ${page}`);
  return { page, bytes: 1_000 + ((page * 104_729) % 9_000), latency };
});

const pages = Array.from({ length: itemCount }, (_, page) => page);
const startedAt = performance.now();
let lastPrinted = 0;

const result = await fetchPage.map(pages, {
  concurrency,
  onProgress(done, total) {
    const percent = Math.floor((done / total) * 100);
    if (percent >= lastPrinted + 10 || done === total) {
      lastPrinted = percent;
      console.log(`progress ${String(percent).padStart(3)}%  ${done}/${total}`);
    }
  },
});

const seconds = (performance.now() - startedAt) / 1000;
const successes = result.successes();
const bytes = successes.reduce((sum, item) => sum + item.value.bytes, 0);
const slowest = successes.reduce((max, item) => Math.max(max, item.durationMs), 0);

console.log(
  `\n${result.total} requests in ${seconds.toFixed(2)} s at concurrency ${concurrency} (status: ${result.status})`,
);
console.log(`  succeeded  ${successes.length}  (${(bytes / 1024).toFixed(0)} KiB, slowest ${slowest} ms)`);
console.log(`  failed     ${result.failures().length}`);
for (const failure of result.failures().slice(0, 5)) {
  console.log(`    item ${failure.index}: ${(failure.error as Error).message}`);
}
