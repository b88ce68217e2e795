import { describe, expect, it, vi } from 'vitest';
import { events$, parallelMap, type RunEvent, type TaskContext, task } from '../src/index.js';

describe('run events', () => {
  const flaky = task(
    async function (this: TaskContext, x: number) {
      if (x === 2 && this.attempt === 1) throw new Error('flaky');
      if (x === 3) throw new Error('broken');
      return x;
    },
    { name: 'flaky', runName: 'item {x}', retry: { attempts: 2, backoff: 1 } },
  );

  it('reports each item’s queued, started, retrying, succeeded and failed, with progress', async () => {
    const events: RunEvent[] = [];
    await parallelMap(flaky, [1, 2, 3], { concurrency: 1, onEvent: (event) => events.push(event) });
    const item2 = events.filter((e) => e.index === 1).map((e) => `${e.type}#${e.attempt}`);
    expect(item2).toEqual(['queued#1', 'started#1', 'retrying#1', 'started#2', 'succeeded#2']);
    const item3 = events.filter((e) => e.index === 2).map((e) => e.type);
    expect(item3).toEqual(['queued', 'started', 'retrying', 'started', 'failed']);
    const ended = events.find((e) => e.type === 'failed');
    expect(ended).toMatchObject({ task: 'flaky', runName: 'item 3', attempt: 2, error: new Error('broken') });
    expect(ended && 'durationMs' in ended && ended.durationMs).toBeGreaterThanOrEqual(0);
    const progress = events.filter((e) => e.type === 'progress').map((e) => (e.type === 'progress' ? e.done : 0));
    expect(progress).toEqual([1, 2, 3]);
    expect(events.every((e) => typeof e.time === 'number')).toBe(true);
  });

  it('reports cancellations of the tasks in flight', async () => {
    const events: RunEvent[] = [];
    const run = parallelMap(() => new Promise(() => {}), [1, 2], { onEvent: (event) => events.push(event) });
    const subscription = run.subscribe();
    subscription.unsubscribe();
    expect(events.filter((e) => e.type === 'cancelled').map((e) => e.index)).toEqual([0, 1]);
  });

  it('streams a run’s events on run.events$, and every run’s on events$', async () => {
    const run = parallelMap(async (x: number) => x, [1, 2]);
    const globalTypes: string[] = [];
    const subscription = events$.subscribe((event) => globalTypes.push(event.type));
    const seen: string[] = [];
    run.events$.subscribe((event) => seen.push(event.type));
    await run;
    await task((x: number) => x, { name: 'single' })(1);
    subscription.unsubscribe();
    expect(seen.filter((type) => type === 'succeeded')).toHaveLength(2);
    expect(globalTypes.filter((type) => type === 'succeeded')).toHaveLength(3);
  });

  it('reports a single call, including its cancellation', async () => {
    const events: RunEvent[] = [];
    const hang = task(() => new Promise(() => {}), { name: 'hang', onEvent: (event) => events.push(event) });
    hang().subscribe().unsubscribe();
    expect(events.map((e) => e.type)).toEqual(['queued', 'started', 'cancelled']);
    expect(events[0]).toMatchObject({ task: 'hang', runName: 'hang', index: undefined, attempt: 1 });
  });

  it('builds nothing when nobody listens, but calls a runName function all the same (its throw must not depend on a listener)', async () => {
    const runName = vi.fn((x: number) => `item ${x}`);
    const named = task((x: number) => x, { runName });
    await parallelMap(named, [1, 2, 3]);
    await named(4);
    expect(runName.mock.calls).toEqual([[1], [2], [3], [4]]);
  });

  it('throws a TypeError for an onEvent that is not a function', () => {
    expect(() => parallelMap((x: number) => x, [1], { onEvent: 'log' as never })).toThrow(
      /`onEvent` must be a function/,
    );
    expect(() => task(() => 1, { onEvent: 1 as never })).toThrow(TypeError);
  });
});
