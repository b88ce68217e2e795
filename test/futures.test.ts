import { lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  allowFailure,
  asCompleted,
  ConcurrencyLimit,
  parallelMap,
  type TaskContext,
  TaskFuture,
  type TaskGroup,
  TimeoutError,
  task,
  taskGroup,
  UpstreamError,
  wait,
} from '../src/index.js';
import { inVirtualTime } from './support/virtual-time.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const delayed = task(async (ms: number) => {
  await sleep(ms);
  return ms;
});
const failing = task(
  async (message: string) => {
    await sleep(1);
    throw new Error(message);
  },
  { name: 'failing' },
);

afterEach(() => {
  vi.useRealTimers();
});

describe('TaskFuture', () => {
  it('starts at once, unlike a TaskRun, and runs exactly once', async () => {
    const fn = vi.fn(async (x: number) => x + 1);
    const inc = task(fn);
    const future = inc.submit(1);
    expect(future).toBeInstanceOf(TaskFuture);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(future.state).toBe('running');
    expect(await future).toBe(2);
    expect(await lastValueFrom(future)).toBe(2); // replayed, not run again
    expect(fn).toHaveBeenCalledTimes(1);
    expect(future.state).toBe('completed');
    expect(future.done).toBe(true);
  });

  it('reports failure through await, subscribe, state and error', async () => {
    const future = failing.submit('nope');
    await expect(future).rejects.toThrow('nope');
    await expect(lastValueFrom(future)).rejects.toThrow('nope');
    expect(future.state).toBe('failed');
    expect((future.error as Error).message).toBe('nope');
  });

  it('never causes an unhandled rejection when nobody awaits a failure', async () => {
    failing.submit('ignored');
    await sleep(10); // the suite fails on unhandled rejections
    expect(true).toBe(true);
  });

  it('result({ timeout }) rejects with a TimeoutError while the future keeps running', async () => {
    vi.useFakeTimers();
    const future = delayed.submit(100);
    const early = future.result({ timeout: 10 });
    const assertion = expect(early).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(10);
    await assertion;
    expect(future.state).toBe('running');
    await vi.advanceTimersByTimeAsync(90);
    expect(await future.result({ timeout: 10 })).toBe(100);
  });

  it('wait({ timeout }) never throws: it resolves the state, for a failure too', async () => {
    vi.useFakeTimers();
    const slow = delayed.submit(100);
    const waiting = slow.wait({ timeout: 5 });
    await vi.advanceTimersByTimeAsync(5);
    expect(await waiting).toBe('running');
    vi.useRealTimers();
    expect(await failing.submit('x').wait()).toBe('failed');
  });

  it('cancel() aborts the task’s signal and fails the future with an AbortError', async () => {
    let signal: AbortSignal | undefined;
    const hang = task(function (this: TaskContext) {
      signal = this.signal;
      return new Promise(() => {});
    });
    const future = hang.submit();
    expect(future.cancel()).toBe(true);
    expect(future.state).toBe('cancelled');
    expect(signal?.aborted).toBe(true);
    await expect(future).rejects.toMatchObject({ name: 'AbortError' });
    expect(future.cancel()).toBe(false);
    const finished = delayed.submit(0);
    await finished;
    expect(finished.cancel()).toBe(false);
  });

  it('throws at the call for a bad timeout', () => {
    const future = delayed.submit(0);
    expect(() => future.result({ timeout: -1 })).toThrow(RangeError);
    expect(() => future.wait({ timeout: Number.NaN })).toThrow(RangeError);
  });
});

