import { filter, from, lastValueFrom, map, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { mapParallel } from '../operators/index.js';
import type { ItemResult } from '../src/index.js';

/** @test {mapParallel} */
describe('mapParallel', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  const value = (item: ItemResult<string>) => (item.ok ? item.value : `error:${String(item.error)}`);

  it('never subscribes more tasks than the cap: the third waits for a free slot', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const tasks = {
        a: cold('   ---a|'),
        b: cold('   -----b|'),
        c: cold('   --c|'),
      };
      const source = cold('(abc|)');
      const subsA = '  ^---!';
      const subsB = '  ^-----!';
      const subsC = '  ----^--!';
      const expected = '----a-b(c|)';

      const result = source.pipe(
        mapParallel((key: string) => tasks[key as keyof typeof tasks], { concurrency: 2 }),
        map(value),
      );
      expectObservable(result).toBe(expected);
      expectSubscriptions(tasks.a.subscriptions).toBe(subsA);
      expectSubscriptions(tasks.b.subscriptions).toBe(subsB);
      expectSubscriptions(tasks.c.subscriptions).toBe(subsC);
    });
  });

  it('unsubscribes every task in flight, and starts none after, when the result is unsubscribed', () => {
    testScheduler.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const tasks = { a: cold('-----a|'), b: cold('-----b|'), c: cold('-c|') };
      const source = hot('   -a-b---c-|');
      const unsub = '        ------!';
      const subsA = '        -^----!';
      const subsB = '        ---^--!';
      const expected = '     -------';

      const result = source.pipe(
        mapParallel((key: string) => tasks[key as keyof typeof tasks], { concurrency: 2 }),
        map(value),
      );
      expectObservable(result, unsub).toBe(expected);
      expectSubscriptions(tasks.a.subscriptions).toBe(subsA);
      expectSubscriptions(tasks.b.subscriptions).toBe(subsB);
      expectSubscriptions(tasks.c.subscriptions).toBe([]);
    });
  });

  it('emits in source order with ordered: true, holding a fast result behind a slow one', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const tasks = { a: cold('----a|'), b: cold('-b|'), c: cold('--c|') };
      const source = cold('(abc|)');
      const expected = '-----(abc|)';
      const result = source.pipe(
        mapParallel((key: string) => tasks[key as keyof typeof tasks], { concurrency: 3, ordered: true }),
        map(value),
      );
      expectObservable(result).toBe(expected);
    });
  });

  it('turns a failing task into a failed ItemResult, not an error of the stream', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const tasks = { a: cold('--#', {}, 'bad'), b: cold('---b|') };
      const result = cold('(ab|)').pipe(
        mapParallel((key: string) => tasks[key as keyof typeof tasks]),
        map(value),
      );
      expectObservable(result).toBe('--x-(b|)', { x: 'error:bad', b: 'b' });
    });
  });

  it('stops the whole run at its deadline (virtual time)', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('----------s|');
      const result = cold('(ss|)').pipe(
        mapParallel(() => slow, { deadline: 5 }),
        map((item) => (item.ok ? 'ok' : (item.error as Error).name)),
      );
      expectObservable(result).toBe('-----(tt|)', { t: 'TimeoutError' });
      expectSubscriptions(slow.subscriptions).toBe(['^----!', '^----!']);
    });
  });

  it('measures durations on the scheduler it is given', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const tasks = { a: cold('---a|'), b: cold('-b|') };
      const result = cold('(ab|)').pipe(
        mapParallel((key: string) => tasks[key as keyof typeof tasks], { scheduler: testScheduler }),
        map((item) => item.durationMs),
      );
      expectObservable(result).toBe('--x-(y|)', { x: 2, y: 4 });
    });
  });

  it('plugs into a pipeline of Promise tasks', async () => {
    const values = await lastValueFrom(
      from([3, 1, 2]).pipe(
        mapParallel(async (x: number) => x * 2, { ordered: true }),
        filter((item) => item.ok),
        map((item) => (item.ok ? item.value : 0)),
        toArray(),
      ),
    );
    expect(values).toEqual([6, 2, 4]);
  });

  it('throws at the call for a bad function or options', () => {
    expect(() => mapParallel(3 as never)).toThrow(TypeError);
    expect(() => mapParallel((x: number) => x, { concurrency: 0 })).toThrow(RangeError);
  });
});
