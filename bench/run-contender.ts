/**
 * Runs one contender over the whole grid of sizes and concurrencies in this process, and prints its times as JSON.
 * `bench/index.ts` starts one such process per contender, so no library's JIT state colours another's numbers.
 */
import { contenders } from './contenders.js';
import { CONCURRENCIES, SIZES } from './grid.js';

const RUNS_PER_CELL = 3;
const MINUTE_MS = 60_000;

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** The median of a few runs, each after a full collection, so one GC pause does not decide a cell. */
async function time(run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS_PER_CELL; i++) {
    gc();
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS_PER_CELL / 2)];
}

const name = process.argv[2];
const contender = contenders.find((c) => c.name === name);
if (contender === undefined) throw new Error(`no contender named ${name}`);

const warmItems = Array.from({ length: 1e4 }, (_, i) => i);
for (const concurrency of CONCURRENCIES) for (let i = 0; i < 10; i++) await contender.run(warmItems, concurrency);

const rows: { size: number; concurrency: number; ms: number | null }[] = [];
for (const concurrency of CONCURRENCIES) {
  let previous: { size: number; ms: number } | undefined;
  for (const size of SIZES) {
    const projected = previous && contender.quadratic ? previous.ms * (size / previous.size) ** 2 : 0;
    if (projected > MINUTE_MS) {
      rows.push({ size, concurrency, ms: null });
      continue;
    }
    const items = Array.from({ length: size }, (_, i) => i);
    const ms = await time(() => contender.run(items, concurrency));
    previous = { size, ms };
    rows.push({ size, concurrency, ms });
  }
}
process.stdout.write(JSON.stringify(rows));
