import { lastValueFrom, Observable, of, Subject, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BufferOverflowError,
  gather,
  ItemError,
  NotStartedError,
  parallelMap,
  type TaskContext,
  TimeoutError,
  task,
  unmapped,
} from '../src/index.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A task that records how many run at once, and every signal it was given. */
function tracked(fn: (x: number) => Promise<number> | number = async (x) => x) {
  const state = { running: 0, peak: 0, started: [] as number[], signals: [] as AbortSignal[] };
  const run = async function (this: TaskContext, x: number) {
    state.running += 1;
    state.peak = Math.max(state.peak, state.running);
    state.started.push(x);
    state.signals.push(this.signal);
    try {
      return await fn(x);
    } finally {
      state.running -= 1;
    }
  };
  return { state, run };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('parallelMap: results', () => {
  it('resolves a ParallelResult whose values are in input order', async () => {
    const result = await parallelMap(
      async (x: number) => {
        await sleep(10 - x);
        return x * 10;
      },
      [1, 2, 3, 4],
    );
    expect(result.status).toBe('completed');
    expect(result.ok).toBe(true);
    expect(result.total).toBe(4);
    expect(result.values()).toEqual([10, 20, 30, 40]);
  });

  it('streams ItemResults in completion order', async () => {
    vi.useFakeTimers();
    const pending = lastValueFrom(
      parallelMap((ms: number) => sleep(ms).then(() => ms), [30, 10, 20], { concurrency: 3 }).pipe(toArray()),
    );
    await vi.advanceTimersByTimeAsync(30);
    const items = await pending;
    expect(items.map((item) => item.index)).toEqual([1, 2, 0]);
    expect(items[0]).toMatchObject({ index: 1, ok: true, value: 10, attempts: 1 });
    expect(items.every((item) => typeof item.durationMs === 'number' && item.durationMs >= 0)).toBe(true);
  });

  it('streams in input order with ordered: true', async () => {
    const items = await lastValueFrom(
      parallelMap((ms: number) => sleep(ms).then(() => ms), [30, 10, 20], { ordered: true }).pipe(toArray()),
    );
    expect(items.map((item) => (item.ok ? item.value : undefined))).toEqual([30, 10, 20]);
  });

  it('runs sync, async and Observable-returning functions', async () => {
    expect((await parallelMap((x: number) => x + 1, [1, 2])).values()).toEqual([2, 3]);
    expect((await parallelMap((x: number) => of(x, x * 100), [1, 2])).values()).toEqual([100, 200]);
    expect((await parallelMap((x: number) => Promise.resolve(`${x}`), [1])).values()).toEqual(['1']);
  });

  it('gives the function its TaskContext with the item index', async () => {
    const seen: [number | undefined, string][] = [];
    const tagged = task(
      function (this: TaskContext, x: string) {
        seen.push([this.index, this.name]);
        return x;
      },
      { name: 'tagged' },
    );
    await parallelMap(tagged, ['a', 'b', 'c']);
    expect(seen).toEqual([
      [0, 'tagged'],
      [1, 'tagged'],
      [2, 'tagged'],
    ]);
  });

  it('runs 1e6 synchronously completing tasks without a stack overflow', async () => {
    const items = Array.from({ length: 1_000_000 }, (_, i) => i);
    const result = await parallelMap((x: number) => x, items, { concurrency: 4 });
    expect(result.total).toBe(1_000_000);
    expect(result.values()[999_999]).toBe(999_999);
    let count = 0;
    await new Promise<void>((resolve) =>
      parallelMap((x: number) => x, items, { ordered: true }).subscribe({ next: () => count++, complete: resolve }),
    );
    expect(count).toBe(1_000_000);
  });

  it('nests: a task that returns a parallel map yields its ParallelResult', async () => {
    const wordLengths = task((sentence: string) => parallelMap((word: string) => word.length, sentence.split(' ')));
    const outer = await parallelMap(wordLengths, ['a bb', 'ccc']);
    expect(outer.values().map((inner) => inner.values())).toEqual([[1, 2], [3]]);
    const [direct] = await gather(wordLengths('dddd e'));
    expect(direct.values()).toEqual([4, 1]);
  });

  it('memoizes await: awaiting the same run twice runs it once', async () => {
    const fn = vi.fn(async (x: number) => x);
    const run = parallelMap(fn, [1, 2]);
    const [first, second] = await Promise.all([run, run]);
    expect(first).toBe(second);
    expect(fn).toHaveBeenCalledTimes(2);
  });
});

describe('parallelMap: concurrency and pulling', () => {
  it('never runs more tasks than the cap', async () => {
    const { state, run } = tracked(async (x) => {
      await sleep(x % 3);
      return x;
    });
    await parallelMap(
      run,
      Array.from({ length: 50 }, (_, i) => i),
      { concurrency: 4 },
    );
    expect(state.peak).toBe(4);
  });

  it('defaults to a cap of 16, and Infinity runs everything at once', async () => {
    const capped = tracked(() => sleep(1).then(() => 0));
    await parallelMap(
      capped.run,
      Array.from({ length: 40 }, (_, i) => i),
    );
    expect(capped.state.peak).toBe(16);
    const unbounded = tracked(() => sleep(1).then(() => 0));
    await parallelMap(
      unbounded.run,
      Array.from({ length: 40 }, (_, i) => i),
      { concurrency: Number.POSITIVE_INFINITY },
    );
    expect(unbounded.state.peak).toBe(40);
  });

  it('pulls a generator only as slots free: a billion items are never materialized', async () => {
    let pulled = 0;
    function* billion() {
      for (let i = 0; i < 1e9; i++) {
        pulled += 1;
        yield i;
      }
    }
    const firstFive = await lastValueFrom(
      parallelMap(async (x: number) => x, billion(), { concurrency: 3 }).pipe(take(5), toArray()),
    );
    expect(firstFive).toHaveLength(5);
    expect(pulled).toBeLessThanOrEqual(5 + 3);
  });

  it('reads an AsyncIterable one item at a time', async () => {
    async function* letters() {
      for (const letter of 'abcd') {
        await sleep(1);
        yield letter;
      }
    }
    const result = await parallelMap((s: string) => s.toUpperCase(), letters(), { concurrency: 2 });
    expect(result.values()).toEqual(['A', 'B', 'C', 'D']);
  });

  it('holds admission back for a slow for-await loop: read-ahead stays within the window', async () => {
    let pulled = 0;
    function* numbers() {
      for (let i = 0; i < 1000; i++) {
        pulled += 1;
        yield i;
      }
    }
    let consumed = 0;
    let widest = 0;
    for await (const item of parallelMap(async (x: number) => x, numbers(), { concurrency: 4, window: 8 })) {
      consumed += 1;
      widest = Math.max(widest, pulled - consumed);
      expect(item.ok).toBe(true);
      await sleep(0);
    }
    expect(consumed).toBe(1000);
    expect(widest).toBeLessThanOrEqual(8);
  });

  it('holds admission back behind a straggler when ordered, instead of growing the buffer', async () => {
    vi.useFakeTimers();
    const { state, run } = tracked(async (x) => {
      await sleep(x === 0 ? 1000 : 1);
      return x;
    });
    const results: number[] = [];
    parallelMap(
      run,
      Array.from({ length: 100 }, (_, i) => i),
      { concurrency: 2, ordered: true, window: 5 },
    ).subscribe((item) => results.push(item.index));
    await vi.advanceTimersByTimeAsync(500);
    // Item 0 is still running: no more than `window` items were admitted.
    expect(state.started).toEqual([0, 1, 2, 3, 4]);
    expect(results).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(results).toHaveLength(100);
    expect(results).toEqual([...results].sort((a, b) => a - b));
  });

  it('maps an Observable source with mapParallel semantics and fails loudly when its buffer overflows', async () => {
    const source = new Subject<number>();
    const pending = lastValueFrom(
      parallelMap(() => new Promise(() => {}), source, { concurrency: 1, bufferSize: 2 }).pipe(toArray()),
    );
    source.next(1); // runs
    source.next(2); // waits
    source.next(3); // waits
    source.next(4); // one too many
    await expect(pending).rejects.toBeInstanceOf(BufferOverflowError);
    expect(source.observed).toBe(false);
  });
});

describe('parallelMap: failures', () => {
  const failOdd = async (x: number) => {
    if (x % 2 === 1) throw new Error(`odd ${x}`);
    return x;
  };

  it('runs every item by default and collects failures', async () => {
    const result = await parallelMap(failOdd, [0, 1, 2, 3, 4]);
    expect(result.status).toBe('completed');
    expect(result.ok).toBe(false);
    expect(result.okValues()).toEqual([0, 2, 4]);
    expect(result.successes().map((s) => s.index)).toEqual([0, 2, 4]);
    expect(result.failures().map((f) => [f.index, (f.error as Error).message])).toEqual([
      [1, 'odd 1'],
      [3, 'odd 3'],
    ]);
    expect(result.itemResults().map((r) => r.ok)).toEqual([true, false, true, false, true]);
  });

  it('values() throws an AggregateError whose errors carry their item index', async () => {
    const result = await parallelMap(failOdd, [0, 1, 2, 3]);
    let thrown: unknown;
    try {
      result.values();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AggregateError);
    const errors = (thrown as AggregateError).errors as ItemError[];
    expect(errors.map((e) => e.index)).toEqual([1, 3]);
    expect(errors[0]).toBeInstanceOf(ItemError);
    expect((errors[0].cause as Error).message).toBe('odd 1');
  });

  it('reports a sync throw as that item failing', async () => {
    const result = await parallelMap(
      (x: number) => {
        if (x === 1) throw new TypeError('sync');
        return x;
      },
      [0, 1, 2],
    );
    expect(result.failures()[0].error).toBeInstanceOf(TypeError);
    expect(result.okValues()).toEqual([0, 2]);
  });

  it('stopOnError stops admission, aborts what is in flight and marks the unstarted', async () => {
    const { state, run } = tracked(async (x) => {
      await sleep(x === 1 ? 1 : 50);
      if (x === 1) throw new Error('boom');
      return x;
    });
    const result = await parallelMap(run, [0, 1, 2, 3, 4, 5], { concurrency: 2, stopOnError: true });
    expect(result.status).toBe('aborted');
    expect(state.started).toEqual([0, 1]);
    expect(state.signals[0].aborted).toBe(true);
    expect(state.signals[1].aborted).toBe(false);
    const failures = result.failures();
    expect(failures.map((f) => f.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect((failures[0].error as DOMException).name).toBe('AbortError');
    expect((failures[1].error as Error).message).toBe('boom');
    expect(failures.slice(2).every((f) => f.error instanceof NotStartedError && f.attempts === 0)).toBe(true);
  });

  it('maxErrors aborts after n failures with bounded extra work', async () => {
    const { state, run } = tracked(async (x) => {
      await sleep(1);
      throw new Error(`fail ${x}`);
    });
    const result = await parallelMap(
      run,
      Array.from({ length: 100 }, (_, i) => i),
      { concurrency: 3, maxErrors: 5 },
    );
    expect(result.status).toBe('aborted');
    expect(state.started.length).toBeLessThanOrEqual(5 + 3);
    expect(result.total).toBe(100);
    expect(result.failures().filter((f) => f.error instanceof NotStartedError)).toHaveLength(
      100 - state.started.length,
    );
  });

  it('fails the run when the source itself throws, aborting what is in flight', async () => {
    const { state, run } = tracked(() => new Promise<number>(() => {}));
    function* broken() {
      yield 1;
      throw new Error('source broke');
    }
    await expect(parallelMap(run, broken(), { concurrency: 4 })).rejects.toThrow('source broke');
    expect(state.signals[0].aborted).toBe(true);
  });

  it('fails the run when an async source rejects', async () => {
    // biome-ignore lint/correctness/useYield: the source fails before yielding anything.
    async function* broken(): AsyncGenerator<number> {
      throw new Error('async source broke');
    }
    await expect(parallelMap((x: number) => x, broken())).rejects.toThrow('async source broke');
  });
});

describe('parallelMap: progress, deadline and cancellation', () => {
  it('calls onProgress after each item with done and total', async () => {
    const progress: [number, number][] = [];
    await parallelMap(async (x: number) => x, [1, 2, 3], { onProgress: (done, total) => progress.push([done, total]) });
    expect(progress).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
  });

  it('grows the total for unsized input', async () => {
    const totals: number[] = [];
    function* three() {
      yield* [1, 2, 3];
    }
    await parallelMap(async (x: number) => x, three(), {
      concurrency: 1,
      onProgress: (_, total) => totals.push(total),
    });
    expect(totals).toEqual([1, 2, 3]);
  });

  it('times the whole run out at its deadline', async () => {
    vi.useFakeTimers();
    const { state, run } = tracked((x) => sleep(x * 100).then(() => x));
    // A run is lazy: `then` starts it.
    const pending = parallelMap(run, [1, 2, 5, 6, 7, 8], { concurrency: 3, deadline: 250 }).then((result) => result);
    await vi.advanceTimersByTimeAsync(250);
    const result = await pending;
    expect(result.status).toBe('timed_out');
    expect(result.okValues()).toEqual([1, 2]);
    const failures = result.failures();
    expect(failures.map((f) => f.index)).toEqual([2, 3, 4, 5]);
    expect(failures[0].error).toBeInstanceOf(TimeoutError);
    expect((failures[0].error as TimeoutError).name).toBe('TimeoutError');
    expect(failures.filter((f) => f.error instanceof NotStartedError)).toHaveLength(1);
    expect(state.signals.filter((s) => s.aborted)).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(3); // only the tasks' own sleeps remain, none of rxtask's
  });

  it('cancels on its signal', async () => {
    const controller = new AbortController();
    const { state, run } = tracked(() => new Promise<number>(() => {}));
    const pending = parallelMap(run, [1, 2, 3, 4], { concurrency: 2, signal: controller.signal }).then((r) => r);
    await sleep(1);
    controller.abort(new Error('user cancelled'));
    const result = await pending;
    expect(result.status).toBe('cancelled');
    expect(state.started).toEqual([1, 2]);
    expect(state.signals.every((s) => s.aborted)).toBe(true);
    expect(result.failures().map((f) => (f.error as Error).message ?? f.error)).toEqual([
      'user cancelled',
      'user cancelled',
      'The item never started: the run was cancelled first',
      'The item never started: the run was cancelled first',
    ]);
  });

  it('does nothing with an already-aborted signal', async () => {
    const fn = vi.fn((x: number) => x);
    const result = await parallelMap(fn, [1, 2], { signal: AbortSignal.abort() });
    expect(fn).not.toHaveBeenCalled();
    expect(result.status).toBe('cancelled');
  });

  it('stops admission and aborts every task in flight when unsubscribed', async () => {
    const { state, run } = tracked(() => new Promise<number>(() => {}));
    const subscription = parallelMap(run, [1, 2, 3, 4, 5], { concurrency: 3 }).subscribe();
    await sleep(1);
    subscription.unsubscribe();
    await sleep(1);
    expect(state.started).toEqual([1, 2, 3]);
    expect(state.signals.every((s) => s.aborted)).toBe(true);
  });

  it('cancels when a for-await loop is left early', async () => {
    const { state, run } = tracked(async (x) => {
      await sleep(x);
      return x;
    });
    for await (const item of parallelMap(run, [1, 50, 50, 50, 50], { concurrency: 3 })) {
      expect(item.index).toBe(0);
      break;
    }
    // Item 0's slot was refilled before the loop body ran (the window allows it); nothing started after the break.
    expect(state.started).toEqual([1, 50, 50, 50]);
    expect(state.signals.slice(1).every((s) => s.aborted)).toBe(true);
    expect(state.signals[0].aborted).toBe(false);
  });

  it('unsubscribes an Observable task in flight when cancelled', async () => {
    const teardown = vi.fn();
    const subscription = parallelMap(() => new Observable(() => teardown), [1, 2]).subscribe();
    subscription.unsubscribe();
    expect(teardown).toHaveBeenCalledTimes(2);
  });

  it('fails the run when onProgress throws', async () => {
    const pending = parallelMap((x: number) => x, [1, 2], {
      onProgress: () => {
        throw new Error('bad callback');
      },
    });
    await expect(pending).rejects.toThrow('bad callback');
  });
});

describe('task.map, starmap and stream', () => {
  const add = task((a: number, b: number) => a + b, { name: 'add' });

  it('maps one iterable', async () => {
    const inc = task(async (x: number) => x + 1);
    expect((await inc.map([1, 2, 3], { concurrency: 2 })).values()).toEqual([2, 3, 4]);
  });

  it('broadcasts unmapped arguments and zips several iterables', async () => {
    expect((await add.map([1, 2, 3], unmapped(10))).values()).toEqual([11, 12, 13]);
    expect((await add.map([1, 2], new Set([10, 20]))).values()).toEqual([11, 22]);
  });

  it('takes a trailing object of option names, or of misspellings of them, as options: a misspelt one is an error', async () => {
    const inc = task(async (x: number) => x + 1);
    expect(() => inc.map([1], { concurency: 2 } as never)).toThrow(
      new TypeError('anonymous.map: unknown option `concurency` (did you mean `concurrency`?)'),
    );
    expect(() => inc.map([1], { concurrency: 2, orderd: true } as never)).toThrow(/unknown option `orderd`/);
    // Made with a null prototype, or in another realm: a plain object all the same.
    const bare = Object.assign(Object.create(null), { concurrency: 0 });
    expect(() => inc.map([1], bare)).toThrow(RangeError);
    // Anything else is an argument to broadcast, whatever the function's parameters look like.
    const label = task((x: number, style: { prefix: string } = { prefix: '' }) => `${style.prefix}${x}`);
    expect((await label.map([1, 2], { prefix: '#' } as never)).values()).toEqual(['#1', '#2']);
    const withRest = task((x: number, ...styles: { prefix: string }[]) => `${styles[0].prefix}${x}`);
    expect((await withRest.map([1], { prefix: '>' } as never)).values()).toEqual(['>1']);
    expect((await add.map([1, 2], unmapped(1), { concurrency: 1 })).values()).toEqual([2, 3]);
  });

  it('stops at the shortest of unsized inputs, as zip does', async () => {
    function* endless() {
      for (let i = 0; ; i++) yield i;
    }
    expect((await add.map([1, 2], endless())).values()).toEqual([1, 3]);
  });

  it('zips AsyncIterables', async () => {
    async function* tens() {
      yield 10;
      yield 20;
    }
    expect((await add.map(tens(), [1, 2])).values()).toEqual([11, 22]);
  });

  it('throws a RangeError naming sized inputs of unequal length', () => {
    expect(() => add.map([1, 2, 3], [1, 2])).toThrow(
      new RangeError('add.map: argument 1 has 3 items but argument 2 has 2'),
    );
  });

  it('starmap spreads each tuple', async () => {
    expect(
      (
        await add.starmap([
          [1, 2],
          [3, 4],
        ] as [number, number][])
      ).values(),
    ).toEqual([3, 7]);
  });

  it('stream gives the values alone and errors on the first failure', async () => {
    const half = task(async (x: number) => {
      if (x < 0) throw new RangeError('negative');
      return x / 2;
    });
    expect(await lastValueFrom(half.stream([2, 4, 6], { ordered: true }).pipe(toArray()))).toEqual([1, 2, 3]);
    await expect(lastValueFrom(half.stream([2, -1, 6]))).rejects.toThrow('negative');
  });
});

describe('parallelMap: bad input throws at the call, before anything runs', () => {
  const fn = vi.fn((x: number) => x);

  it.each([0, -1, Number.NaN, 1.5])('concurrency %s is a RangeError naming the option', (concurrency) => {
    expect(() => parallelMap(fn, [1], { concurrency })).toThrow(RangeError);
    expect(() => parallelMap(fn, [1], { concurrency })).toThrow(/`concurrency` must be a positive integer or Infinity/);
    expect(fn).not.toHaveBeenCalled();
  });

  it('rejects input that cannot be iterated', () => {
    expect(() => parallelMap(fn, 5 as never)).toThrow(
      new TypeError('parallelMap: `items` must be an Iterable, AsyncIterable or Observable, got 5 (number)'),
    );
    expect(() => parallelMap(fn, null as never)).toThrow(TypeError);
  });

  it('rejects a non-function and bad options', () => {
    expect(() => parallelMap('f' as never, [1])).toThrow(/`fn` must be a function/);
    expect(() => parallelMap(fn, [1], { concurrency: 4, window: 2 })).toThrow(RangeError);
    expect(() => parallelMap(fn, [1], { maxErrors: 0 })).toThrow(/`maxErrors` must be a positive integer/);
    expect(() => parallelMap(fn, [1], { deadline: -1 })).toThrow(RangeError);
    expect(() => parallelMap(fn, [1], { ordered: 'yes' as never })).toThrow(TypeError);
    expect(() => parallelMap(fn, [1], { onProgress: 1 as never })).toThrow(/`onProgress` must be a function/);
    expect(() => parallelMap(fn, [1], { concurency: 2 } as never)).toThrow(/unknown option `concurency`/);
    expect(() => task(fn).map([1], { concurrency: 0 })).toThrow(RangeError);
    expect(() => task(fn).map(3 as never)).toThrow(TypeError);
    expect(fn).not.toHaveBeenCalled();
  });
});