describe('wait and asCompleted', () => {
  it('wait() splits the futures into done and not done', async () => {
    vi.useFakeTimers();
    const fast = delayed.submit(5);
    const slow = delayed.submit(500);
    const broken = failing.submit('x');
    const pending = wait([fast, slow, broken], { timeout: 50 });
    await vi.advanceTimersByTimeAsync(50);
    const { done, notDone } = await pending;
    expect(done).toEqual([fast, broken]);
    expect(notDone).toEqual([slow]);
  });

  it('wait() without a timeout waits for all', async () => {
    const futures = [delayed.submit(3), delayed.submit(1)];
    const { done, notDone } = await wait(futures);
    expect(done).toHaveLength(2);
    expect(notDone).toHaveLength(0);
  });

  it('asCompleted yields each future once, in completion order, as an AsyncIterable and an Observable', async () => {
    const futures = await inVirtualTime(async () => {
      const started = [delayed.submit(30), delayed.submit(10), delayed.submit(20)];
      const order: number[] = [];
      for await (const future of asCompleted(started)) order.push(await future);
      expect(order).toEqual([10, 20, 30]);
      return started;
    });
    const again = await lastValueFrom(asCompleted(futures).pipe(toArray()));
    expect(again).toHaveLength(3);
    expect(new Set(again).size).toBe(3);
  });

  it('asCompleted errors with a TimeoutError when time runs out', async () => {
    const futures = [delayed.submit(1), delayed.submit(1_000)];
    const seen: number[] = [];
    const loop = (async () => {
      for await (const future of asCompleted(futures, { timeout: 50 })) seen.push(await future);
    })();
    await expect(loop).rejects.toBeInstanceOf(TimeoutError);
    expect(seen).toEqual([1]);
    futures[1].cancel();
  });

  it('throws at the call for something that is not a future, or a negative timeout', () => {
    expect(() => wait([1 as never])).toThrow(new TypeError('wait: futures[0] must be a TaskFuture, got 1 (number)'));
    expect(() => wait('x' as never)).toThrow(TypeError);
    expect(() => wait([], { timeout: -5 })).toThrow(RangeError);
    expect(() => asCompleted([Promise.resolve(1) as never])).toThrow(TypeError);
  });
});

describe('dependencies', () => {
  const add = task((a: number, b: number) => a + b, { name: 'add' });

  it('resolves futures and runs passed as arguments, also inside arrays and plain objects', async () => {
    const sum = task((numbers: number[], extra: { bonus: number }) => numbers.reduce((a, b) => a + b, extra.bonus));
    const future = sum.submit([delayed.submit(1), 2, delayed(3)] as never, { bonus: delayed.submit(10) } as never);
    expect(future.state).toBe('pending');
    expect(await future).toBe(16);
    expect(await add(delayed.submit(2), delayed(3))).toBe(5);
  });

  it('fails downstream with an UpstreamError naming the upstream run', async () => {
    const upstream = failing.submit('broken');
    const error = await add.submit(upstream as never, 1).then(undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ name: 'UpstreamError', upstream: 'failing' });
    expect(((error as UpstreamError).cause as Error).message).toBe('broken');
  });

  it('passes the error in as the value under allowFailure', async () => {
    const describeOutcome = task((outcome: unknown) => (outcome instanceof Error ? `error: ${outcome.message}` : 'ok'));
    expect(await describeOutcome.submit(allowFailure(failing.submit('bad')))).toBe('error: bad');
  });

  it('waitFor orders tasks that share no data, and fails on an upstream failure', async () => {
    const order: string[] = [];
    const step = task(async (label: string, ms: number) => {
      await sleep(ms);
      order.push(label);
    });
    await inVirtualTime(async () => {
      const a = step.submit('a', 20);
      const b = step.submit('b', 10);
      const c = step.with({ waitFor: [a, b] }).submit('c', 0);
      expect(c.state).toBe('pending');
      await c;
    });
    expect(order).toEqual(['b', 'a', 'c']);
    const after = step.with({ waitFor: [failing.submit('no')] }).submit('d', 0);
    await expect(after).rejects.toBeInstanceOf(UpstreamError);
    expect(order).not.toContain('d');
    await step.with({ waitFor: [allowFailure(failing.submit('fine'))] }).submit('e', 0);
    expect(order).toContain('e');
  });

  it('rejects waitFor entries that are not futures or runs', () => {
    expect(() => task(() => 1).with({ waitFor: [42] })).toThrow(/`waitFor\[0\]` must be a TaskFuture/);
    expect(() => task(() => 1, { waitFor: 'a' as never })).toThrow(TypeError);
  });
});

