import { Observable, type Subscriber, type TeardownLogic } from 'rxjs';
import { FunctionTracker } from './engine/function-tracker.js';
import { cancellationReason } from './errors.js';
import { lastValue } from './value-promises.js';

/** The execution behind `await`, once started: how to cancel it, and how to wait for the functions it called. @internal */
export interface AwaitedExecution<T> {
  readonly promise: Promise<T>;
  /** Settles the await with `reason` and stops the execution. */
  cancel(reason: unknown): void;
  /** Calls `callback` once every function the execution called has returned or thrown. */
  whenIdle(callback: () => void): void;
}

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
export abstract class TaskRun<T> extends Observable<T> implements PromiseLike<T> {
  private awaited: AwaitedExecution<T> | undefined = undefined;

  /** The name of the task this is a run of. */
  readonly taskName: string | undefined;

  /** How many times the run was awaited (`then`, `catch`, `finally`): they all share one execution. @internal */
  awaiters = 0;

  constructor(taskName: string | undefined) {
    super();
    this.taskName = taskName;
  }

  /** Runs one execution for `subscriber`; `calls`, when given, counts the task functions it calls. @internal */
  protected abstract execute(subscriber: Subscriber<T>, calls?: FunctionTracker): TeardownLogic;

  /**
   * Starts the execution behind `await` without an Observable when nothing needs one (no policy, listener, group or
   * dependency), which makes `await` as cheap as a call of the function; `undefined` otherwise. @internal
   */
  protected awaitDirectly(): AwaitedExecution<T> | undefined {
    return undefined;
  }

  /** RxJS calls this for each subscription, as it does for its own Subject. @internal */
  protected _subscribe(subscriber: Subscriber<T>): TeardownLogic {
    return this.execute(subscriber);
  }

  // biome-ignore lint/suspicious/noThenProperty: a TaskRun is awaitable by design.
  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.awaiters += 1;
    let awaited = this.awaited;
    if (awaited === undefined) {
      awaited = this.awaitDirectly() ?? new ObservedExecution(this);
      this.awaited = awaited;
    }
    return awaited.promise.then(onFulfilled, onRejected);
  }

  /** Cancels the execution behind `await` with `reason` (for `gather`, which started it and gave up). @internal */
  cancelAwaited(reason: unknown): void {
    this.awaited?.cancel(reason);
  }

  /** An execution whose task functions `calls` follows: a dependency's, run for its dependent. @internal */
  trackedBy(calls: FunctionTracker): Observable<T> {
    return new Observable<T>((subscriber) => this.execute(subscriber, calls));
  }

  /** As `Promise.prototype.catch`: awaits the run (starting it if need be) and handles its failure. */
  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.then(undefined, onRejected);
  }

  /** As `Promise.prototype.finally`: awaits the run (starting it if need be) and runs `onFinally` either way. */
  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onFinally);
  }

  /**
   * Cancels the execution behind `await`, if one was started, and waits until its task function has returned or
   * thrown (one that ignores its signal is waited for). Subscriptions are their own: unsubscribe them.
   *
   * @example
   * ```ts
   * import { task } from 'rxtask';
   *
   * const double = task(async (x: number) => x * 2);
   * {
   *   await using run = double(21);
   *   console.log(await run); // 42
   * }
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    const awaited = this.awaited;
    if (awaited === undefined) return Promise.resolve();
    awaited.cancel(cancellationReason('The task run was disposed'));
    return new Promise((resolve) => awaited.whenIdle(resolve));
  }
}

/** The execution behind `await` through the run's Observable: its last value, or its error. */
class ObservedExecution<T> implements AwaitedExecution<T> {
  readonly promise: Promise<T>;
  private subscriber: Subscriber<T> | undefined = undefined;
  private readonly calls = new FunctionTracker();

  constructor(run: TaskRun<T>) {
    this.promise = lastValue(
      new Observable<T>((subscriber) => {
        this.subscriber = subscriber;
        return run.trackedBy(this.calls).subscribe(subscriber);
      }),
    );
  }

  cancel(reason: unknown): void {
    // Failing the execution's subscriber settles the await with the reason and tears the call down.
    this.subscriber?.error(reason);
  }

  whenIdle(callback: () => void): void {
    this.calls.whenIdle(callback);
  }
}
