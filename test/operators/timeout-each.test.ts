import { map, mergeMap, of, Subject, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { retryBackoff, timeoutEach } from '../../operators/index.js';
import { type TaskContext, TimeoutError, task } from '../../src/index.js';
import { synchronousSource } from './operator-checks.js';

let testScheduler: TestScheduler;

beforeEach(() => {
  testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
});

/** @test {timeoutEach} */
describe('timeoutEach', () => {
  it('errors with a TimeoutError and unsubscribes the source when a subscription runs too long', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a------b|');
      const result = source.pipe(timeoutEach(4));
      expectObservable(result).toBe('-a--#', { a: 'a' }, new TimeoutError('The source timed out after 4 ms', 4));
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('lets a subscription that completes in time through, and leaves no timer', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-|');
      expectObservable(source.pipe(timeoutEach(4))).toBe('-a-|');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
    expect(testScheduler.actions.length).toBe(0);
  });

  it('passes a source error on and clears its timer', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('-#').pipe(timeoutEach(4))).toBe('-#');
    });
    expect(testScheduler.actions.length).toBe(0);
  });

  it('times each attempt afresh when placed before retryBackoff', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('------a|');
      const result = source.pipe(timeoutEach(3), retryBackoff({ attempts: 2, backoff: 1, jitter: 'none' }));
      expectObservable(result).toBe('-------#', {}, new TimeoutError('The source timed out after 3 ms', 3));
      expectSubscriptions(source.subscriptions).toBe(['^--!', '----^--!']);
    });
  });

  it('does not break unsubscription chains when unsubscribed explicitly', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('--a--b--c--|');
      const unsub = '     ------!';
      const result = source.pipe(
        mergeMap((x) => of(x)),
        timeoutEach(100),
        mergeMap((x) => of(x)),
      );
      expectObservable(result, unsub).toBe('--a--b-');
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
    expect(testScheduler.actions.length).toBe(0);
  });

  it('stops a synchronous source as soon as a downstream take(1) has its value, and leaves no timer', () => {
    const sideEffects: number[] = [];
    testScheduler.run(() => {
      synchronousSource(Number.POSITIVE_INFINITY, sideEffects)
        .pipe(timeoutEach(5), take(1))
        .subscribe(() => {});
    });
    expect(sideEffects).toEqual([0]);
    expect(testScheduler.actions.length).toBe(0);
  });

  it('takes values emitted reentrantly, in order', () => {
    const subject = new Subject<number>();
    const seen: number[] = [];
    subject.pipe(timeoutEach(1_000)).subscribe((x) => {
      seen.push(x);
      if (x < 3) subject.next(x + 1);
    });
    subject.next(1);
    subject.complete();
    expect(seen).toEqual([1, 2, 3]);
  });

  it("aborts a TaskRun's signal with the TimeoutError itself, through operators in between", async () => {
    let signal: AbortSignal | undefined;
    const hang = task(function hang(this: TaskContext) {
      signal = this.signal;
      return new Promise(() => {});
    });
    const error = await new Promise((resolve) =>
      hang()
        .pipe(map((x) => x))
        .pipe(timeoutEach(5))
        .subscribe({ error: resolve }),
    );
    expect(error).toBeInstanceOf(TimeoutError);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(error);
  });

  it('names the task when the source is a TaskRun, and a plain cancel stays an AbortError', async () => {
    let signal: AbortSignal | undefined;
    const hang = task(function hang(this: TaskContext) {
      signal = this.signal;
      return new Promise(() => {});
    });
    const error = await new Promise((resolve) => hang().pipe(timeoutEach(5)).subscribe({ error: resolve }));
    expect((error as TimeoutError).taskName).toBe('hang');
    const subscription = hang().pipe(timeoutEach(1_000)).subscribe();
    subscription.unsubscribe();
    expect(signal?.reason).toMatchObject({ name: 'AbortError' });
  });

  it('throws at the call for a bad deadline', () => {
    expect(() => timeoutEach(0)).toThrow(RangeError);
    expect(() => timeoutEach(Number.NaN)).toThrow(RangeError);
    expect(() => timeoutEach('1s' as never)).toThrow(TypeError);
  });
});

describe('timeoutEach and TaskRuns behind other operators (outside review of issue 15)', () => {
  it('names the task even with operators between, and a bad source is a TypeError where it is applied', async () => {
    const fetchUser = task(function fetchUser() {
      return new Promise(() => {});
    });
    const error = await new Promise((resolve) =>
      fetchUser()
        .pipe(map((x) => x))
        .pipe(timeoutEach(5))
        .subscribe({ error: resolve }),
    );
    expect((error as TimeoutError).taskName).toBe('fetchUser');
    expect((error as Error).message).toBe('fetchUser timed out after 5 ms');
    expect(() => timeoutEach(5)(null as never)).toThrow(TypeError);
  });
});
