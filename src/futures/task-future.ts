import { EmptyError, Observable, type Subscriber, type TeardownLogic, type Unsubscribable } from 'rxjs';
import type { RunContext } from '../context.js';
import { abandonCall, followOutput } from '../dispatch.js';
import { FunctionTracker } from '../engine/function-tracker.js';
import { cancellationReason, TimeoutError } from '../errors.js';
import { defaultScheduler, scheduleAfter } from '../time.js';
import { assertDuration, assertOptions } from '../validate.js';

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
  private value: unknown = undefined;
  private hasValue = false;
  /** What `await` shares, made on the first `await`. */
  private settled: Promise<T> | undefined = undefined;
  private resolveAwait: ((value: unknown) => void) | undefined = undefined;
  private rejectAwait: ((reason: unknown) => void) | undefined = undefined;
  /** How to stop the call: its subscription, or, for a call run directly, its output. */
  private stop: Unsubscribable | undefined = undefined;
  private context: RunContext | undefined = undefined;
  private output: Promise<unknown> | Unsubscribable | undefined = undefined;
  /** The task functions the future's call ran, until each has ended: a cancelled one may run on for a while. */
  private calls: FunctionTracker | undefined = undefined;
  private doneCallbacks: Set<() => void> | undefined = undefined;

  /** @internal A future of a call, which its task's `submit` starts with `follow` or `runDirectly`. */
  constructor(name: string, runName: string) {
    super();
    this.name = name;
    this.runName = runName;
  }

  /**
   * Starts `source` at once; `markRunning` is to be called when its function starts, and `calls` is to count the
   * functions it runs. @internal
   */
  follow(source: (markRunning: () => void, calls: FunctionTracker) => Observable<T>): this {
    const calls = new FunctionTracker();
    this.calls = calls;
    this.stop = source(() => {
      if (this.current === 'pending') this.current = 'running';
    }, calls).subscribe({
      next: (value) => {
        this.value = value;
        this.hasValue = true;
      },
      error: (error: unknown) => this.finish('failed', error),
      // As `await` sees it: an Observable task that completes with no value has failed with EmptyError.
      complete: () => (this.hasValue ? this.finish('completed', undefined) : this.finish('failed', new EmptyError())),
    });
    return this;
  }

  /** Runs `fn` at once with `context` as `this`: a call with nothing around it (see `isPlainCall`). @internal */
  runDirectly(fn: (this: RunContext, ...args: unknown[]) => unknown, context: RunContext, args: unknown[]): this {
    this.current = 'running';
    this.context = context;
    try {
      this.output = followOutput(
        fn.apply(context, args),
        (value) => {
          this.value = value;
          this.hasValue = true;
          this.finish('completed', undefined);
        },
        (error) => this.finish('failed', error),
        context,
      );
    } catch (error) {
      this.finish('failed', error);
    }
    return this;
  }

  /** Fails the future at once, before any function ran. @internal */
  fail(error: unknown): this {
    this.finish('failed', error);
    return this;
  }

  /** Late subscribers get the outcome, as from an AsyncSubject: the last value and completion, or the error. @internal */
  protected _subscribe(subscriber: Subscriber<T>): TeardownLogic {
    return this.onDone(() => {
      if (this.current !== 'completed') subscriber.error(this.failure);
      else {
        if (this.hasValue) subscriber.next(this.value as T);
        subscriber.complete();
      }
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
    return this.outcome().then(onFulfilled, onRejected);
  }

  /** The Promise every `await` shares: made on the first, settled or pending. */
  private outcome(): Promise<T> {
    if (this.settled !== undefined) return this.settled;
    if (this.current === 'completed') {
      this.settled = this.hasValue ? Promise.resolve(this.value as T) : Promise.reject(new EmptyError());
    } else if (this.done) {
      this.settled = Promise.reject(this.failure);
    } else {
      this.settled = new Promise<T>((resolve, reject) => {
        this.resolveAwait = resolve as (value: unknown) => void;
        this.rejectAwait = reject;
      });
    }
    return this.settled;
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
    if (timeout === undefined) return this.outcome().then((value) => value);
    return new Promise<T>((resolve, reject) => {
      const settle = () => {
        timer.unsubscribe();
        this.outcome().then(resolve, reject);
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
    if (timeout === undefined || this.done) {
      return new Promise((resolve) => this.onDone(() => resolve(this.current)));
    }
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
    const callbacks = (this.doneCallbacks ??= new Set());
    callbacks.add(callback);
    return () => callbacks.delete(callback);
  }

  /**
   * Cancels the future: its task's signal is aborted and it fails with an `AbortError`. Returns false when it was
   * already done.
   */
  cancel(): boolean {
    if (this.done) return false;
    const reason = cancellationReason('The future was cancelled');
    this.finish('cancelled', reason);
    if (this.context !== undefined) this.calls = abandonCall(this.context, this.output, reason);
    this.stop?.unsubscribe();
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
    this.onDone(() => {
      const calls = this.calls;
      if (calls === undefined) callback([]);
      else calls.whenIdle(() => callback(calls.lateErrors));
    });
  }

  private finish(state: 'completed' | 'failed' | 'cancelled', error: unknown): void {
    if (this.done) return;
    this.current = state;
    if (state !== 'completed') this.failure = error;
    if (this.resolveAwait !== undefined && this.rejectAwait !== undefined) {
      if (state !== 'completed') this.rejectAwait(error);
      else if (this.hasValue) this.resolveAwait(this.value);
      else this.rejectAwait(new EmptyError());
    }
    const callbacks = this.doneCallbacks;
    this.doneCallbacks = undefined;
    if (callbacks !== undefined) for (const callback of callbacks) callback();
  }
}

function checkTimeout(where: string, options: FutureWaitOptions | undefined): number | undefined {
  const checked = assertOptions<FutureWaitOptions>(where, options, ['timeout']);
  assertDuration(where, 'timeout', checked?.timeout);
  // Infinity: wait for as long as it takes.
  return checked?.timeout === Number.POSITIVE_INFINITY ? undefined : checked?.timeout;
}
