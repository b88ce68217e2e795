import { type Observable, of } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import { mapParallel } from '../operators/index.js';
import {
  type ItemResult,
  type ParallelResult,
  type ParallelRun,
  parallelMap,
  type TaskContext,
  task,
  unmapped,
} from '../src/index.js';

describe('parallel map types', () => {
  it('infers the result type from a plain function or a task', async () => {
    expectTypeOf(parallelMap(async (x: number) => String(x), [1, 2])).toEqualTypeOf<ParallelRun<string>>();
    expectTypeOf(
      parallelMap(
        task(async (x: number) => x > 1),
        [1],
      ),
    ).toEqualTypeOf<ParallelRun<boolean>>();
    expectTypeOf(parallelMap((x: number) => of(x), [1])).toEqualTypeOf<ParallelRun<number>>();
    expectTypeOf(await parallelMap((x: number) => x, [1])).toEqualTypeOf<ParallelResult<number>>();
    parallelMap(
      function (this: TaskContext, x: string) {
        expectTypeOf(this.index).toEqualTypeOf<number | undefined>();
        return x;
      },
      ['a'],
    );
    // @ts-expect-error the items are strings, the function takes numbers
    parallelMap((x: number) => x, ['a']);
  });

  it('types ItemResult by its ok flag', async () => {
    for await (const item of parallelMap(async (x: number) => x, [1])) {
      expectTypeOf(item).toEqualTypeOf<ItemResult<number>>();
      if (item.ok) expectTypeOf(item.value).toEqualTypeOf<number>();
      else expectTypeOf(item.error).toEqualTypeOf<unknown>();
    }
  });

  it('types task.map, starmap and stream by the task parameters', () => {
    const pair = task((a: number, b: string) => `${a}${b}`);
    expectTypeOf(pair.map([1, 2], unmapped('x'))).toEqualTypeOf<ParallelRun<string>>();
    expectTypeOf(pair.map([1], ['a'], { concurrency: 2 })).toEqualTypeOf<ParallelRun<string>>();
    expectTypeOf(pair.starmap([[1, 'a']] as [number, string][])).toEqualTypeOf<ParallelRun<string>>();
    // @ts-expect-error the second argument must be strings
    pair.map([1], [2]);
    const one = task(async (x: number) => x * 2);
    expectTypeOf(one.stream([1, 2])).toEqualTypeOf<Observable<number>>();
    // An Observable input, as parallelMap and stream take.
    expectTypeOf(one.map(of(1, 2), { concurrency: 1 })).toEqualTypeOf<ParallelRun<number>>();
    // @ts-expect-error the Observable's values must be numbers
    one.map(of('1'));
  });

  it('types mapParallel as an operator of ItemResults', () => {
    expectTypeOf(of(1, 2).pipe(mapParallel(async (x: number) => String(x)))).toEqualTypeOf<
      Observable<ItemResult<string>>
    >();
  });
});
