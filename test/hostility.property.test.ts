import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConcurrencyLimit, parallelMap, RateLimiter, type RunEvent, type TaskContext } from '../src/index.js';

/**
 * A property test of hostility: user code throws and cancels land at random points of the engine's machinery (event
 * listeners, `onProgress`, the retry hooks, while items wait for permits, tokens and backoffs), under fake timers. Whatever
 * happens, the run settles, each item has exactly one outcome, nothing starts after the cancel, and no permit, token
 * waiter, timer, signal listener or unhandled rejection is left behind.
 */

type Hook = 'event' | 'onProgress' | 'onRetry' | 'retryIf' | 'none';

interface Scenario {
  items: { sync: boolean; failures: number; delay: number }[];
  concurrency: number;
  permits: number | undefined;
  rate: boolean;
  attempts: number;
  backoff: number;
  hook: Hook;
  eventType: RunEvent['type'];
  /** The hook acts on its n-th call. */
  at: number;
  action: 'throw' | 'cancel';
  stopOnError: boolean;
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  items: fc.array(
    fc.record({ sync: fc.boolean(), failures: fc.integer({ min: 0, max: 3 }), delay: fc.integer({ min: 0, max: 5 }) }),
    { minLength: 1, maxLength: 12 },
  ),
  concurrency: fc.integer({ min: 1, max: 5 }),
  permits: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
  rate: fc.boolean(),
  attempts: fc.integer({ min: 1, max: 3 }),
  backoff: fc.constantFrom(0, 1, 7),
  hook: fc.constantFrom<Hook>('event', 'onProgress', 'onRetry', 'retryIf', 'none'),
  eventType: fc.constantFrom<RunEvent['type']>('queued', 'started', 'retrying', 'succeeded', 'failed', 'progress'),
  at: fc.integer({ min: 1, max: 6 }),
  action: fc.constantFrom('throw' as const, 'cancel' as const),
  stopOnError: fc.boolean(),
});

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

async function play(s: Scenario): Promise<void> {
  vi.useFakeTimers();
  try {
    const controller = new AbortController();
    const added = vi.spyOn(controller.signal, 'addEventListener');
    const removed = vi.spyOn(controller.signal, 'removeEventListener');
    const limit = s.permits === undefined ? undefined : new ConcurrencyLimit(s.permits);
    const limiter = s.rate ? new RateLimiter({ limit: 1_000, interval: 'second', burst: 2 }) : undefined;
    const failuresLeft = s.items.map((item) => item.failures);
    let cancelled = false;
    let startedAfterCancel = 0;
    let running = 0;
    let calls = 0;
    const hostile = new Error('hostile');
    const act = () => {
      if (++calls !== s.at) return;
      if (s.action === 'throw') throw hostile;
      cancelled = true;
      controller.abort();
    };

    const fn = function (this: TaskContext, index: number) {
      if (cancelled) startedAfterCancel += 1;
      const item = s.items[index];
      const fails = failuresLeft[index] > 0;
      if (fails) failuresLeft[index] -= 1;
      if (item.sync) {
        if (fails) throw new Error(`item ${index} fails`);
        return index;
      }
      running += 1;
      return new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          running -= 1;
          if (fails) reject(new Error(`item ${index} fails`));
          else resolve(index);
        }, item.delay);
        this.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          running -= 1;
          reject(this.signal.reason);
        });
      });
    };

    const run = parallelMap(
      fn,
      s.items.map((_, index) => index),
      {
        concurrency: s.concurrency,
        signal: controller.signal,
        stopOnError: s.stopOnError,
        concurrencyLimit: limit,
        rateLimit: limiter,
        retry: {
          attempts: s.attempts,
          backoff: s.backoff,
          jitter: 'none',
          onRetry: s.hook === 'onRetry' ? act : undefined,
          retryIf:
            s.hook === 'retryIf'
              ? () => {
                  act();
                  return true;
                }
              : undefined,
        },
        onProgress: s.hook === 'onProgress' ? act : undefined,
        onEvent: s.hook === 'event' ? (event) => event.type === s.eventType && act() : undefined,
      },
    );
    let outcome: { result?: Awaited<typeof run>; error?: unknown } | undefined;
    run.then(
      (result) => (outcome = { result }),
      (error: unknown) => (outcome = { error }),
    );
    for (let step = 0; step < 200 && outcome === undefined; step++) await vi.advanceTimersByTimeAsync(5);

    expect(outcome, 'the run settles').toBeDefined();
    expect(startedAfterCancel, 'nothing starts after a cancel').toBe(0);
    if (outcome?.result !== undefined) {
      const indices = outcome.result.itemResults().map((item) => item.index);
      expect(indices, 'each item has exactly one outcome').toEqual(s.items.map((_, index) => index));
    } else {
      expect(outcome?.error, 'a run fails only with the hostile error').toBe(hostile);
    }
    // Let aborted tasks finish their own cleanup, then nothing may be left.
    await vi.advanceTimersByTimeAsync(50);
    expect(running, 'every task ended').toBe(0);
    expect(limit?.active ?? 0, 'no permit held').toBe(0);
    expect(limit?.waiting ?? 0, 'no permit waiter').toBe(0);
    expect(vi.getTimerCount(), 'no timer left').toBe(0);
    expect(removed.mock.calls.length, 'the signal listener is removed').toBe(added.mock.calls.length);
    expect(unhandled, 'no unhandled rejection').toEqual([]);
  } finally {
    vi.useRealTimers();
  }
}

describe('engine under hostile user code (property)', () => {
  it('settles, reports each item once, starts nothing after a cancel and leaves nothing behind', async () => {
    await fc.assert(fc.asyncProperty(scenario, play), { numRuns: 1_000 });
  });
});
