import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ItemResult, parallelMap, type TaskContext } from '../src/index.js';

/**
 * Property tests of the parallel map engine. Tasks settle when the test says so, in an order fast-check chooses, so
 * every interleaving of completions, failures, synchronous tasks and cancellation points is fair game; no timers are
 * involved, so any timer left at the end is the engine's.
 */

interface ItemSpec {
  sync: boolean;
  fails: boolean;
}

interface Scenario {
  items: ItemSpec[];
  concurrency: number;
  ordered: boolean;
  mode: 'observable' | 'promise';
  /** Settle this many tasks, then cancel; `undefined` runs to the end. */
  cancelAfter: number | undefined;
  /** Which pending task settles at each step (taken modulo the number pending). */
  choices: number[];
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  items: fc.array(fc.record({ sync: fc.boolean(), fails: fc.boolean() }), { maxLength: 40 }),
  concurrency: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant(Number.POSITIVE_INFINITY)),
  ordered: fc.boolean(),
  mode: fc.constantFrom('observable' as const, 'promise' as const),
  cancelAfter: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
  choices: fc.array(fc.nat(), { minLength: 1, maxLength: 50 }),
});

const flush = async () => {
  for (let i = 0; i < 50; i++) await null;
};

const pendingTimers = () =>
  process.getActiveResourcesInfo().filter((kind) => kind === 'Immediate' || kind === 'Timeout').length;

async function play(s: Scenario) {
  const pending = new Map<number, { settle: () => void }>();
  const started: number[] = [];
  const finished = new Set<number>();
  const signals = new Map<number, AbortSignal>();
  let running = 0;
  let peak = 0;

  const fn = function (this: TaskContext, spec: ItemSpec) {
    const index = this.index as number;
    started.push(index);
    signals.set(index, this.signal);
    running += 1;
    peak = Math.max(peak, running);
    const end = () => {
      running -= 1;
      finished.add(index);
    };
    if (spec.sync) {
      end();
      if (spec.fails) throw new Error(`item ${index}`);
      return index;
    }
    return new Promise<number>((resolve, reject) => {
      pending.set(index, {
        settle: () => {
          end();
          if (spec.fails) reject(new Error(`item ${index}`));
          else resolve(index);
        },
      });
    });
  };

  const timersBefore = pendingTimers();
  let timersAtEnd = -1;
  const controller = new AbortController();
  const run = parallelMap(fn, s.items, { concurrency: s.concurrency, ordered: s.ordered, signal: controller.signal });
  const emitted: ItemResult<number>[] = [];
  let done = false;
  let result: Awaited<typeof run> | undefined;
  let cancel: () => void;

  if (s.mode === 'observable') {
    const subscription = run.subscribe({
      next: (item) => emitted.push(item),
      complete: () => {
        timersAtEnd = pendingTimers();
        done = true;
      },
    });
    cancel = () => subscription.unsubscribe();
  } else {
    run.then((r) => {
      timersAtEnd = pendingTimers();
      result = r;
      done = true;
    });
    cancel = () => controller.abort(new Error('cancelled by the test'));
  }

  let steps = 0;
  let cancelled = false;
  let startedAtCancel = 0;
  const unfinishedAtCancel: number[] = [];
  const finishedAtCancel: number[] = [];
  await flush();
  while (!done) {
    if (s.cancelAfter !== undefined && steps === s.cancelAfter) {
      startedAtCancel = started.length;
      for (const index of started) (finished.has(index) ? finishedAtCancel : unfinishedAtCancel).push(index);
      cancel();
      cancelled = true;
      if (s.mode === 'observable') timersAtEnd = pendingTimers();
      await flush();
      break;
    }
    const keys = [...pending.keys()];
    if (keys.length === 0) throw new Error('the run is waiting on nothing');
    const key = keys[s.choices[steps % s.choices.length] % keys.length];
    pending.get(key)?.settle();
    pending.delete(key);
    steps += 1;
    await flush();
  }
  // Let any task still pending finish, as real work would, and see that nothing reacts to it.
  for (const entry of pending.values()) entry.settle();
  await flush();
  return {
    emitted,
    result,
    started,
    signals,
    peak,
    cancelled,
    startedAtCancel,
    unfinishedAtCancel,
    finishedAtCancel,
    timersBefore,
    timersAtEnd,
  };
}

describe('parallel map engine properties', () => {
  it('yields exactly one result per item, never runs more than the cap, keeps order, and cancels cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const outcome = await play(s);
        const n = s.items.length;

        // The cap holds.
        expect(outcome.peak).toBeLessThanOrEqual(s.concurrency);
        // Nothing starts twice.
        expect(new Set(outcome.started).size).toBe(outcome.started.length);

        if (s.mode === 'observable') {
          const indices = outcome.emitted.map((item) => item.index);
          expect(new Set(indices).size).toBe(indices.length);
          if (s.ordered) expect(indices).toEqual(indices.map((_, i) => i));
          if (!outcome.cancelled) expect(indices.sort((a, b) => a - b)).toEqual([...Array(n).keys()]);
          for (const item of outcome.emitted) {
            expect(item.ok).toBe(!s.items[item.index].fails);
            if (item.ok) expect(item.value).toBe(item.index);
          }
        } else {
          // Cancelled or not, a sized input gets one outcome per item.
          const result = outcome.result;
          expect(result).toBeDefined();
          if (result === undefined) return;
          expect(result.total).toBe(n);
          expect(result.itemResults().map((item) => item.index)).toEqual([...Array(n).keys()]);
          expect(result.status).toBe(outcome.cancelled ? 'cancelled' : 'completed');
          if (!outcome.cancelled) {
            expect(result.itemResults().map((item) => item.ok)).toEqual(s.items.map((item) => !item.fails));
          }
        }

        if (outcome.cancelled) {
          // After a cancel no task starts, every task then running was aborted, and no finished one was.
          expect(outcome.started.length).toBe(outcome.startedAtCancel);
          for (const index of outcome.unfinishedAtCancel) expect(outcome.signals.get(index)?.aborted).toBe(true);
          for (const index of outcome.finishedAtCancel) expect(outcome.signals.get(index)?.aborted).toBe(false);
        } else {
          for (const signal of outcome.signals.values()) expect(signal.aborted).toBe(false);
        }

        // No timer or immediate of the engine's outlives the run.
        if (outcome.timersAtEnd !== -1) expect(outcome.timersAtEnd).toBe(outcome.timersBefore);
      }),
      { numRuns: 300 },
    );
  });
});
