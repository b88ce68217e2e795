import { concat, Observable, of, Subject, throwError } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { BufferOverflowError, task, toAsyncIterable } from '../src/index.js';

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const values: T[] = [];
  for await (const value of iterable) values.push(value);
  return values;
}

describe('toAsyncIterable', () => {
  it('yields every value in order, then ends', async () => {
    expect(await collect(toAsyncIterable(of(1, 2, 3)))).toEqual([1, 2, 3]);
  });

  it('does not subscribe (so a TaskRun does not start) before the loop pulls', async () => {
    const fn = vi.fn(async () => 'done');
    const iterable = toAsyncIterable(task(fn)());
    const iterator = iterable[Symbol.asyncIterator]();
    expect(fn).not.toHaveBeenCalled();
    expect(await iterator.next()).toEqual({ value: 'done', done: false });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('delivers buffered values before the error', async () => {
    const iterator = toAsyncIterable(
      concat(
        of(1, 2),
        throwError(() => new Error('end')),
      ),
    )[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toBe(1);
    expect((await iterator.next()).value).toBe(2);
    await expect(iterator.next()).rejects.toThrow('end');
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('unsubscribes when the loop is left early', async () => {
    const teardown = vi.fn();
    const subject = new Subject<number>();
    const source = new Observable<number>((subscriber) => {
      const subscription = subject.subscribe(subscriber);
      return () => {
        subscription.unsubscribe();
        teardown();
      };
    });
    const seen: number[] = [];
    const loop = (async () => {
      for await (const value of toAsyncIterable(source)) {
        seen.push(value);
        if (value === 2) break;
      }
    })();
    await Promise.resolve();
    subject.next(1);
    subject.next(2);
    subject.next(3);
    await loop;
    expect(seen).toEqual([1, 2]);
    expect(teardown).toHaveBeenCalledTimes(1);
  });

  it('bounds the buffer for a hot source: errors by default, after the values it kept', async () => {
    const iterable = toAsyncIterable(of(1, 2, 3, 4), { bufferSize: 2 });
    const iterator = iterable[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toBe(1);
    expect((await iterator.next()).value).toBe(2);
    await expect(iterator.next()).rejects.toBeInstanceOf(BufferOverflowError);
  });

  it('drops the oldest or the newest value when told to', async () => {
    expect(await collect(toAsyncIterable(of(1, 2, 3, 4), { bufferSize: 2, overflow: 'drop-oldest' }))).toEqual([3, 4]);
    expect(await collect(toAsyncIterable(of(1, 2, 3, 4), { bufferSize: 2, overflow: 'drop-newest' }))).toEqual([1, 2]);
  });

  it('hands a value straight to a waiting loop without buffering it', async () => {
    const subject = new Subject<number>();
    const iterator = toAsyncIterable(subject, { bufferSize: 1 })[Symbol.asyncIterator]();
    const first = iterator.next();
    const second = iterator.next();
    subject.next(1);
    subject.next(2);
    subject.next(3);
    expect(await first).toEqual({ value: 1, done: false });
    expect(await second).toEqual({ value: 2, done: false });
    subject.complete();
    expect(await iterator.next()).toEqual({ value: 3, done: false });
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });

  it('throws at the call for bad options', () => {
    expect(() => toAsyncIterable(of(1), { bufferSize: 0 })).toThrow(RangeError);
    expect(() => toAsyncIterable(of(1), { overflow: 'drop' as never })).toThrow(/`overflow` must be one of/);
    expect(() => toAsyncIterable([1] as never)).toThrow(TypeError);
  });
});
