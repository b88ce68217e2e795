import { interval, Observable } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { rateLimit } from '../operators/index.js';
import {
  ConcurrencyLimit,
  parallelMap,
  RateLimiter,
  type TaskContext,
  type TaskFuture,
  task,
  taskGroup,
} from '../src/index.js';
import { deferred, turns, watch } from './support/promises.js';

// Task groups outlive their children, and everything a user can hold (runs, futures, groups, limiters) can be
// disposed with `await using`: disposing cancels and waits until every function it started has ended.

afterEach(() => {
  vi.useRealTimers();
});

describe('taskGroup waits for its children to end, not only to be cancelled', () => {
  it('settles only after a child that ignores its signal has returned', async () => {
    const finish = deferred();
    let childEnded = false;
    const stubborn = task(async () => {
      await finish.promise; // ignores its signal
      childEnded = true;
    });
    const failing = task(async () => {
      throw new Error('root cause');
    });
    const group = watch(
      taskGroup(async (g) => {
        g.start(stubborn);
        g.start(failing);
      }),
    );
    await turns();
    expect(group.settled).toBe(false); // the stubborn child is cancelled but still running
    finish.resolve();
    await turns();
    expect(childEnded).toBe(true);
    expect(group.settled).toBe(true);
    expect((group.error as AggregateError).errors).toEqual([new Error('root cause')]);
  });

  it('reports an error a child raises while being cancelled, after the root cause', async () => {
    const withRollback = task(async function (this: TaskContext) {
      await new Promise((resolve) => this.signal.addEventListener('abort', resolve));
      await Promise.resolve();
      throw new Error('rollback failed');
    });
    const obedient = task(async function (this: TaskContext) {
      await new Promise((_, reject) => this.signal.addEventListener('abort', () => reject(this.signal.reason)));
    });
    const failing = task(async () => {
      await Promise.resolve();
      throw new Error('root cause');
    });
    const error = await taskGroup(async (g) => {
      g.start(withRollback);
      g.start(obedient);
      g.start(failing);
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AggregateError);
    // The obedient child's AbortError is how it obeyed: not a failure.
    expect((error as AggregateError).errors).toEqual([new Error('root cause'), new Error('rollback failed')]);
  });

  it('puts the root cause first in nested groups, with the inner group’s rollback errors after it', async () => {
    const rollback = task(async function (this: TaskContext) {
      await new Promise((resolve) => this.signal.addEventListener('abort', resolve));
      throw new Error('inner rollback failed');
    });
    const inner = task(async function (this: TaskContext) {
      return taskGroup(
        async (g) => {
          g.start(rollback);
          await new Promise((resolve) => g.signal.addEventListener('abort', resolve));
        },
        { signal: this.signal },
      );
    });
    const failing = task(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      throw new Error('root cause');
    });
    const error = (await taskGroup(async (g) => {
      g.start(inner);
      g.start(failing);
    }).catch((e: unknown) => e)) as AggregateError;
    expect(error.errors[0]).toEqual(new Error('root cause'));
    expect(error.errors).toHaveLength(2);
    // The inner group was cancelled from outside: that reason is its first error, its child's rollback after it.
    const [cancelled, rollbackFailed] = (error.errors[1] as AggregateError).errors;
    expect(cancelled).toMatchObject({ name: 'AbortError' });
    expect(rollbackFailed).toEqual(new Error('inner rollback failed'));
  });

  it('does not report the same failure twice when the body rethrows a child’s error', async () => {
    const failing = task(async () => {
      throw new Error('child failed');
    });
    const error = (await taskGroup(async (g) => {
      await g.start(failing); // rethrows the child's own error
    }).catch((e: unknown) => e)) as AggregateError;
    expect(error.errors).toEqual([new Error('child failed')]);
  });

  it('waits for a child whose timed-out attempts ignore their signal, and does not report them twice', async () => {
    vi.useFakeTimers();
    const calls: number[] = [];
    const slow = task(
      async function (this: TaskContext) {
        calls.push(this.attempt);
        await new Promise((resolve) => setTimeout(resolve, 1_000)); // ignores the timeout's abort
        if (this.signal.aborted) throw new Error(`late failure of attempt ${this.attempt}`);
      },
      { timeout: 100, retry: { attempts: 2, backoff: 0 } },
    );
    const group = watch(taskGroup(async (g) => void g.start(slow)));
    await vi.advanceTimersByTimeAsync(250);
    // Both attempts timed out; the child failed with a TimeoutError, but both functions still run.
    expect(calls).toEqual([1, 2]);
    expect(group.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(group.settled).toBe(true);
    const errors = (group.error as AggregateError).errors;
    expect((errors[0] as Error).name).toBe('TimeoutError');
    // What an attempt does after its timeout abandoned it was judged already: the child failed with its TimeoutError.
    expect(errors).toHaveLength(1);
  });

  it('waits for an Observable child until it is unsubscribed, and for a child still waiting for a dependency', async () => {
    let unsubscribed = false;
    const ticking = task(
      () =>
        new Observable<number>(() => () => {
          unsubscribed = true;
        }),
    );
    const dependency = task(() => new Promise<number>(() => {})).submit();
    const dependent = task(async (x: number) => x);
    let waiting: TaskFuture<number> | undefined;
    const error = await taskGroup(async (g) => {
      g.start(ticking);
      waiting = g.start(dependent, dependency);
      throw new Error('body failed');
    }).catch((e: unknown) => e);
    expect(unsubscribed).toBe(true);
    expect(waiting?.state).toBe('cancelled');
    dependency.cancel();
    expect((error as AggregateError).errors).toEqual([new Error('body failed')]);
  });

  it('resolves to the body’s value once every child has ended', async () => {
    const double = task(async (x: number) => x * 2);
    await expect(taskGroup(async (g) => Promise.all([1, 2].map((n) => g.start(double, n))))).resolves.toEqual([2, 4]);
  });
});

describe('await using', () => {
  it('a task group made without a body cancels what still runs at the end of the block and waits for it', async () => {
    const finish = deferred();
    const log: string[] = [];
    const slow = task(async function (this: TaskContext) {
      await new Promise((resolve) => this.signal.addEventListener('abort', resolve));
      log.push('aborted');
      await finish.promise;
      log.push('ended');
    });
    const double = task(async (x: number) => x * 2);
    const block = async () => {
      await using group = taskGroup();
      group.start(slow);
      log.push(`value ${await group.start(double, 21)}`);
    };
    const done = watch(block());
    await turns();
    expect(log).toEqual(['value 42', 'aborted']);
    expect(done.settled).toBe(false);
    finish.resolve();
    await turns();
    expect(log).toEqual(['value 42', 'aborted', 'ended']);
    expect(done).toMatchObject({ settled: true, error: undefined });
  });

  it('a task group made without a body rejects at the end of its block with the failures nobody saw', async () => {
    const failing = task(async () => {
      throw new Error('unseen');
    });
    const block = async () => {
      await using group = taskGroup();
      group.start(failing);
      await new Promise((resolve) => setImmediate(resolve));
      expect(group.signal.aborted).toBe(true);
    };
    const error = await block().catch((e: unknown) => e);
    expect((error as AggregateError).errors).toEqual([new Error('unseen')]);
  });

  it('a future is cancelled and waited for', async () => {
    const finish = deferred();
    let ended = false;
    const slow = task(async () => {
      await finish.promise;
      ended = true;
    });
    let future: TaskFuture<void> | undefined;
    const block = async () => {
      await using f = slow.submit();
      future = f;
    };
    const done = watch(block());
    await turns();
    expect(future?.state).toBe('cancelled');
    expect(done.settled).toBe(false);
    finish.resolve();
    await turns();
    expect(ended).toBe(true);
    expect(done.settled).toBe(true);
  });

  it('a TaskRun cancels its awaited execution and waits for its function; unawaited, there is nothing to do', async () => {
    const finish = deferred();
    let signal: AbortSignal | undefined;
    const slow = task(async function (this: TaskContext) {
      signal = this.signal;
      await finish.promise;
    });
    let outcome: unknown;
    const block = async () => {
      await using run = slow();
      run.then(undefined, (error: unknown) => {
        outcome = error;
      });
      await turns(1);
    };
    const done = watch(block());
    await turns();
    expect(signal?.aborted).toBe(true);
    expect((outcome as Error).name).toBe('AbortError');
    expect(done.settled).toBe(false);
    finish.resolve();
    await turns();
    expect(done.settled).toBe(true);

    const never = vi.fn(async () => 1);
    await (async () => {
      await using _run = task(never)();
    })();
    expect(never).not.toHaveBeenCalled();
  });

  it('a ParallelRun cancels its awaited execution and waits for every function it called', async () => {
    const release = deferred();
    let running = 0;
    const slow = async () => {
      running += 1;
      await release.promise;
      running -= 1;
    };
    let result: unknown;
    const block = async () => {
      await using run = parallelMap(slow, [1, 2, 3, 4], { concurrency: 2 });
      run.then((r) => {
        result = r;
      });
      await turns(1);
    };
    const done = watch(block());
    await turns();
    expect(running).toBe(2);
    expect(done.settled).toBe(false);
    expect((result as { status: string }).status).toBe('cancelled');
    release.resolve();
    await turns();
    expect(running).toBe(0);
    expect(done.settled).toBe(true);
  });

  it('a RateLimiter refuses every start still waiting, and every later one', async () => {
    const limiter = new RateLimiter({ limit: 1, interval: 'hour' });
    const ran: number[] = [];
    const limited = task(async (x: number) => ran.push(x), { rateLimit: limiter });
    let waited: Promise<unknown> | undefined;
    let map: PromiseLike<{ failures(): { error: unknown }[] }> | undefined;
    let piped: Promise<unknown> | undefined;
    await (async () => {
      await using l = limiter;
      await l.wait();
      waited = l.wait().catch((e: unknown) => e);
      map = parallelMap(async (x: number) => ran.push(x), [1, 2], { rateLimit: l });
      piped = new Promise((resolve) => interval(1).pipe(rateLimit(l)).subscribe({ error: resolve }));
      await turns(1);
    })();
    expect(((await waited) as Error).name).toBe('AbortError');
    const result = (await map) as unknown as { itemResults(): { ok: boolean; attempts: number; error?: unknown }[] };
    // Their functions never ran: no attempt was made (outside review of issue 17).
    expect(result.itemResults().map((item) => [(item.error as Error).name, item.attempts])).toEqual([
      ['AbortError', 0],
      ['AbortError', 0],
    ]);
    expect(((await piped) as Error).name).toBe('AbortError');
    await expect(limited(3)).rejects.toMatchObject({ name: 'AbortError' });
    expect(ran).toEqual([]);
  });
});

describe('deep chains of lazy runs (issue 14, item 7)', () => {
  const depth = 10_000;

  it('a chain of 10,000 lazy TaskRuns runs, as a chain of futures does', async () => {
    const inc = task(async (x: number) => x + 1);
    let run = inc(0);
    for (let i = 1; i < depth; i++) run = inc(run as never);
    await expect(run).resolves.toBe(depth);
    let future = inc.submit(0);
    for (let i = 1; i < depth; i++) future = inc.submit(future as never);
    await expect(future).resolves.toBe(depth);
  });

  it('cancelling a deep chain reaches its first link, and a failure names only the nearest upstream', async () => {
    let signal: AbortSignal | undefined;
    const first = task(function (this: TaskContext) {
      signal = this.signal;
      return new Promise<number>(() => {});
    });
    const inc = task(async (x: number) => x + 1, { name: 'inc' });
    let run = inc(first() as never);
    for (let i = 1; i < depth; i++) run = inc(run as never);
    const subscription = run.subscribe();
    await turns(1);
    expect(signal?.aborted).toBe(false);
    subscription.unsubscribe();
    expect(signal?.aborted).toBe(true);

    const broken = task(async (): Promise<number> => {
      throw new Error('root cause');
    });
    let failing = inc(broken() as never);
    for (let i = 1; i < depth; i++) failing = inc(failing as never);
    const error = (await failing.catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('UpstreamError');
    expect(error.message.length).toBeLessThan(200);
  });
});

describe('a permit stays with a function until it has ended (outside review of issue 14)', () => {
  it('a cancelled or timed-out task that ignores its signal keeps its ConcurrencyLimit permit until it returns', async () => {
    const limit = new ConcurrencyLimit(1);
    let running = 0;
    let peak = 0;
    const release = deferred();
    const stubborn = task(
      async () => {
        peak = Math.max(peak, ++running);
        await release.promise; // ignores its signal
        running -= 1;
      },
      { concurrencyLimit: limit },
    );
    const next = task(
      async () => {
        peak = Math.max(peak, ++running);
        running -= 1;
        return 'next ran';
      },
      { concurrencyLimit: limit },
    );
    const first = stubborn.submit();
    await turns();
    first.cancel();
    const after = next.submit();
    await turns();
    expect(after.done).toBe(false); // still waiting for the permit the cancelled function holds
    expect(peak).toBe(1);
    release.resolve();
    await expect(after).resolves.toBe('next ran');
    expect(peak).toBe(1);
    expect(limit.active).toBe(0);
  });

  it('the same for an attempt its timeout abandoned: the retry waits for the permit', async () => {
    vi.useFakeTimers();
    const limit = new ConcurrencyLimit(1);
    let running = 0;
    let peak = 0;
    const slow = task(
      async function (this: TaskContext) {
        peak = Math.max(peak, ++running);
        await new Promise((resolve) => setTimeout(resolve, 100)); // ignores its signal
        running -= 1;
        return this.attempt;
      },
      { concurrencyLimit: limit, timeout: 50, retry: { attempts: 2, backoff: 0 } },
    );
    const future = slow.submit();
    await vi.advanceTimersByTimeAsync(400);
    expect(peak).toBe(1);
    expect(future.state).toBe('failed'); // both attempts timed out, one after the other
    expect(limit.active).toBe(0);
  });

  it('a cancelled group starts no child that was waiting for a permit', async () => {
    const limit = new ConcurrencyLimit(1);
    const started: string[] = [];
    const holder = task(
      async function (this: TaskContext) {
        started.push('holder');
        await new Promise((_, reject) => this.signal.addEventListener('abort', () => reject(this.signal.reason)));
      },
      { concurrencyLimit: limit },
    );
    const waiter = task(
      async () => {
        started.push('waiter');
      },
      { concurrencyLimit: limit },
    );
    const error = await taskGroup(async (g) => {
      g.start(holder);
      g.start(waiter);
      await turns(1);
      throw new Error('body failed');
    }).catch((e: unknown) => e);
    expect((error as AggregateError).errors).toEqual([new Error('body failed')]);
    expect(started).toEqual(['holder']);
    expect(limit.active).toBe(0);
  });
});

describe('a lazy run passed as an argument is part of its dependent (outside review of issue 14)', () => {
  it('disposing the dependent, or settling its group, waits for the dependency’s function too', async () => {
    const release = deferred();
    let dependencyRunning = false;
    const slowDependency = task(async () => {
      dependencyRunning = true;
      await release.promise; // ignores its signal
      dependencyRunning = false;
      return 1;
    });
    const use = task(async (x: number) => x + 1);

    const run = use(slowDependency() as never);
    run.then(undefined, () => {});
    await turns();
    const disposed = watch(run[Symbol.asyncDispose]());
    const future = use.submit(slowDependency() as never);
    await turns();
    const futureDisposed = watch(future[Symbol.asyncDispose]());
    const failing = task(async () => {
      throw new Error('root cause');
    });
    const group = watch(
      taskGroup(async (g) => {
        g.start(use, slowDependency() as never);
        g.start(failing);
      }),
    );
    await turns();
    expect(dependencyRunning).toBe(true);
    expect([disposed.settled, futureDisposed.settled, group.settled]).toEqual([false, false, false]);
    release.resolve();
    await turns();
    expect(dependencyRunning).toBe(false);
    expect([disposed.settled, futureDisposed.settled, group.settled]).toEqual([true, true, true]);
    expect((group.error as AggregateError).errors).toEqual([new Error('root cause')]);
  });
});

describe('how a task group settles (outside review of issue 14)', () => {
  const failing = task(async () => {
    await Promise.resolve();
    throw new Error('root cause');
  });
  const obedient = task(async function (this: TaskContext) {
    await new Promise((_, reject) => this.signal.addEventListener('abort', () => reject(this.signal.reason)));
  });

  it('a body that awaits a sibling cancelled by the failure reports the root cause only', async () => {
    const awaitsOne = await taskGroup(async (g) => {
      g.start(failing);
      return await g.start(obedient);
    }).catch((e: AggregateError) => e.errors);
    expect(awaitsOne).toEqual([new Error('root cause')]);
    const awaitsAll = await taskGroup(async (g) => Promise.all([g.start(obedient), g.start(failing)])).catch(
      (e: AggregateError) => e.errors,
    );
    expect(awaitsAll).toEqual([new Error('root cause')]);
  });

  it('an AbortError of its own, before anything cancels, is a failure', async () => {
    const aborts = task(async () => {
      throw new DOMException('the user’s own fetch was aborted', 'AbortError');
    });
    const errors = (await taskGroup(async (g) => void g.start(aborts)).catch(
      (e: AggregateError) => e.errors,
    )) as unknown[];
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ name: 'AbortError' });
  });

  it('cancelled by its signal it rejects with the reason, whether the signal aborted before or during the run', async () => {
    const reason = new Error('stop');
    const before = AbortSignal.abort(reason);
    const body = vi.fn();
    await expect(taskGroup(body, { signal: before })).rejects.toBe(reason);
    expect(body).not.toHaveBeenCalled();

    const during = new AbortController();
    const pending = taskGroup(
      async (g) => {
        await g.start(obedient);
      },
      { signal: during.signal },
    );
    await turns(1);
    during.abort(reason);
    await expect(pending).rejects.toBe(reason);

    const block = new AbortController();
    const disposed = (async () => {
      await using g = taskGroup({ signal: block.signal });
      g.start(obedient).catch(() => {});
      block.abort(reason);
    })();
    await expect(disposed).rejects.toBe(reason);
  });

  it('cancelled by its signal with a child failing as it stops: the reason first, then the failure', async () => {
    const reason = new Error('stop');
    const controller = new AbortController();
    const withRollback = task(async function (this: TaskContext) {
      await new Promise((resolve) => this.signal.addEventListener('abort', resolve));
      throw new Error('rollback failed');
    });
    const pending = taskGroup(async (g) => void g.start(withRollback), { signal: controller.signal });
    await turns(1);
    controller.abort(reason);
    const errors = await pending.catch((e: AggregateError) => e.errors);
    expect(errors).toEqual([reason, new Error('rollback failed')]);
  });

  it('a group made in a group’s body or in a child’s function is nested: cancelling the outer one reaches it', async () => {
    const innerSignals: AbortSignal[] = [];
    const watcher = task(async function (this: TaskContext) {
      innerSignals.push(this.signal);
      await new Promise((_, reject) => this.signal.addEventListener('abort', () => reject(this.signal.reason)));
    });
    const parentOfGroup = task(async () => taskGroup(async (inner) => void inner.start(watcher)));
    const error = await taskGroup(async (g) => {
      g.start(parentOfGroup);
      g.start(failing);
      await taskGroup(async (inner) => void inner.start(watcher));
    }).catch((e: AggregateError) => e.errors);
    expect(error).toEqual([new Error('root cause')]);
    expect(innerSignals).toHaveLength(2);
    expect(innerSignals.every((signal) => signal.aborted)).toBe(true);
  });

  it('its futures are a copy: changing the list does not change the group', async () => {
    const double = task(async (x: number) => x * 2);
    const result = await taskGroup(async (g) => {
      const future = g.start(double, 2);
      (g.futures as TaskFuture<unknown>[]).push('junk' as never);
      expect(g.futures).toEqual([future]);
      return future;
    });
    expect(result).toBe(4);
  });
});

