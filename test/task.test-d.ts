import { type Observable, of } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import { gather, type Task, type TaskContext, type TaskFuture, type TaskRun, task, wait } from '../src/index.js';

describe('task types', () => {
  it('keeps the parameter and result types', () => {
    const toText = task(async (x: number) => String(x));
    expectTypeOf(toText).toEqualTypeOf<Task<[x: number], string, Promise<string>>>();
    expectTypeOf(toText(1)).toEqualTypeOf<TaskRun<string>>();
    // @ts-expect-error a string is not a number
    toText('1');
    // @ts-expect-error too many arguments
    toText(1, 2);
  });

  it('unwraps sync values and Observables', () => {
    expectTypeOf(task((a: string, b?: number) => a.length + (b ?? 0)).forward).parameters.toEqualTypeOf<
      [a: string, b?: number]
    >();
    expectTypeOf(task(() => of(1, 2))()).toEqualTypeOf<TaskRun<number>>();
    expectTypeOf(task(() => 'x')).returns.toEqualTypeOf<TaskRun<string>>();
  });

  it('types `this` as the TaskContext', () => {
    task(function (this: TaskContext, x: number) {
      expectTypeOf(this.signal).toEqualTypeOf<AbortSignal>();
      expectTypeOf(this.index).toEqualTypeOf<number | undefined>();
      return x;
    });
  });

  it('types forward() as the raw return', () => {
    const t = task((x: number): Observable<number> => of(x));
    expectTypeOf(t.forward(1)).toEqualTypeOf<Observable<number>>();
  });

  it('types gather results in argument order', async () => {
    const n = task(async () => 1);
    const s = task(() => 'a');
    expectTypeOf(await gather(n(), s())).toEqualTypeOf<[number, string]>();
    expectTypeOf(await gather(n(), Promise.resolve(true), { returnErrors: true })).toEqualTypeOf<
      [number | Error, boolean | Error]
    >();
  });
});

describe('future types', () => {
  it('types submit, and accepts futures and runs where values go', async () => {
    const double = task(async (x: number) => x * 2);
    const future = double.submit(1);
    expectTypeOf(future).toEqualTypeOf<TaskFuture<number>>();
    expectTypeOf(await future).toEqualTypeOf<number>();
    double(future);
    double.submit(double(2));
    // @ts-expect-error a future of a string is not a number
    double(task(() => 'x').submit());
    const { done } = await wait([future]);
    expectTypeOf(done).toEqualTypeOf<TaskFuture<number>[]>();
  });
});
