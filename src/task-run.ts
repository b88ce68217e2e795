import { Observable, type Subscriber, type TeardownLogic } from 'rxjs';
import { lastValue } from './value-promises.js';

/**
 * One call of a task: a cold Observable of the task's result that is also awaitable.
 *
 * Nothing runs until it is subscribed or awaited. Each subscription runs the task function again, as any cold
 * Observable does. Awaiting is memoized, the way lazy thenables such as Prisma's queries behave: the first `await`
 * (or `.then`) starts one run, and every later `await` of the same TaskRun shares its outcome instead of running the
 * function again. To run again, call the task again or subscribe.
 *
 * Awaiting resolves the last value the run emitted (a Promise or sync task emits exactly one) and rejects with its
 * error; an Observable task that completes with no value rejects with RxJS's `EmptyError`.
 *
 * @example
 * ```ts
 * import { map } from 'rxjs';
 * import { task } from 'rxtask';
 *
 * const double = task(async (x: number) => x * 2);
 * const run = double(21);          // nothing has run yet
 * console.log(await run);          // 42
 * run.pipe(map((v) => v + 1)).subscribe(console.log); // runs again: 43
 * ```
 */
export class TaskRun<T> extends Observable<T> implements PromiseLike<T> {
  private settled: Promise<T> | undefined = undefined;

  /** The name of the task this is a run of. */
  readonly taskName: string | undefined;

  constructor(subscribe: (this: Observable<T>, subscriber: Subscriber<T>) => TeardownLogic, taskName?: string) {
    super(subscribe);
    this.taskName = taskName;
  }

  // biome-ignore lint/suspicious/noThenProperty: a TaskRun is awaitable by design.
  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.settled ??= lastValue(this);
    return this.settled.then(onFulfilled, onRejected);
  }

  /** As `Promise.prototype.catch`: awaits the run (starting it if need be) and handles its failure. */
  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.then(undefined, onRejected);
  }

  /** As `Promise.prototype.finally`: awaits the run (starting it if need be) and runs `onFinally` either way. */
  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onFinally);
  }
}
