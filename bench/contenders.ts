/**
 * The parallel maps the bench compares, each as `(items, concurrency) => Promise<unknown>` over the same no-op async
 * task. The floor is the least any capped map can do: N workers pulling a shared index.
 */
import async from 'async';
import { Effect } from 'effect';
import pLimit from 'p-limit';
import pMap from 'p-map';
import { from, lastValueFrom, mergeMap, toArray } from 'rxjs';
import { rxtask } from './target.js';

const { parallelMap } = rxtask;

export const noop = async (x: number) => x;

export interface Contender {
  readonly name: string;
  readonly run: (items: number[], concurrency: number) => Promise<unknown>;
  /** Cost grows with N per item (RxJS's mergeMap shifts an array): skipped where a run would pass a minute. */
  readonly quadratic?: boolean;
}

async function floor(items: number[], concurrency: number): Promise<unknown[]> {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await noop(items[index]);
    }
  };
  const workers = [];
  for (let i = 0; i < Math.min(concurrency, items.length); i++) workers.push(worker());
  await Promise.all(workers);
  return results;
}

export const contenders: readonly Contender[] = [
  { name: 'floor (worker loop)', run: floor },
  {
    name: 'rxtask await',
    run: async (items, concurrency) => (await parallelMap(noop, items, { concurrency })).values(),
  },
  {
    name: 'rxtask Observable',
    run: (items, concurrency) =>
      new Promise<number>((resolve, reject) => {
        let count = 0;
        parallelMap(noop, items, { concurrency }).subscribe({
          next: () => {
            count += 1;
          },
          error: reject,
          complete: () => resolve(count),
        });
      }),
  },
  { name: 'p-map', run: (items, concurrency) => pMap(items, noop, { concurrency }) },
  { name: 'async mapLimit', run: (items, concurrency) => async.mapLimit(items, concurrency, noop) },
  {
    name: 'p-limit',
    run: (items, concurrency) => {
      const limit = pLimit(concurrency);
      return Promise.all(items.map((item) => limit(() => noop(item))));
    },
  },
  {
    name: 'Effect forEach',
    run: (items, concurrency) =>
      Effect.runPromise(Effect.forEach(items, (item) => Effect.promise(() => noop(item)), { concurrency })),
  },
  {
    name: 'RxJS from+mergeMap',
    run: (items, concurrency) => lastValueFrom(from(items).pipe(mergeMap(noop, concurrency), toArray())),
    quadratic: true,
  },
];
