import { EmptyError, NEVER, of, timer } from 'rxjs';
import { describe, expect, it, vi } from 'vitest';
import { gather, parallelMap, type TaskContext, task } from '../src/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('gather', () => {
  it('starts every run together and resolves values in argument order', async () => {
    vi.useFakeTimers();
    try {
      const started: number[] = [];
      const delayed = task(async (ms: number) => {
        started.push(ms);
        await sleep(ms);
        return ms;
      });
      const result = gather(delayed(30), delayed(10), delayed(20));
      await vi.advanceTimersByTimeAsync(0);
      expect(started).toEqual([30, 10, 20]);
      await vi.advanceTimersByTimeAsync(30);
      expect(await result).toEqual([30, 10, 20]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('accepts Observables and Promises beside TaskRuns', async () => {
    expect(await gather(of(1, 2), Promise.resolve('p'), task(() => true)())).toEqual([2, 'p', true]);
  });

  it('resolves an empty call to an empty array', async () => {
    expect(await gather()).toEqual([]);
  });

  it('rejects with the first failure and cancels the others', async () => {
    const signals: AbortSignal[] = [];
    const hang = task(function (this: TaskContext) {
      signals.push(this.signal);
      return new Promise<never>(() => {});
    });
    const fail = task(async () => {
      await sleep(1);
      throw new Error('first');
    });
    await expect(gather(hang(), fail(), hang())).rejects.toThrow('first');
    expect(signals.map((signal) => signal.aborted)).toEqual([true, true]);
  });

  it('puts each error in its place with returnErrors, and runs everything', async () => {
    const fail = task(async (message: string) => {
      throw new Error(message);
    });
    const throwsString = task(() => {
      throw 'plain';
    });
    const [a, b, c] = await gather(fail('x'), Promise.resolve(2), throwsString(), { returnErrors: true });
    expect(a).toEqual(new Error('x'));
    expect(b).toBe(2);
    expect(c).toBeInstanceOf(Error);
    expect((c as Error).cause).toBe('plain');
  });

  it('does not leave an unhandled rejection behind when a Promise fails after another run failed', async () => {
    const late = sleep(5).then(() => {
      throw new Error('late');
    });
    await expect(gather(Promise.reject(new Error('early')), late)).rejects.toThrow('early');
    await sleep(10); // the suite fails on any unhandled rejection, so reaching here is the assertion
    expect(true).toBe(true);
  });

  it('rejects with EmptyError for an Observable that completes with no value', async () => {
    await expect(gather(of())).rejects.toBeInstanceOf(EmptyError);
  });

  it('cancels every run when its signal aborts', async () => {
    const controller = new AbortController();
    const result = gather(NEVER, timer(1_000_000), { signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(result).rejects.toThrow('stop');
  });

  it('throws a TypeError at the call for an argument that cannot be awaited, or a bad option', () => {
    expect(() => gather(task(() => 1)(), 5 as never)).toThrow(
      new TypeError('gather: argument 2 must be a TaskRun, Observable or Promise, got 5 (number)'),
    );
    expect(() => gather(of(1), { returnErrors: 'yes' } as never)).toThrow(/`returnErrors` must be a boolean/);
    expect(() => gather(of(1), { retrunErrors: true } as never)).toThrow(/unknown option `retrunErrors`/);
  });
});

describe('gather shares a run awaited elsewhere (outside review of issue 14)', () => {
  it('awaits a TaskRun as `await` does: awaited elsewhere too, its function runs once', async () => {
    let calls = 0;
    const counted = task(async () => {
      calls += 1;
      return 'once';
    });
    const run = counted();
    const [mine, gathered] = await Promise.all([run, gather(run)]);
    expect([mine, gathered]).toEqual(['once', ['once']]);
    expect(calls).toBe(1);
  });

  it('giving up, it cancels only the runs it started, not one someone else awaits', async () => {
    const slow = async (x: number) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return x;
    };
    const bad = task(async () => {
      throw new Error('bad');
    });
    const shared = parallelMap(slow, [1, 2]);
    const mine = shared.then((result) => result.status);
    const own = parallelMap(slow, [3, 4]);
    const ownStatus = own.then((result) => result.status);
    // `own` is first awaited above, so gather does not own it either; a fresh run it does own.
    const fresh = parallelMap(slow, [5, 6]);
    await expect(gather(bad(), shared, own, fresh)).rejects.toThrow('bad');
    expect(await mine).toBe('completed');
    expect(await ownStatus).toBe('completed');
    expect((await fresh).status).toBe('cancelled');
  });
});

describe('gather and other awaiters (second outside review)', () => {
  it('leaves a run it started alone when someone else awaits it too, and a second gather joining it', async () => {
    const slow = task(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return 'value';
    });
    const fail = task(async () => {
      throw new Error('fail');
    });
    const run = slow();
    const first = gather(run, fail());
    const mine = run.then((value) => value);
    const second = gather(run);
    await expect(first).rejects.toThrow('fail');
    expect(await mine).toBe('value');
    expect(await second).toEqual(['value']);
  });
});
