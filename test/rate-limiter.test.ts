import fc from 'fast-check';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../src/index.js';

function virtualTime() {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  scheduler.maxFrames = Number.POSITIVE_INFINITY;
  return scheduler;
}

/** Asks for `count` starts at `at`, recording when each is granted. */
function request(scheduler: TestScheduler, limiter: RateLimiter, at: number, label: string, log: [string, number][]) {
  scheduler.schedule(() => {
    limiter.acquire(() => log.push([label, scheduler.now()]));
  }, at);
}

describe('RateLimiter', () => {
  it('spaces starts evenly with burst 1', () => {
    const scheduler = virtualTime();
    const limiter = new RateLimiter({ limit: 4, interval: 100, scheduler });
    const log: [string, number][] = [];
    for (const label of 'abcde') request(scheduler, limiter, 0, label, log);
    scheduler.flush();
    expect(log).toEqual([
      ['a', 0],
      ['b', 25],
      ['c', 50],
      ['d', 75],
      ['e', 100],
    ]);
  });

  it('lets `burst` starts go back to back after a quiet spell, then refills at the rate', () => {
    const scheduler = virtualTime();
    const limiter = new RateLimiter({ limit: 2, interval: 'second', burst: 3, scheduler });
    const log: [string, number][] = [];
    for (const label of 'abcdef') request(scheduler, limiter, 0, label, log);
    scheduler.flush();
    expect(log.map(([, at]) => at)).toEqual([0, 0, 0, 500, 1000, 1500]);
  });

  it('serves waiters first come, first served, across everyone sharing it', () => {
    const scheduler = virtualTime();
    const shared = new RateLimiter({ limit: 1, interval: 10, scheduler });
    const log: [string, number][] = [];
    request(scheduler, shared, 0, 'map A 1', log);
    request(scheduler, shared, 1, 'map B 1', log);
    request(scheduler, shared, 2, 'map A 2', log);
    request(scheduler, shared, 3, 'map B 2', log);
    scheduler.flush();
    expect(log).toEqual([
      ['map A 1', 0],
      ['map B 1', 10],
      ['map A 2', 20],
      ['map B 2', 30],
    ]);
  });

  it('lets a cancelled waiter consume nothing', () => {
    const scheduler = virtualTime();
    const limiter = new RateLimiter({ limit: 1, interval: 10, scheduler });
    const log: [string, number][] = [];
    request(scheduler, limiter, 0, 'a', log);
    scheduler.schedule(() => {
      const waiter = limiter.acquire(() => log.push(['cancelled', scheduler.now()]));
      scheduler.schedule(() => waiter?.cancel(), 5);
    }, 0);
    request(scheduler, limiter, 0, 'c', log);
    scheduler.flush();
    expect(log).toEqual([
      ['a', 0],
      ['c', 10],
    ]);
  });

  it('holds every start during a pause, the furthest pause winning, then releases at the refill pace', () => {
    const scheduler = virtualTime();
    const limiter = new RateLimiter({ limit: 10, interval: 100, burst: 5, scheduler });
    const log: [string, number][] = [];
    scheduler.schedule(() => {
      limiter.pause(300);
      limiter.pause(100); // shorter: ignored
    }, 0);
    for (const label of 'abcd') request(scheduler, limiter, 1, label, log);
    scheduler.flush();
    // Not a herd of 5 at 300, but one, then one every 10 ms.
    expect(log.map(([, at]) => at)).toEqual([300, 310, 320, 330]);
  });

  it('leaves no timer behind once nobody waits', () => {
    const scheduler = virtualTime();
    const limiter = new RateLimiter({ limit: 1, interval: 1_000, scheduler });
    limiter.acquire(() => {});
    const waiter = limiter.acquire(() => {});
    expect(scheduler.actions.length).toBe(1);
    waiter?.cancel();
    expect(scheduler.actions.filter((action) => !action.closed).length).toBe(0);
  });

  it('wait() resolves in turn, and an aborted wait rejects and consumes nothing', async () => {
    const limiter = new RateLimiter({ limit: 1, interval: 'hour' });
    await limiter.wait(); // the hour's one token: the next wait must queue
    const controller = new AbortController();
    const waiting = limiter.wait(controller.signal);
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    await expect(limiter.wait(AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });

  it('never allows more than limit + burst − 1 starts in any window of `interval`', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 5, max: 200 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(
          fc.record({ at: fc.integer({ min: 0, max: 600 }), cancelAfter: fc.option(fc.integer({ min: 0, max: 50 })) }),
          {
            maxLength: 40,
          },
        ),
        fc.option(fc.record({ at: fc.integer({ min: 0, max: 600 }), ms: fc.integer({ min: 0, max: 300 }) })),
        (limit, interval, burst, requests, pause) => {
          const scheduler = virtualTime();
          const limiter = new RateLimiter({ limit, interval, burst, scheduler });
          const granted: { id: number; at: number }[] = [];
          const cancelled = new Set<number>();
          requests.forEach((r, id) => {
            scheduler.schedule(() => {
              const waiter = limiter.acquire(() => granted.push({ id, at: scheduler.now() }));
              if (waiter !== undefined && r.cancelAfter !== null) {
                scheduler.schedule(() => {
                  if (!granted.some((g) => g.id === id)) cancelled.add(id);
                  waiter.cancel();
                }, r.cancelAfter);
              }
            }, r.at);
          });
          if (pause !== null) scheduler.schedule(() => limiter.pause(pause.ms), pause.at);
          scheduler.flush();

          // Every request that was not cancelled started, once; no cancelled one did.
          expect(granted.length + cancelled.size).toBe(requests.length);
          expect(granted.some((g) => cancelled.has(g.id))).toBe(false);
          // Any half-open window of `interval` holds at most limit + burst − 1 starts.
          const times = granted.map((g) => g.at).sort((a, b) => a - b);
          for (let i = 0; i < times.length; i++) {
            const inWindow = times.filter((t) => t >= times[i] && t < times[i] + interval).length;
            expect(inWindow).toBeLessThanOrEqual(limit + burst - 1);
          }
          // Nothing started during the pause.
          if (pause !== null) {
            expect(granted.some((g) => g.at > pause.at && g.at < pause.at + pause.ms)).toBe(false);
          }
          // First come, first served: grants follow arrival order (ties by request order).
          const arrival = (id: number) => requests[id].at * 1000 + id;
          const order = granted.map((g) => g.id);
          expect(order).toEqual([...order].sort((a, b) => arrival(a) - arrival(b)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('throws at construction for bad options, naming them', () => {
    expect(() => new RateLimiter({ limit: 0, interval: 'second' })).toThrow(/`limit` must be a positive finite number/);
    expect(() => new RateLimiter({ limit: -1, interval: 'second' })).toThrow(RangeError);
    expect(() => new RateLimiter({ limit: Number.NaN, interval: 'second' })).toThrow(RangeError);
    expect(() => new RateLimiter({ limit: 1, interval: 'day' as never })).toThrow(
      /`interval` must be a number of ms, 'second', 'minute' or 'hour', got "day"/,
    );
    expect(() => new RateLimiter({ limit: 1, interval: -5 })).toThrow(RangeError);
    expect(() => new RateLimiter({ limit: 1, interval: 10, burst: 0 })).toThrow(/`burst`/);
    expect(() => new RateLimiter(undefined as never)).toThrow(TypeError);
    expect(() => new RateLimiter({ limit: 1, interval: 10 }).pause(-1)).toThrow(RangeError);
  });
});