describe('dependencies in map items', () => {
  const double = task((x: number) => x * 2);

  it('resolves futures and runs that are items of a map, or arguments of its tuples', async () => {
    const items = [delayed.submit(3), 4, delayed(5)] as unknown as number[];
    expect((await double.map(items)).values()).toEqual([6, 8, 10]);
    const add = task((a: number, b: number) => a + b);
    expect((await add.starmap([[delayed.submit(1), 2]] as unknown as [number, number][])).values()).toEqual([3]);
    expect((await add.map([delayed.submit(1), 5] as unknown as number[], 10)).values()).toEqual([11, 15]);
  });

  it('fails only the item whose future failed, with an UpstreamError', async () => {
    const result = await double.map([failing.submit('gone'), 1] as unknown as number[]);
    expect(result.okValues()).toEqual([2]);
    expect(result.failures()[0].error).toBeInstanceOf(UpstreamError);
  });

  it('counts an item waiting for its dependency as not started when the run is cancelled', async () => {
    const hang = task(() => new Promise<number>(() => {}));
    const controller = new AbortController();
    const pending = double
      .map([hang.submit()] as unknown as number[], { signal: controller.signal })
      .then((result) => result);
    await sleep(5);
    controller.abort(new Error('stop'));
    const result = await pending;
    expect(result.status).toBe('cancelled');
    expect(result.failures()[0].attempts).toBe(0);
  });
});

