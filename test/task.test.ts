import { EmptyError, firstValueFrom, interval, map, Observable, of, take, throwError, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it, vi } from 'vitest';
import { isTask, type TaskContext, TaskRun, task, withContext } from '../src/index.js';

describe('task', () => {
  it('is lazy: nothing runs until the run is subscribed or awaited', async () => {
    const fn = vi.fn(async (x: number) => x * 2);
    const double = task(fn);
    const run = double(21);
    expect(run).toBeInstanceOf(TaskRun);
    expect(fn).not.toHaveBeenCalled();
    expect(await run).toBe(42);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('runs the function again for every subscription', async () => {
    let calls = 0;
    const count = task(() => ++calls);
    const run = count();
    expect(await firstValueFrom(run)).toBe(1);
    expect(await firstValueFrom(run)).toBe(2);
  });

  it('memoizes await: awaiting the same run twice shares one outcome', async () => {
    let calls = 0;
    const count = task(async () => ++calls);
    const run = count();
    expect(await run).toBe(1);
    expect(await run).toBe(1);
    expect(await Promise.all([run, run])).toEqual([1, 1]);
    expect(calls).toBe(1);
  });

  it('wraps sync and async functions alike', async () => {
    expect(await task((a: number, b: number) => a + b)(2, 3)).toBe(5);
    expect(await task(async (s: string) => s.toUpperCase())('hi')).toBe('HI');
  });

  it('works with any RxJS operator', async () => {
    const double = task(async (x: number) => x * 2);
    const values = await firstValueFrom(double(2).pipe(map((v) => v + 1)));
    expect(values).toBe(5);
  });

  it('turns a sync throw into an error notification, never an exception from subscribe', async () => {
    const boom = task(() => {
      throw new Error('boom');
    });
    const error = vi.fn();
    expect(() => boom().subscribe({ error })).not.toThrow();
    expect(error).toHaveBeenCalledWith(new Error('boom'));
    await expect(boom()).rejects.toThrow('boom');
  });

  it('rejects on an async failure', async () => {
    const fail = task(async () => {
      throw new TypeError('bad');
    });
    await expect(fail()).rejects.toThrow(TypeError);
  });

  it('streams the values of an Observable-returning function', async () => {
    const ticks = task((n: number) => interval(1).pipe(take(n)));
    expect(await firstValueFrom(ticks(3).pipe(toArray()))).toEqual([0, 1, 2]);
    expect(await ticks(3)).toBe(2);
  });

  it('rejects with EmptyError when an Observable task completes with no value', async () => {
    const empty = task(() => of());
    await expect(empty()).rejects.toBeInstanceOf(EmptyError);
  });

  it('unsubscribes an Observable task when the run is unsubscribed', () => {
    const teardown = vi.fn();
    const endless = task(() => new Observable<number>(() => teardown));
    const subscription = endless().subscribe();
    expect(teardown).not.toHaveBeenCalled();
    subscription.unsubscribe();
    expect(teardown).toHaveBeenCalledTimes(1);
  });

  it('passes errors of an Observable task through', async () => {
    const failing = task(() => throwError(() => new RangeError('out')));
    await expect(failing()).rejects.toBeInstanceOf(RangeError);
  });

  it('runs Observable tasks in virtual time', () => {
    const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('--a--b|');
      const stream = task(() => source);
      expectObservable(stream()).toBe('--a--b|');
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
  });
});

describe('TaskContext', () => {
  it('reaches the function as `this`, with name, attempt and no index outside a map', async () => {
    let seen: TaskContext | undefined;
    const probe = task(function probe(this: TaskContext) {
      seen = this;
    });
    await probe();
    expect(seen?.name).toBe('probe');
    expect(seen?.attempt).toBe(1);
    expect(seen?.index).toBeUndefined();
    expect(seen?.signal).toBeInstanceOf(AbortSignal);
  });

  it('reaches an arrow function as its first parameter through withContext', async () => {
    const named = task(
      withContext((ctx, x: number) => `${ctx.name}:${x}`),
      { name: 'tag' },
    );
    expect(await named(3)).toBe('tag:3');
  });

  it('never passes the context in place of an optional or default parameter', async () => {
    const optional = task((a: number, b?: number) => [a, b]);
    const defaulted = task((a: number, b = 10) => a + b);
    expect(await optional(1)).toEqual([1, undefined]);
    expect(await defaulted(1)).toBe(11);
  });

  it('aborts the signal when the run is unsubscribed before it settles', async () => {
    let signal: AbortSignal | undefined;
    const pending = task(function (this: TaskContext) {
      signal = this.signal;
      return new Promise<never>(() => {});
    });
    const subscription = pending().subscribe();
    expect(signal?.aborted).toBe(false);
    subscription.unsubscribe();
    expect(signal?.aborted).toBe(true);
    expect((signal as AbortSignal).reason.name).toBe('AbortError');
  });

  it('never aborts the signal after a normal completion', async () => {
    let signal: AbortSignal | undefined;
    const done = task(async function (this: TaskContext) {
      signal = this.signal;
      return 1;
    });
    const onAbort = vi.fn();
    await new Promise<void>((resolve) => {
      done().subscribe({ complete: () => resolve() });
      signal?.addEventListener('abort', onAbort);
    });
    expect(signal?.aborted).toBe(false);
    expect(onAbort).not.toHaveBeenCalled();
  });

  it('creates the signal lazily and replays an earlier abort onto it', async () => {
    let context: TaskContext | undefined;
    let release: () => void = () => {};
    const late = task(function (this: TaskContext) {
      context = this;
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    late().subscribe().unsubscribe();
    release();
    // The signal was never read before the abort, yet it reads as aborted afterwards.
    expect(context?.signal.aborted).toBe(true);
  });
});

describe('task options', () => {
  it('names the task after the function, or the `name` option', () => {
    function fetchUser() {}
    expect(task(fetchUser).name).toBe('fetchUser');
    expect(task(fetchUser, { name: 'user' }).name).toBe('user');
    expect(task(() => 1).name).toBe('anonymous');
  });

  it('.with() returns a new task with options overridden, leaving the original alone', async () => {
    const base = task(async (x: number) => x + 1, { name: 'base' });
    const renamed = base.with({ name: 'renamed' });
    expect(renamed.name).toBe('renamed');
    expect(base.name).toBe('base');
    expect(await renamed(1)).toBe(2);
    expect(isTask(renamed)).toBe(true);
  });

  it('.forward() calls the function directly and returns what it returns', async () => {
    const fn = vi.fn((x: number) => Promise.resolve(x * 3));
    const triple = task(fn);
    const output = triple.forward(2);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(output).toBeInstanceOf(Promise);
    expect(await output).toBe(6);
  });

  it('throws a TypeError naming a non-function fn', () => {
    expect(() => task(42 as never)).toThrow(new TypeError('task: `fn` must be a function, got 42 (number)'));
    expect(() => task(undefined as never)).toThrow(TypeError);
  });

  it('names its methods as they are called, for stack frames', () => {
    const t = task((x: number) => x);
    expect([t.map, t.starmap, t.stream, t.submit, t.with, t.forward].map((method) => method.name)).toEqual([
      'map',
      'starmap',
      'stream',
      'submit',
      'with',
      'forward',
    ]);
  });

  it('throws a TypeError naming an option of the wrong type or an unknown option', () => {
    expect(() => task(() => 1, { name: 7 as never })).toThrow(/`name` must be a string, got 7 \(number\)/);
    expect(() => task(() => 1, { nmae: 'x' } as never)).toThrow(/unknown option `nmae`/);
    // A near miss is named; anything else lists the options.
    expect(() => task(() => 1, { timout: 5 } as never)).toThrow(
      new TypeError('task: unknown option `timout` (did you mean `timeout`?)'),
    );
    expect(() => task(() => 1, { speed: 5 } as never)).toThrow(/unknown option `speed` \(known options: name, /);
    expect(() => task(() => 1, 'fast' as never)).toThrow(/`options` must be an object/);
    expect(() => task(() => 1).with({ name: false as never })).toThrow(TypeError);
  });
});
