import { asapScheduler, defer, map, merge, mergeMap, of, subscribeOn, take, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { retryBackoff } from '../../operators/index.js';
import { NonRetryableError, type TaskContext, task } from '../../src/index.js';
import { synchronousSource } from './operator-checks.js';

let testScheduler: TestScheduler;

beforeEach(() => {
  testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
});

/** @test {retryBackoff} */
describe('retryBackoff', () => {
  it('resubscribes after backoff × factor^n: the subscription windows show the spacing', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('--#');
      const subs = ['^-!', '----^-!', '----------^-!'];
      const result = source.pipe(retryBackoff({ attempts: 3, backoff: 2, factor: 2, jitter: 'none' }));
      expectObservable(result).toBe('------------#');
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('passes values of each attempt through, and stops retrying once it completes', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      let attempt = 0;
      const source = defer(() => (++attempt < 2 ? cold('a#') : cold('b|')));
      expectObservable(source.pipe(retryBackoff({ backoff: 3, jitter: 'none' }))).toBe('a---b|');
    });
  });

  it('caps the delay at maxDelay', () => {
    testScheduler.run(({ cold, expectSubscriptions }) => {
      const source = cold('#');
      source
        .pipe(retryBackoff({ attempts: 4, backoff: 3, factor: 10, maxDelay: 5, jitter: 'none' }))
        .subscribe({ error: () => {} });
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '---(^!)', '--------(^!)', '-------------(^!)']);
    });
  });

  it('never retries a NonRetryableError or a cancellation', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const fatal = new NonRetryableError('bad input');
      expectObservable(cold('-#', {}, fatal).pipe(retryBackoff({ backoff: 1 }))).toBe('-#', {}, fatal);
      const abort = new DOMException('stopped', 'AbortError');
      expectObservable(cold('-#', {}, abort).pipe(retryBackoff({ backoff: 1 }))).toBe('-#', {}, abort);
    });
  });

  it('waits what the server asks for', () => {
    testScheduler.run(({ cold, expectSubscriptions }) => {
      const source = cold('#', {}, { status: 429, retryAfterMs: 7 });
      source
        .pipe(retryBackoff({ attempts: 2, retryAfter: (e) => (e as { retryAfterMs: number }).retryAfterMs }))
        .subscribe({ error: () => {} });
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '-------(^!)']);
    });
  });

  it('passes the error on at once when the server asks for longer than maxRetryAfter', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const tooMany = { status: 429, retryAfterMs: 8 };
      const source = cold('-#', {}, tooMany);
      const retryAfter = (e: unknown) => (e as { retryAfterMs: number }).retryAfterMs;
      expectObservable(source.pipe(retryBackoff({ retryAfter, maxRetryAfter: 7 }))).toBe('-#', {}, tooMany);
      expectSubscriptions(source.subscriptions).toBe('^!');
    });
  });

  it('does not break unsubscription chains when unsubscribed explicitly', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('--a--b--c--|');
      const unsub = '     ------!';
      const result = source.pipe(
        mergeMap((x) => of(x)),
        retryBackoff({ backoff: 1 }),
        mergeMap((x) => of(x)),
      );
      expectObservable(result, unsub).toBe('--a--b-');
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
  });

  it('stops a synchronous source as soon as a downstream take(1) has its value', () => {
    const sideEffects: number[] = [];
    synchronousSource(Number.POSITIVE_INFINITY, sideEffects)
      .pipe(retryBackoff(), take(1))
      .subscribe(() => {});
    expect(sideEffects).toEqual([0]);
  });

  it('passes on what a retry hook throws', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const hookError = new Error('retryIf failed');
      const source = cold('-#');
      const result = source.pipe(
        retryBackoff({
          backoff: 1,
          retryIf: () => {
            throw hookError;
          },
        }),
      );
      expectObservable(result).toBe('-#', {}, hookError);
      expectSubscriptions(source.subscriptions).toBe('^!');
    });
  });

  it('schedules no retry when a retry hook unsubscribes', () => {
    testScheduler.run(({ cold, expectSubscriptions }) => {
      const source = cold('-#');
      const subscription = source
        .pipe(retryBackoff({ backoff: 1, onRetry: () => subscription.unsubscribe() }))
        .subscribe({ error: () => {} });
      expectSubscriptions(source.subscriptions).toBe('^!');
    });
    expect(testScheduler.actions.length).toBe(0);
  });

  it('takes values emitted reentrantly, in order', () => {
    const seen: number[] = [];
    const source = defer(() => of(1, 2, 3));
    const subscription = source.pipe(retryBackoff()).subscribe((x) => {
      seen.push(x);
      if (x === 1) seen.push(-1); // work done inside the emission does not reorder what follows
    });
    expect(seen).toEqual([1, -1, 2, 3]);
    expect(subscription.closed).toBe(true);
  });

  it('numbers the attempts of a TaskRun upstream', async () => {
    const attempts: number[] = [];
    const flaky = task(function (this: TaskContext) {
      attempts.push(this.attempt);
      if (this.attempt < 3) throw new Error('again');
      return 'done';
    });
    const value = await new Promise((resolve) =>
      flaky()
        .pipe(retryBackoff({ attempts: 3, backoff: 0 }))
        .subscribe(resolve),
    );
    expect(value).toBe('done');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('numbers them whatever runs between the TaskRun and the operator: a scheduler, map, merge', async () => {
    const seen: string[] = [];
    const flaky = task(function (this: TaskContext, name: string) {
      seen.push(`${name}${this.attempt}`);
      if (this.attempt < 3) throw new Error('again');
      return name;
    });
    await new Promise((resolve) =>
      flaky('a')
        .pipe(
          subscribeOn(asapScheduler),
          map((x) => x),
          retryBackoff({ attempts: 3, backoff: 0 }),
        )
        .subscribe({ complete: () => resolve(undefined) }),
    );
    expect(seen).toEqual(['a1', 'a2', 'a3']);

    // Two streams retried apart: each task sees its own attempts, never the other's.
    seen.length = 0;
    const steady = task(function (this: TaskContext) {
      seen.push(`steady${this.attempt}`);
      return 'steady';
    });
    await new Promise((resolve) =>
      merge(flaky('b').pipe(retryBackoff({ attempts: 3, backoff: 0 })), steady()).subscribe({
        complete: () => resolve(undefined),
      }),
    );
    expect(seen).toContain('steady1');
    expect(seen.filter((s) => s.startsWith('b'))).toEqual(['b1', 'b2', 'b3']);
    // A task the function itself calls is attempt 1 of its own.
    const inner = task(function (this: TaskContext) {
      return this.attempt;
    });
    const outer = task(async function (this: TaskContext) {
      const own = await inner();
      if (this.attempt < 2) throw new Error('again');
      return own;
    });
    const innerAttempt = await new Promise((resolve) =>
      outer()
        .pipe(retryBackoff({ attempts: 2, backoff: 0 }))
        .subscribe(resolve),
    );
    expect(innerAttempt).toBe(1);
  });

  it('throws at the call for bad options', () => {
    expect(() => retryBackoff({ attempts: 0 })).toThrow(RangeError);
    expect(() => retryBackoff({ backoff: -1 })).toThrow(RangeError);
    // The operator's options are its own: no `retry.` before their names.
    expect(() => retryBackoff({ maxRetryAfter: -1 })).toThrow(
      new RangeError('retryBackoff: `maxRetryAfter` must be a number of ms ≥ 0 (or Infinity), got -1'),
    );
    expect(() => retryBackoff({ retryIf: 'yes' as never })).toThrow(
      new TypeError('retryBackoff: `retryIf` must be a function, got "yes" (string)'),
    );
    expect(() => retryBackoff('fast' as never)).toThrow(TypeError);
    expect(() => throwError(() => new Error('x')).pipe(retryBackoff({ scheduler: {} as never }))).toThrow(TypeError);
  });
});

describe('retryBackoff source checks (outside review of issue 15)', () => {
  it('a bad source is a TypeError where the operator is applied', () => {
    expect(() => retryBackoff()(undefined as never)).toThrow(TypeError);
  });
});
