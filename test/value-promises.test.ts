import { EmptyError, interval, NEVER, Observable, of, Subject, throwError } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { firstValue, lastValue } from '../src/index.js';

describe('firstValue', () => {
  it('resolves the first value and unsubscribes', async () => {
    const teardown = vi.fn();
    const source = new Observable<number>((subscriber) => {
      subscriber.next(1);
      subscriber.next(2);
      return teardown;
    });
    expect(await firstValue(source)).toBe(1);
    expect(teardown).toHaveBeenCalledTimes(1);
  });

  it('rejects with the signal reason and unsubscribes when the signal aborts', async () => {
    const teardown = vi.fn();
    const controller = new AbortController();
    const pending = firstValue(new Observable(() => teardown), { signal: controller.signal });
    controller.abort(new Error('aborted'));
    await expect(pending).rejects.toThrow('aborted');
    expect(teardown).toHaveBeenCalledTimes(1);
  });

  it('rejects at once without subscribing when the signal is already aborted', async () => {
    const subscribe = vi.fn();
    await expect(firstValue(new Observable(subscribe), { signal: AbortSignal.abort('gone') })).rejects.toBe('gone');
    expect(subscribe).not.toHaveBeenCalled();
  });

  it('rejects with EmptyError on an empty source, or resolves the default value', async () => {
    await expect(firstValue(of())).rejects.toBeInstanceOf(EmptyError);
    expect(await firstValue(of(), { defaultValue: 'none' })).toBe('none');
  });

  it('removes its abort listener once settled', async () => {
    const controller = new AbortController();
    const add = vi.spyOn(controller.signal, 'addEventListener');
    const remove = vi.spyOn(controller.signal, 'removeEventListener');
    await firstValue(interval(1), { signal: controller.signal });
    expect(add).toHaveBeenCalledTimes(1);
    expect(remove).toHaveBeenCalledTimes(1);
  });

  it('throws a TypeError for a non-Observable source or a bad signal', () => {
    expect(() => firstValue(5 as never)).toThrow(TypeError);
    expect(() => firstValue(of(1), { signal: 'x' as never })).toThrow(/`signal` must be an AbortSignal/);
  });
});

describe('lastValue', () => {
  it('resolves the last value on completion', async () => {
    expect(await lastValue(of(1, 2, 3))).toBe(3);
  });

  it('rejects with the source error', async () => {
    await expect(lastValue(throwError(() => new Error('bad')))).rejects.toThrow('bad');
  });

  it('can be cancelled, even on a source that never completes', async () => {
    const subject = new Subject<number>();
    const controller = new AbortController();
    const pending = lastValue(subject, { signal: controller.signal });
    subject.next(1);
    controller.abort(new Error('enough'));
    await expect(pending).rejects.toThrow('enough');
    expect(subject.observed).toBe(false);
    await expect(lastValue(NEVER, { signal: AbortSignal.abort(new Error('now')) })).rejects.toThrow('now');
  });
});
