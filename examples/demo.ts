/**
 * The demo: runs fetch-like tasks over simulated work and prints what happened.
 * Run it with `npm run demo`.
 */
import { gather, type TaskContext, task } from '../src/index.js';

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

const fetchPage = task(async function fetchPage(this: TaskContext, page: number) {
  const latency = 20 + ((page * 37) % 80);
  await sleep(latency, this.signal);
  if (page % 7 === 6) throw new Error(`page ${page}: HTTP 503`);
  return { page, bytes: 1000 + page * 13, latency };
});

const started = performance.now();
const results = await gather(...Array.from({ length: 12 }, (_, page) => fetchPage(page)), { returnErrors: true });
for (const result of results) {
  console.log(
    result instanceof Error
      ? `  failed  ${result.message}`
      : `  ok      page ${result.page}: ${result.bytes} bytes in ${result.latency} ms`,
  );
}
console.log(`${results.length} tasks in ${Math.round(performance.now() - started)} ms`);
