import { AsyncSubject, Observable, type Subscriber, type Subscription } from 'rxjs';
import { FunctionTracker } from '../engine/function-tracker.js';
import { cancellationReason, TimeoutError } from '../errors.js';
import { defaultScheduler, scheduleAfter } from '../time.js';
import { assertDuration, assertOptions } from '../validate.js';
import { lastValue } from '../value-promises.js';

/**
 * Where a future is: waiting for its dependencies, running, or done one of three ways.
 *
 * @example
 * ```ts
 * import { type FutureState, task } from 'rxtask';
 *
 * const state: FutureState = await task(async () => 1).submit().wait();
 * console.log(state); // 'completed'
 * ```
 */
export type FutureState = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

/**
 * Options of {@link TaskFuture.result} and {@link TaskFuture.wait}.
 *
 * @example
 * ```ts
 * import { type FutureWaitOptions, task } from 'rxtask';
 *
 * const options: FutureWaitOptions = { timeout: 1_000 };
 * console.log(await task(async () => 'ok').submit().result(options)); // 'ok'
 * ```
 */
export interface FutureWaitOptions {
  /** Give up waiting after this many milliseconds (the future keeps running). */
  timeout?: number;
}

const noop = () => {};

/**
 * A task that has been started: what `task.submit(...args)` returns (Prefect's `PrefectFuture`). Unlike a lazy
 * TaskRun it runs at once, exactly once. It is awaitable (its value, or its error), subscribable (late subscribers get
 * the outcome replayed; nothing runs again), and it can be passed as an argument to another task, which then waits
 * for it. A failed future that nobody awaits never causes an unhandled rejection.
 *
 * @example
 * ```ts
 * import { task } from 'rxtask';
 *
 * const double = task(async (x: number) => x * 2);
 * const future = double.submit(21); // already running
 * console.log(future.state);                        // 'running'
 * console.log(await future.result({ timeout: 1_000 })); // 42
 * console.log(future.state, await future.wait());    // 'completed' 'completed'
 * ```
 */
export class TaskFuture<T> extends Observable<T> implements PromiseLike<T> {
  /** The task's name. */
  readonly name: string;
  /** This run's name: the task's `runName` template filled in with the call's arguments, or the task's name. */
  readonly runName: string;
  private current: FutureState = 'pending';
  private failure: unknown = undefined;
  // Typed loosely so that a TaskFuture<R> stays assignable to TaskFuture<unknown>.
  private readonly outcome: AsyncSubject<unknown>;
  private readonly settled: Promise<T>;
  private readonly subscription: Subscription;
  /** The task functions the future's call ran, until each has ended: a cancelled one may run on for a while. */
  private readonly calls = new FunctionTracker();

  /**
   * @internal Starts `source` at once; `markRunning` is to be called when its function starts, and `calls` is to
   * count the functions it runs.
   */
  constructor(
    source: (markRunning: () => void, calls: FunctionTracker) => Observable<T>,
    name: string,
    runName: string,
  ) {
    const outcome = new AsyncSubject<unknown>();
    super((subscriber) => outcome.subscribe(subscriber as Subscriber<unknown>));
    this.outcome = outcome;
    this.name = name;
    this.runName = runName;
    this.settled = lastValue(outcome) as Promise<T>;
    this.settled.catch(noop);
    this.subscription = source(() => {
      if (this.current === 'pending') this.current = 'running';
    }, this.calls).subscribe({
      next: (value) => outcome.next(value),
      error: (error: unknown) => this.finish('failed', error),
      complete: () => this.finish('completed', undefined),
    });
  }

  /** Where the future is now. */
  get state(): FutureState {
    return this.current;
  }

  /** True once it completed, failed or was cancelled. */
  get done(): boolean {
    return this.current === 'completed' || this.current === 'failed' || this.current === 'cancelled';
  }

  /** The error it failed or was cancelled with; `undefined` otherwise. */
  get error(): unknown {
    return this.failure;
  }

