/**
 * Every Prefect and Flyte example of ../shared/seeds/ (000 to 003), written in rxtask in about as many lines, with
 * what the original prints or returns asserted. Sleeps are milliseconds where the originals use seconds.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ConcurrencyLimit,
  gather,
  parallelMap,
  type TaskFuture,
  task,
  taskGroup,
  unmapped,
  wait,
} from '../src/index.js';
import { inVirtualTime } from './support/virtual-time.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

afterEach(() => {
  vi.useRealTimers();
});

describe('Flyte 2: parallelism and async (seed 000)', () => {
  const processItem = task((x: number) => x * 2);

  it('basic map_task migration: list(flyte.map(process_item, items))', async () => {
    const main = async (items: number[]) => (await processItem.map(items)).values();
    expect(await main([1, 2, 3])).toEqual([2, 4, 6]);
  });

  it('map with concurrency=5', async () => {
    expect((await processItem.map([1, 2, 3], { concurrency: 5 })).values()).toEqual([2, 4, 6]);
  });

  it('asyncio.gather over async tasks', async () => {
    const processAsync = task(async (item: number) => `processed_${item}`);
    const main = (items: number[]) => gather(...items.map((item) => processAsync(item)));
    expect(await main([1, 2])).toEqual(['processed_1', 'processed_2']);
  });

  it('concurrency control with a semaphore: a shared limit', async () => {
    let running = 0;
    let peak = 0;
    const semaphore = new ConcurrencyLimit(5);
    const slowItem = task(
      async (item: number) => {
        peak = Math.max(peak, ++running);
        await sleep(5);
        running -= 1;
        return `processed_${item}`;
      },
      { concurrencyLimit: semaphore },
    );
    const results = await gather(...Array.from({ length: 12 }, (_, i) => slowItem(i)));
    expect(results).toHaveLength(12);
    expect(peak).toBe(5);
  });

  it('error handling with asyncio.gather(return_exceptions=True)', async () => {
    const processItem = task(async (item: number) => {
      if (item === 2) throw new Error('bad item');
      return `processed_${item}`;
    });
    const items = [1, 2, 3];
    const results = await gather(...items.map((item) => processItem(item)), { returnErrors: true });
    const processed = results.map((result, i) => (result instanceof Error ? `Failed: ${items[i]}` : result));
    expect(processed).toEqual(['processed_1', 'Failed: 2', 'processed_3']);
  });

  it('sync tasks calling sync tasks, and async chains run sequentially with await', async () => {
    const step1 = task((x: number) => x + 1);
    const step2 = task(async (y: number) => y * 2);
    const step3 = task(async (z: number) => `result ${z}`);
    const main = async (x: number) => {
      const a = await step1(x); // runs first
      const b = await step2(a); // runs after step1 completes
      return step3(b);
    };
    expect(await main(1)).toBe('result 4');
  });
});

describe('Prefect: async tasks, submit and task groups (seed 001)', () => {
  const asyncTask = task(async (n: number) => {
    await sleep(5);
    return n * 2;
  });

  it('parallel_flow: submit, then gather', async () => {
    const parallelFlow = (numbers: number[]) => gather(...numbers.map((n) => asyncTask.submit(n)));
    expect(await parallelFlow([1, 2, 3, 4, 5])).toEqual([2, 4, 6, 8, 10]);
  });

  it('parallel_flow_with_taskgroup', async () => {
    const results: number[] = [];
    await taskGroup((group) => {
      for (const n of [1, 2, 3, 4, 5]) group.start(asyncTask, n).then((r) => results.push(r));
    });
    expect(results.sort((a, b) => a - b)).toEqual([2, 4, 6, 8, 10]);
  });

  const syncTask = task((x: number) => x * 2);
  const asyncTimesThree = task(async (x: number) => {
    await sleep(5);
    return x * 3;
  });

  it('mixed_flow: sync and async tasks submitted together', async () => {
    const numbers = [1, 2, 3];
    const all = await gather(
      ...numbers.map((n) => syncTask.submit(n)),
      ...numbers.map((n) => asyncTimesThree.submit(n)),
    );
    expect(all.slice(0, numbers.length)).toEqual([2, 4, 6]);
    expect(all.slice(numbers.length)).toEqual([3, 6, 9]);
  });

  it('complex_mixed_flow with a task group', async () => {
    const results = { sync: [] as number[], async: [] as number[] };
    await taskGroup((group) => {
      for (const n of [1, 2, 3]) {
        group.start(syncTask, n).then((r) => results.sync.push(r));
        group.start(asyncTimesThree, n).then((r) => results.async.push(r));
      }
    });
    expect(results.sync.sort()).toEqual([2, 4, 6]);
    expect(results.async.sort()).toEqual([3, 6, 9]);
  });

  it('mixed_concurrent_flow with .map', async () => {
    const [syncResults, asyncResults] = await gather(syncTask.map([1, 2, 3]), asyncTimesThree.map([1, 2, 3]));
    expect(syncResults.values()).toEqual([2, 4, 6]);
    expect(asyncResults.values()).toEqual([3, 6, 9]);
  });
});

describe('Flyte 2: advanced task patterns (seed 002)', () => {
  it('forward: run a task’s function directly, then call it as a task', async () => {
    const innerTask = task(async (x: number) => x + 1);
    const outerTask = async (x: number) => innerTask(await innerTask.forward(x));
    expect(await outerTask(10)).toBe(12);
    const syncInner = task((x: number) => x + 1);
    expect(await syncInner(syncInner.forward(10))).toBe(12);
  });

  it('tasks and plain functions passed as arguments', async () => {
    const addOneUdf = task(async (x: number) => x + 1);
    const fnAddTwoUdf = async (x: number) => x + 2;
    const runUdf = task(async (x: number, udf: (x: number) => PromiseLike<number>) => udf(x));
    expect([await runUdf(5, addOneUdf), await runUdf(5, fnAddTwoUdf)]).toEqual([6, 7]);
  });

  it('short_name and override: name a task, and rename one call', async () => {
    const someTask = task(
      async function (this: { name: string }) {
        return `Hello from ${this.name}`;
      },
      { name: 'my_task' },
    );
    expect(await someTask()).toBe('Hello from my_task');
    expect(await someTask.with({ name: 'my_name' })()).toBe('Hello from my_name');
  });

  it('calling sync tasks from async code (.aio) and flyte.map.aio', async () => {
    const syncProcess = task((x: number) => `Task ${x}`);
    expect(await syncProcess(1)).toBe('Task 1'); // every task is awaitable, sync or not
    const results: string[] = [];
    for await (const result of syncProcess.map([0, 1, 2], { ordered: true })) {
      if (!result.ok) throw result.error;
      results.push(result.value);
    }
    expect(results).toEqual(['Task 0', 'Task 1', 'Task 2']);
  });

  it('anyio task group with result capture', async () => {
    const processItem = task(async (x: number) => x * 2);
    const captured = await taskGroup((group) => [1, 2, 3].map((item) => group.start(processItem, item)));
    expect(await Promise.all(captured)).toEqual([2, 4, 6]);
  });
});

describe('Prefect: task runners, futures and maps (seed 003)', () => {
  const log: string[] = [];
  const stopAtFloor = task(async (floor: number) => {
    log.push(`elevator moving to floor ${floor}`);
    await sleep(floor);
    log.push(`elevator stops on floor ${floor}`);
  });

  it('the elevator: submit ten floors, then wait for them all', async () => {
    log.length = 0;
    const floors: TaskFuture<void>[] = [];
    // Submitted under virtual time, so the floors' sleeps end in exact order.
    const { done } = await inVirtualTime(() => {
      for (let floor = 10; floor > 0; floor--) floors.push(stopAtFloor.submit(floor));
      return wait(floors);
    });
    expect(done).toHaveLength(10);
    expect(log.filter((line) => line.startsWith('elevator stops')).at(-1)).toBe('elevator stops on floor 10');
  });

  it('handling futures: result() and wait()', async () => {
    const coolTask = task(() => 'sup');
    expect(await coolTask.submit().result()).toBe('sup');
    expect(await coolTask.submit().wait()).toBe('completed');
    const { done } = await wait(Array.from({ length: 10 }, () => coolTask.submit()));
    expect(done).toHaveLength(10);
  });

  it('passing futures between tasks', async () => {
    const coolTask = task(() => 'sup');
    const whatDidCoolTaskSay = task((whatItSaid: string) => `cool task said ${whatItSaid}`);
    expect(await whatDidCoolTaskSay(coolTask.submit())).toBe('cool task said sup');
  });

  it('the elevator with .map', async () => {
    const floors = await stopAtFloor.map([3, 2, 1]);
    expect(floors.ok).toBe(true);
  });

  it('unmapped: static values, iterable or not', async () => {
    const addTogether = task((x: number, y: number) => x + y);
    expect((await addTogether.map([1, 2, 3], 5)).values()).toEqual([6, 7, 8]);
    const sumPlus = task((x: number, staticIterable: number[]) => x + staticIterable.reduce((a, b) => a + b, 0));
    expect((await sumPlus.map([4, 5, 6], unmapped([1, 2, 3]))).values()).toEqual([10, 11, 12]);
  });

  it('nested mapped tasks: the text analysis', async () => {
    const countWords = (text: string) => text.split(/\s+/).length;
    const extractEmails = (text: string) => text.match(/[\w.+-]+@[\w-]+\.[\w.-]+/g) ?? [];
    const analyzeTexts = task(async (texts: string[]) => {
      const [words, emails] = await gather(task(countWords).map(texts), task(extractEmails).map(texts));
      return { count_words: words.values(), extract_emails: emails.values() };
    });
    const results = await analyzeTexts([
      'Just visited #Paris! Contact me at visitor@example.com #travel #vacation',
      'Working on my new #project. Reach out at developer@example.com if interested!',
      'Happy to announce our company event #celebration #milestone email: events@company.org',
    ]);
    expect(results.count_words).toEqual([9, 11, 10]);
    expect(results.extract_emails).toEqual([
      ['visitor@example.com'],
      ['developer@example.com'],
      ['events@company.org'],
    ]);
  });

  it('state dependencies with wait_for', async () => {
    const order: string[] = [];
    // `a` finishes after `b` (it waits for b's end), so the order is decided by the dependencies, not by timers.
    let bDone = () => {};
    const afterB = new Promise<void>((resolve) => (bDone = resolve));
    const step = (name: string, before: () => Promise<void>, after = () => {}) =>
      task(
        async () => {
          await before();
          order.push(name);
          after();
        },
        { name },
      );
    const a = step('a', () => afterB).submit();
    const b = step('b', () => sleep(1), bDone).submit();
    const c = step('c', async () => {})
      .with({ waitFor: [a, b] })
      .submit();
    await step('d', async () => {}).with({ waitFor: [c] })();
    expect(order).toEqual(['b', 'a', 'c', 'd']);
  });

  it('the elevator with asyncio: gather', async () => {
    log.length = 0;
    await gather(...[3, 2, 1].map((floor) => stopAtFloor(floor)));
    expect(log.slice(0, 3)).toEqual([
      'elevator moving to floor 3',
      'elevator moving to floor 2',
      'elevator moving to floor 1',
    ]);
  });

  it('model evaluation: a grid of trainings with run names', async () => {
    interface Dataset {
      name: string;
    }
    interface ModelConfig {
      name: string;
    }
    const trainModel = task(
      (dataset: Dataset, modelConfig: ModelConfig) => ({
        dataset: dataset.name,
        model: modelConfig.name,
        score: (dataset.name.length * 7 + modelConfig.name.length) % 10,
      }),
      { runName: 'train on {dataset.name} with {modelConfig.name}' },
    );
    const datasets = [{ name: 'customers' }, { name: 'products' }, { name: 'orders' }];
    const modelConfigs = [{ name: 'random_forest' }, { name: 'gradient_boosting' }];
    const all = await parallelMap(
      (pair: [Dataset, ModelConfig]) => trainModel.submit(...pair),
      datasets.flatMap((dataset) => modelConfigs.map((config) => [dataset, config] as [Dataset, ModelConfig])),
    );
    const results = all.values();
    const best = results.reduce((a, b) => (b.score > a.score ? b : a));
    expect(results).toHaveLength(6);
    expect(best).toEqual({ dataset: 'products', model: 'random_forest', score: 9 });
    expect(trainModel.submit(datasets[1], modelConfigs[1]).runName).toBe('train on products with gradient_boosting');
  });
});