describe('run names', () => {
  it('fill a template from parameter names and positions, or call a function', () => {
    const train = task(
      (dataset: { name: string }, modelConfig: { name: string }) => `${dataset.name}/${modelConfig.name}`,
      {
        runName: 'train on {dataset.name} with {modelConfig.name} ({1.name})',
      },
    );
    const future = train.submit({ name: 'customers' }, { name: 'random_forest' });
    expect(future.runName).toBe('train on customers with random_forest (random_forest)');
    const named = task((n: number) => n, { runName: (n: number) => `item #${n}` });
    expect(named.submit(7).runName).toBe('item #7');
    expect(task(() => 1, { name: 'plain' }).submit().runName).toBe('plain');
  });

  it('name the upstream in an UpstreamError', async () => {
    const fetchPage = task(
      async (page: number) => {
        throw new Error(`page ${page} missing`);
      },
      { runName: 'fetch page {page}' },
    );
    const error = await task((x: unknown) => x)
      .submit(fetchPage.submit(4))
      .then(undefined, (e: unknown) => e);
    expect((error as UpstreamError).upstream).toBe('fetch page 4');
    expect((error as Error).message).toContain("upstream task 'fetch page 4' failed");
  });

  it('throw a TypeError for a runName of the wrong type', () => {
    expect(() => task(() => 1, { runName: 5 as never })).toThrow(/`runName` must be a template string or a function/);
  });

  it('take names given with the task over the names in its source, as in minified code', () => {
    // What a minifier leaves of `(id, size) => …`.
    const minified = task((e: number, t: number) => e * t, {
      runName: 'resize {id} to {size}px',
      parameterNames: ['id', 'size'],
    });
    expect(minified.submit(7, 64).runName).toBe('resize 7 to 64px');
    expect(minified.with({ name: 'other' }).submit(1, 2).runName).toBe('resize 1 to 2px');
    expect(task((e: number) => e, { runName: 'fetch {0}' }).submit(3).runName).toBe('fetch 3');
  });

  it('warn once, naming the fix, when a template names a parameter the function lacks', () => {
    const warning = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const fetchUser = task((e: number) => e, { runName: 'fetch user {id} of {1}' });
      expect(fetchUser.submit(3).runName).toBe('fetch user {id} of {1}');
      fetchUser.with({ name: 'again' });
      expect(warning).toHaveBeenCalledTimes(1);
      expect(warning.mock.calls[0][0]).toMatch(
        /names \{id\}, which the function's parameters \(e\).*minifier or bundler.*parameterNames/,
      );
      expect(warning.mock.calls[0][1]).toEqual({ code: 'RXTASK_RUN_NAME' });
      task((id: number) => id, { runName: 'fetch user {id}' });
      expect(warning).toHaveBeenCalledTimes(1);
    } finally {
      warning.mockRestore();
    }
  });

  it('give a rest parameter every argument from its position on, read from the source or given', () => {
    const tagged = task((label: string, ...ids: number[]) => `${label}: ${ids.length}`, {
      runName: '{label}: {ids} ({ids.length})',
    });
    expect(tagged.submit('batch', 1, 2, 3).runName).toBe('batch: 1,2,3 (3)');
    expect(tagged.submit('none').runName).toBe('none:  (0)');
    const given = task((e: string, ...t: number[]) => e + t.length, {
      runName: '{label}: {ids}',
      parameterNames: ['label', '...ids'],
    });
    expect(given.submit('batch', 4, 5).runName).toBe('batch: 4,5');
  });

  it('throw at the call for parameterNames that are wrong or miss a name the template uses', () => {
    expect(() => task((e: number) => e, { parameterNames: 'id' as never })).toThrow(
      new TypeError('task: `parameterNames` must be an array of strings, got "id" (string)'),
    );
    expect(() => task((e: number) => e, { parameterNames: ['id', 3 as never] })).toThrow(
      /`parameterNames\[1\]` must be a parameter name such as "id" .*, got 3 \(number\)/,
    );
    expect(() => task((e: number) => e, { parameterNames: ['...ids', 'id'] })).toThrow(
      /`parameterNames\[0\]` must be a parameter name such as "id" \(the last may be a rest parameter, "...ids"\)/,
    );
    expect(() => task((e: number, t: number) => e + t, { parameterNames: ['x', '...x'] })).toThrow(
      new TypeError('task: `parameterNames` names "x" twice'),
    );
    expect(() => task((e: number) => e, { runName: 'fetch {user}', parameterNames: ['id'] })).toThrow(
      new RangeError('task: `runName` names {user}, which `parameterNames` (id) does not list'),
    );
  });
});

