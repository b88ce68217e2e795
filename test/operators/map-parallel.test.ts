import { filter, from, lastValueFrom, map, mergeMap, Observable, of, range, Subject, take, tap, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { mapParallel } from '../../operators/index.js';
import { BufferOverflowError, type ItemResult, parallelMap, type TaskContext, task } from '../../src/index.js';
import { synchronousSource } from './operator-checks.js';

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

  it('does not break unsubscription chains when unsubscribed explicitly', () => {
    testScheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const source = hot('--a--b--c--|');
      const inner = cold('-x|');
      const unsub = '     ------!';
      const result = source.pipe(
        mergeMap((x) => of(x)),
        mapParallel(() => inner),
        map(value),
        mergeMap((x) => of(x)),
      );
      expectObservable(result, unsub).toBe('----x-', { x: 'x' });
      expectSubscriptions(source.subscriptions).toBe('^-----!');
      expectSubscriptions(inner.subscriptions).toBe(['--^-!', '-----^!']);
    });
  });

  it('stops a synchronous source as soon as a downstream take(1) has its value', () => {
    const sideEffects: number[] = [];
    synchronousSource(Number.POSITIVE_INFINITY, sideEffects)
      .pipe(
        mapParallel((x: number) => x),
        take(1),
      )
      .subscribe(() => {});
    expect(sideEffects).toEqual([0]);
  });

  it('takes a synchronous source of any size, as mergeMap does; a bound on its queue is opt-in', async () => {
    const result = await lastValueFrom(
      range(0, 50_000).pipe(
        mapParallel(async (x: number) => x),
        toArray(),
      ),
    );
    expect(result).toHaveLength(50_000);
    expect(result.every((item) => item.ok)).toBe(true);
    const bounded = lastValueFrom(range(0, 100).pipe(mapParallel(async (x: number) => x, { bufferSize: 10 })));
    await expect(bounded).rejects.toBeInstanceOf(BufferOverflowError);
  });

  it('turns what the function throws into a failed ItemResult', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const result = cold('ab|').pipe(
        mapParallel((key: string) => {
          if (key === 'a') throw new Error('thrown');
          return key;
        }),
        map((item) => (item.ok ? item.value : (item.error as Error).message)),
      );
      expectObservable(result).toBe('ab|', { a: 'thrown', b: 'b' });
    });
  });

  it('takes values emitted reentrantly, each exactly once', () => {
    const subject = new Subject<number>();
    const seen: number[] = [];
    subject
      .pipe(
        mapParallel((x: number) => x, { concurrency: 1 }),
        tap((item) => {
          if (item.ok && item.value < 5) subject.next(item.value + 1); // emitted while a result is delivered
        }),
      )
      .subscribe((item) => seen.push(item.ok ? item.value : -1));
    subject.next(1);
    subject.complete();
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it('returns a stream, never a thenable, so an async function returning it is not awaited by accident', async () => {
    const stream = async (): Promise<Observable<ItemResult<number>>> =>
      from([1, 2]).pipe(mapParallel(async (x: number) => x * 2));
    const result = await stream();
    expect(result).toBeInstanceOf(Observable);
    expect('then' in result).toBe(false);
    const items = await lastValueFrom(result.pipe(toArray()));
    expect(items.map((item) => item.ok && item.value).sort()).toEqual([2, 4]);
    // To await a map of a source, parallelMap takes the Observable.
    expect((await parallelMap(async (x: number) => x * 2, from([1, 2]))).values()).toEqual([2, 4]);
  });

  it('a bad source is a TypeError where the operator is applied', () => {
    expect(() => mapParallel((x: number) => x)(null as never)).toThrow(TypeError);
  });

  it('throws at the call for a bad function or options', () => {
    expect(() => mapParallel(3 as never)).toThrow(TypeError);
    expect(() => mapParallel((x: number) => x, { concurrency: 0 })).toThrow(RangeError);
  });
});

describe('a task run a mapper returns runs as the map’s attempt (outside review of issue 15)', () => {
  it('sees the map’s attempt and index, and its timeout as the abort reason', async () => {
    const seen: [number, number | undefined][] = [];
    const getUser = task(function (this: TaskContext, id: number) {
      seen.push([this.attempt, this.index]);
      if (this.attempt < 2) throw new Error('flaky');
      return id;
    });
    const result = await parallelMap((id: number) => getUser(id), [7], { retry: { attempts: 2, backoff: 0 } });
    expect(result.values()).toEqual([7]);
    expect(seen).toEqual([
      [1, 0],
      [2, 0],
    ]);
    let signal: AbortSignal | undefined;
    const hang = task(function (this: TaskContext) {
      signal = this.signal;
      return new Promise(() => {});
    });
    const timedOut = await parallelMap(() => hang(), [1], { timeout: 5 });
    expect((timedOut.failures()[0].error as Error).name).toBe('TimeoutError');
    expect(signal?.reason).toBe(timedOut.failures()[0].error);
  });
});