  // biome-ignore lint/suspicious/noThenProperty: a TaskFuture is awaitable by design.
  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.settled.then(onFulfilled, onRejected);
  }

  /** As `Promise.prototype.catch`. */
  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.then(undefined, onRejected);
  }

  /** As `Promise.prototype.finally`. */
  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onFinally);
  }

  /**
   * Resolves the value or rejects with the error; with `timeout`, rejects with a `TimeoutError` if the future is not
   * done by then (the future keeps running).
   */
  result(options?: FutureWaitOptions): Promise<T> {
    const timeout = checkTimeout('TaskFuture.result', options);
    if (timeout === undefined) return this.settled.then((value) => value);
    return new Promise<T>((resolve, reject) => {
      const settle = () => {
        timer.unsubscribe();
        this.settled.then(resolve, reject);
      };
      const timer = scheduleAfter(defaultScheduler, timeout, () => {
        forget();
        reject(new TimeoutError(`${this.runName} did not finish within ${timeout} ms`, timeout, this.name));
      });
      const forget = this.onDone(settle);
    });
  }

  /** Resolves the state once the future is done, or when `timeout` passes; never rejects, even for a failure. */
  wait(options?: FutureWaitOptions): Promise<FutureState> {
    const timeout = checkTimeout('TaskFuture.wait', options);
    if (timeout === undefined || this.done) return this.settled.then(this.readState, this.readState);
    return new Promise<FutureState>((resolve) => {
      const timer = scheduleAfter(defaultScheduler, timeout, () => {
        forget();
        resolve(this.current);
      });
      const forget = this.onDone(() => {
        timer.unsubscribe();
        resolve(this.current);
      });
    });
  }

  /**
   * Calls `callback` once the future is done (at once if it is); returns how to forget it, so a wait that timed out
   * leaves nothing behind on a future that is still running. @internal
   */
  onDone(callback: () => void): () => void {
    if (this.done) {
      callback();
      return noop;
    }
    this.doneCallbacks.add(callback);
    return () => this.doneCallbacks.delete(callback);
  }

  private readonly doneCallbacks = new Set<() => void>();
  private readonly readState = () => this.current;

  /**
   * Cancels the future: its task's signal is aborted and it fails with an `AbortError`. Returns false when it was
   * already done.
   */
  cancel(): boolean {
    if (this.done) return false;
    this.finish('cancelled', cancellationReason('The future was cancelled'));
    this.subscription.unsubscribe();
    return true;
  }

  /**
   * Cancels the future and waits until its task's function has actually returned or thrown (a function that ignores
   * its signal is waited for), so `await using` leaves nothing running. Errors the function raises while it is being
   * cancelled are not reported here; a task group reports them.
   *
   * @example
   * ```ts
   * import { task } from 'rxtask';
   *
   * const slow = task(async function (this: { signal: AbortSignal }) {
   *   await new Promise((resolve) => this.signal.addEventListener('abort', resolve));
   *   return 'stopped';
   * });
   * {
   *   await using future = slow.submit();
   * } // cancelled here, and waited for
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.cancel();
    return new Promise((resolve) => this.onEnded(() => resolve()));
  }

  /**
   * Calls `callback` once the future is done and its function has ended, with the errors it raised after the future
   * was done (a failed rollback after a cancel). @internal
   */
  onEnded(callback: (lateErrors: readonly unknown[]) => void): void {
    this.onDone(() => this.calls.whenIdle(() => callback(this.calls.lateErrors)));
  }

  private finish(state: 'completed' | 'failed' | 'cancelled', error: unknown): void {
    if (this.done) return;
    this.current = state;
    if (state === 'completed') this.outcome.complete();
    else {
      this.failure = error;
      this.outcome.error(error);
    }
    const callbacks = [...this.doneCallbacks];
    this.doneCallbacks.clear();
    for (const callback of callbacks) callback();
  }
}

function checkTimeout(where: string, options: FutureWaitOptions | undefined): number | undefined {
  const checked = assertOptions<FutureWaitOptions>(where, options, ['timeout']);
  assertDuration(where, 'timeout', checked?.timeout);
  // Infinity: wait for as long as it takes.
  return checked?.timeout === Number.POSITIVE_INFINITY ? undefined : checked?.timeout;
}