describe('taskGroup', () => {
  it('waits for every child and resolves what the body returns', async () => {
    const finished: number[] = [];
    const work = task(async (ms: number) => {
      await sleep(ms);
      finished.push(ms);
      return ms * 2;
    });
    const result = await inVirtualTime(() =>
      taskGroup(async (group) => {
        group.start(work, 20); // not awaited by the body: the group still waits for it
        return group.start(work, 1);
      }),
    );
    expect(result).toBe(2);
    expect(finished).toEqual([1, 20]);
  });

  it('aborts the other children at the first failure and rejects with an AggregateError', async () => {
    const signals: AbortSignal[] = [];
    const hang = task(function (this: TaskContext) {
      signals.push(this.signal);
      return new Promise((_, reject) => this.signal.addEventListener('abort', () => reject(this.signal.reason)));
    });
    const error = await taskGroup(async (group) => {
      group.start(hang);
      group.start(hang);
      group.start(failing, 'child failed');
    }).then(undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(AggregateError);
    expect((error as AggregateError).errors.map((e) => (e as Error).message)).toEqual(['child failed']);
    expect(signals.every((signal) => signal.aborted)).toBe(true);
  });

  it('never leaves a child running when the body throws', async () => {
    const signals: AbortSignal[] = [];
    const hang = task(function (this: TaskContext) {
      signals.push(this.signal);
      return new Promise((_, reject) => this.signal.addEventListener('abort', () => reject(this.signal.reason)));
    });
    let futures: readonly TaskFuture<unknown>[] = [];
    const error = await taskGroup((group) => {
      group.start(hang);
      futures = group.futures;
      throw new Error('body failed');
    }).then(undefined, (e: unknown) => e);
    expect((error as AggregateError).errors[0]).toEqual(new Error('body failed'));
    expect(signals[0].aborted).toBe(true);
    expect(futures.every((future) => future.done)).toBe(true);
  });

  it('is cancelled by its signal', async () => {
    const controller = new AbortController();
    const pending = taskGroup((group) => group.start(delayed, 1_000), { signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(pending).rejects.toBeDefined();
  });

  it('refuses children once closed, and bad input', async () => {
    let saved: TaskGroup | undefined;
    await taskGroup((group) => {
      saved = group;
    });
    expect(() => saved?.start(delayed, 1)).toThrow(/the group is closed/);
    expect(() => taskGroup(5 as never)).toThrow(TypeError);
    expect(() => taskGroup({ signal: 'soon' } as never)).toThrow(/signal/);
    expect(() => taskGroup({} as never, {})).toThrow(/body function/);
  });
});

describe('ConcurrencyLimit', () => {
  it('caps running tasks across maps and calls that share it', async () => {
    const limit = new ConcurrencyLimit(3);
    let running = 0;
    let peak = 0;
    const work = task(
      async () => {
        peak = Math.max(peak, ++running);
        await sleep(2);
        running -= 1;
      },
      { concurrencyLimit: limit },
    );
    await Promise.all([
      parallelMap(work, Array.from({ length: 10 }), { concurrency: 10 }),
      parallelMap(work, Array.from({ length: 10 }), { concurrency: 10 }),
      work(),
      work.submit(),
    ]);
    expect(peak).toBe(3);
    expect(limit.active).toBe(0);
  });

  it('is found by name', async () => {
    const named = ConcurrencyLimit.named('futures-test', 2);
    expect(ConcurrencyLimit.named('futures-test')).toBe(named);
    expect(() => ConcurrencyLimit.named('futures-test', 5)).toThrow(RangeError);
    expect(() => ConcurrencyLimit.named('never-defined')).toThrow(TypeError);
    // The limit is checked before it is compared, and a detached `named` works.
    expect(() => ConcurrencyLimit.named('futures-test', '2' as never)).toThrow(
      new TypeError('ConcurrencyLimit.named: `limit` must be a number, got "2" (string)'),
    );
    const { named: detached } = ConcurrencyLimit;
    expect(detached('futures-test')).toBe(named);
    ConcurrencyLimit.named('futures-one', 1);
    expect(() => ConcurrencyLimit.named('futures-one', 2)).toThrow(
      new RangeError("ConcurrencyLimit.named: 'futures-one' has 1 permit, not 2"),
    );
    const byName = task(async () => named.active, { concurrencyLimit: 'futures-test' });
    expect(await byName()).toBe(1);
  });

  it('does not deadlock a task that waits on its own children under the same limit', async () => {
    const limit = new ConcurrencyLimit(1);
    const child = task(
      async (x: number) => {
        await sleep(1);
        return x * 10;
      },
      { concurrencyLimit: limit },
    );
    const parent = task(
      async (xs: number[]) => {
        await sleep(1); // children started after an await still borrow the parent's permit
        const results = await child.map(xs);
        return results.values();
      },
      { concurrencyLimit: limit },
    );
    const values = await Promise.race([parent([1, 2, 3]), sleep(2_000).then(() => 'deadlock')]);
    expect(values).toEqual([10, 20, 30]);
  });

  it('throws at the call for bad limits', () => {
    expect(() => new ConcurrencyLimit(0)).toThrow(RangeError);
    expect(() => new ConcurrencyLimit(1.5)).toThrow(RangeError);
    expect(() => task(() => 1, { concurrencyLimit: 3 as never })).toThrow(
      /`concurrencyLimit` must be a ConcurrencyLimit/,
    );
  });
});
