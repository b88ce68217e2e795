/**
 * The cost of each path users take, against the same floor measured in the same process: N = 2e5 no-op async items
 * at concurrency 16 for the maps, 2e5 one at a time for a single call and a future. Each path runs in a process of
 * its own (`node bench/paths.ts <path>` prints its row as JSON); the floor and the path alternate for seven rounds
 * and each keeps its median, so a slow moment of the machine touches both alike.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import async from 'async';
import { Effect, Fiber } from 'effect';
import pLimit from 'p-limit';
import pMap from 'p-map';
import { rxtask } from './target.js';

const { ConcurrencyLimit, events$, parallelMap, RateLimiter, task } = rxtask;

const N = 2e5;
const CONCURRENCY = 16;
const ROUNDS = 9;
const noop = async (x: number) => x;
const items = Array.from({ length: N }, (_, i) => i);

/** N workers pulling a shared index: the least any capped map can cost. */
async function floor(): Promise<unknown[]> {
  const results = new Array(N);
  let next = 0;
  const worker = async () => {
    while (next < N) {
      const index = next++;
      results[index] = await noop(items[index]);
    }
  };
  const workers = [];
  for (let i = 0; i < CONCURRENCY; i++) workers.push(worker());
  await Promise.all(workers);
  return results;
}

export interface PathRow {
  readonly name: string;
  /** What the goal allows, as a multiple of the floor's cost per item. */
  readonly goal: number | undefined;
  readonly floorUs: number;
  readonly us: number;
}

interface Path {
  readonly name: string;
  readonly goal?: number;
  readonly run: () => PromiseLike<unknown>;
}

const call = task(noop);
const limit = pLimit(1);

/** Each path's own process: made lazily, so building one path's options never touches another's. */
const paths: Record<string, () => Path> = {
  plain: () => ({
    name: 'rxtask `await parallelMap`',
    goal: 1.5,
    run: () => parallelMap(noop, items, { concurrency: CONCURRENCY }),
  }),
  retry: () => ({
    name: 'rxtask, `retry: { attempts: 3 }`',
    goal: 2.5,
    run: () => parallelMap(noop, items, { concurrency: CONCURRENCY, retry: { attempts: 3 } }),
  }),
  timeout: () => ({
    name: 'rxtask, `timeout: 10_000` per attempt',
    goal: 2.5,
    run: () => parallelMap(noop, items, { concurrency: CONCURRENCY, timeout: 10_000 }),
  }),
  rateLimit: () => {
    const limiter = new RateLimiter({ limit: 1e9, interval: 'second', burst: 1e9 });
    return {
      name: 'rxtask, a `RateLimiter` that never binds',
      goal: 2.5,
      run: () => parallelMap(noop, items, { concurrency: CONCURRENCY, rateLimit: limiter }),
    };
  },
  concurrencyLimit: () => {
    const shared = new ConcurrencyLimit(1_000);
    return {
      name: 'rxtask, a shared `ConcurrencyLimit`',
      goal: 2.5,
      run: () => parallelMap(noop, items, { concurrency: CONCURRENCY, concurrencyLimit: shared }),
    };
  },
  events: () => {
    let seen = 0;
    events$.subscribe(() => {
      seen += 1;
    });
    return {
      name: 'rxtask, one `events$` listener',
      goal: 5,
      run: () => parallelMap(noop, items, { concurrency: CONCURRENCY }).then(() => seen),
    };
  },
  single: () => ({
    name: 'rxtask `await t(x)`, one at a time',
    goal: 2.5,
    run: async () => {
      for (let i = 0; i < N; i++) await call(i);
    },
  }),
  submit: () => ({
    name: 'rxtask `await t.submit(x)`, one at a time',
    goal: 8,
    run: async () => {
      for (let i = 0; i < N; i++) await call.submit(i);
    },
  }),
  pMap: () => ({ name: 'p-map', run: () => pMap(items, noop, { concurrency: CONCURRENCY }) }),
  pLimit: () => ({
    name: 'p-limit',
    run: () => {
      const limited = pLimit(CONCURRENCY);
      return Promise.all(items.map((item) => limited(() => noop(item))));
    },
  }),
  mapLimit: () => ({ name: 'async `mapLimit`', run: () => async.mapLimit(items, CONCURRENCY, noop) }),
  effectForEach: () => ({
    name: 'Effect `forEach`',
    run: () =>
      Effect.runPromise(
        Effect.forEach(items, (item) => Effect.promise(() => noop(item)), { concurrency: CONCURRENCY }),
      ),
  }),
  pLimitSingle: () => ({
    name: 'p-limit `await limit(fn)`, one at a time',
    run: async () => {
      for (let i = 0; i < N; i++) await limit(() => noop(i));
    },
  }),
  effectFork: () => ({
    name: 'Effect `fork` + `Fiber.join`, one at a time',
    run: async () => {
      for (let i = 0; i < N; i++) {
        await Effect.runPromise(Effect.flatMap(Effect.fork(Effect.promise(() => noop(i))), Fiber.join));
      }
    },
  }),
};

export const PATHS = Object.keys(paths);

async function measure(key: string): Promise<PathRow> {
  const path = paths[key]();
  for (let i = 0; i < 2; i++) {
    await floor();
    await path.run();
  }
  const floorTimes: number[] = [];
  const pathTimes: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let started = performance.now();
    await floor();
    floorTimes.push(performance.now() - started);

    started = performance.now();
    await path.run();
    pathTimes.push(performance.now() - started);
  }
  const median = (times: number[]) => (times.sort((a, b) => a - b)[ROUNDS >> 1] * 1000) / N;
  return { name: path.name, goal: path.goal, floorUs: median(floorTimes), us: median(pathTimes) };
}

/** Every path, each in a process of its own. */
export function pathTable(): PathRow[] {
  const script = fileURLToPath(import.meta.url);
  return PATHS.map((key) => {
    const output = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, key], {
      encoding: 'utf8',
    });
    process.stdout.write(`path ${key} done\n`);
    return JSON.parse(output) as PathRow;
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] !== undefined) {
  process.stdout.write(JSON.stringify(await measure(process.argv[2])));
  process.exit(0);
}