describe('disposing a map waits for its input too (outside review of issue 14)', () => {
  it('a pending next() of an async generator, and its finally, have run before dispose resolves', async () => {
    const log: string[] = [];
    const slowNext = deferred();
    async function* input() {
      try {
        yield 1;
        await slowNext.promise; // the second next() is pending here
        yield 2;
      } finally {
        log.push('input closed');
      }
    }
    const run = parallelMap(async (x: number) => x, input());
    run.then(undefined, () => {});
    await turns();
    const disposed = watch(run[Symbol.asyncDispose]());
    await turns();
    expect(disposed.settled).toBe(false);
    slowNext.resolve();
    await turns();
    expect(log).toEqual(['input closed']);
    expect(disposed.settled).toBe(true);
  });
});

describe('task runs started inside a group are part of it (second outside review)', () => {
  const obedient = task(async function (this: TaskContext) {
    await new Promise((_, reject) => this.signal.addEventListener('abort', () => reject(this.signal.reason)));
  });
  const boom = task(async () => {
    throw new Error('root');
  });

  it('a task that calls a task, a body that awaits a call, a submit or a map: the group cancels them all', async () => {
    const callsTask = task(async () => await obedient());
    const submitsTask = task(async () => await obedient.submit());
    const obedientOf = task(async function (this: TaskContext, _item: number) {
      await new Promise((_, reject) => this.signal.addEventListener('abort', () => reject(this.signal.reason)));
    });
    const mapsTask = task(async () => (await obedientOf.map([1, 2])).status);
    const inGroup = await taskGroup(async (g) => {
      g.start(callsTask);
      g.start(submitsTask);
      const mapped = g.start(mapsTask);
      g.start(boom);
      await obedient();
      return mapped;
    }).catch((e: AggregateError) => e.errors);
    expect(inGroup).toEqual([new Error('root')]);
  });

  it('a run started after the group cancelled (a cleanup) runs', async () => {
    const cleanedUp: string[] = [];
    const cleanup = task(async () => {
      cleanedUp.push('cleanup ran');
    });
    const withCleanup = task(async function (this: TaskContext) {
      try {
        await new Promise((_, reject) => this.signal.addEventListener('abort', () => reject(this.signal.reason)));
      } finally {
        await cleanup();
      }
    });
    await taskGroup(async (g) => {
      g.start(withCleanup);
      g.start(boom);
    }).catch(() => {});
    expect(cleanedUp).toEqual(['cleanup ran']);
  });
});
