import { cancellationReason } from '../errors.js';
import type { SubmitArguments, Task } from '../task.js';
import { definitionOf } from '../task-definition.js';
import { assertOptions, assertSignal, describe } from '../validate.js';
import type { TaskFuture } from './task-future.js';

/**
 * Options of {@link taskGroup}.
 *
 * @example
 * ```ts
 * import { task, taskGroup, type TaskGroupOptions } from 'rxtask';
 *
 * const options: TaskGroupOptions = { signal: AbortSignal.timeout(5_000) };
 * console.log(await taskGroup((group) => group.start(task(async () => 'done')), options)); // 'done'
 * ```
 */
export interface TaskGroupOptions {
  /** Cancels every child (and the group) when it aborts. */
  signal?: AbortSignal;
}

/**
 * A task group: start children with it; the group waits for every one of them. A body gets one from
 * `taskGroup(body)`; `taskGroup()` makes one for `await using`, which at the end of its block cancels the children
 * still running and waits for them, as the body form does when its body returns.
 *
 * @example
 * ```ts
 * import { type TaskGroup, task, taskGroup } from 'rxtask';
 *
 * const startAll = (group: TaskGroup) => [1, 2].map((n) => group.start(task(async (x: number) => x * 10), n));
 * console.log(await taskGroup(async (group) => Promise.all(startAll(group)))); // [10, 20]
 * ```
 */
export interface TaskGroup {
  /** Starts `task(...args)` as a child of the group and returns its future. */
  start<A extends unknown[], R>(task: Task<A, R>, ...args: SubmitArguments<A>): TaskFuture<R>;
  /** Aborted when the group is cancelled: a child failed, the body threw, or the group's signal aborted. */
  readonly signal: AbortSignal;
  /** The children started so far. */
  readonly futures: readonly TaskFuture<unknown>[];
  /**
   * Cancels the children still running and waits until every child's function has returned or thrown; rejects with
   * an `AggregateError` when a child failed (or failed while being cancelled), the first failure first.
   */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Structured concurrency, as in Python's anyio and trio: the body starts children with `group.start(task, ...args)`,
 * and the group settles only when every child's function has returned or thrown, never while one still runs. The
 * first failure (of a child, or of the body itself) cancels every other child, aborting their signals, and the group
 * rejects with an `AggregateError`: the failure that started it first, then any error a child raised while it was
 * being cancelled (a failed rollback). A child that obeys its signal by rejecting with an `AbortError` (or with its
 * signal's reason) has not failed. Otherwise the group resolves to what the body returns.
 *
 * Without a body, `taskGroup()` returns the group for `await using`: at the end of the block the children still
 * running are cancelled and waited for, and failures reject as above.
 *
 * @example
 * ```ts
 * import { task, taskGroup } from 'rxtask';
 *
 * const double = task(async (x: number) => x * 2);
 * const results = await taskGroup(async (group) => {
 *   const futures = [1, 2, 3].map((n) => group.start(double, n));
 *   return Promise.all(futures);
 * });
 * console.log(results); // [2, 4, 6]
 *
 * {
 *   await using group = taskGroup();
 *   const four = group.start(double, 2);
 *   console.log(await four); // 4
 * } // anything of the group still running is cancelled and waited for here
 * ```
 */
export function taskGroup<R>(
  body: (group: TaskGroup) => R | PromiseLike<R>,
  options?: TaskGroupOptions,
): Promise<Awaited<R>>;
export function taskGroup(options?: TaskGroupOptions): TaskGroup;
export function taskGroup<R>(
  bodyOrOptions?: ((group: TaskGroup) => R | PromiseLike<R>) | TaskGroupOptions,
  options?: TaskGroupOptions,
): Promise<Awaited<R>> | TaskGroup {
  if (typeof bodyOrOptions !== 'function') {
    if (options !== undefined) {
      throw new TypeError(`taskGroup: the first argument must be the body function, got ${describe(bodyOrOptions)}`);
    }
    return new Group(checkOptions(bodyOrOptions));
  }
  return runBody(bodyOrOptions, checkOptions(options));
}

function checkOptions(options: TaskGroupOptions | undefined): AbortSignal | undefined {
  const checked = assertOptions<TaskGroupOptions>('taskGroup', options, ['signal']);
  assertSignal('taskGroup', 'signal', checked?.signal);
  return checked?.signal;
}

async function runBody<R>(
  body: (group: TaskGroup) => R | PromiseLike<R>,
  signal: AbortSignal | undefined,
): Promise<Awaited<R>> {
  const group = new Group(signal);
  let result: Awaited<R> | undefined;
  try {
    if (signal?.aborted) throw signal.reason;
    result = await body(group);
  } catch (error) {
    group.fail(error);
  }
  const failures = await group.ended();
  if (failures.length > 0) throw new AggregateError(failures, `taskGroup: ${failures.length} failed`);
  if (group.signal.aborted) throw group.signal.reason;
  return result as Awaited<R>;
}

/** One task group: its children, its failures in the order they came, and the wait for every child's end. */
class Group implements TaskGroup {
  readonly futures: TaskFuture<unknown>[] = [];
  private readonly controller = new AbortController();
  private readonly failures: unknown[] = [];
  private closed = false;
  private ending: Promise<unknown[]> | undefined = undefined;
  private readonly onParentAbort = () => this.cancelAll(this.parentSignal?.reason);

  constructor(private readonly parentSignal: AbortSignal | undefined) {
    if (parentSignal?.aborted) this.controller.abort(parentSignal.reason);
    else parentSignal?.addEventListener('abort', this.onParentAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  start<A extends unknown[], R>(childTask: Task<A, R>, ...args: SubmitArguments<A>): TaskFuture<R> {
    if (definitionOf(childTask) === undefined) {
      throw new TypeError(
        `taskGroup: start() expects a task (wrap the function with task(fn)), got ${describe(childTask)}`,
      );
    }
    if (this.closed) throw new Error('taskGroup: the group is closed; start children inside its body or block');
    if (this.controller.signal.aborted) throw this.controller.signal.reason;
    const future = childTask.submit(...args);
    this.futures.push(future);
    // Heard as the child fails, before anyone awaiting it: the first failure is the root cause.
    future.onDone(() => {
      if (future.state === 'failed') this.fail(future.error, `Cancelled: ${future.runName} failed`);
    });
    return future;
  }

  /** Records a failure and cancels every child. */
  fail(error: unknown, message = 'Cancelled: the task group failed'): void {
    this.record(error);
    this.cancelAll(cancellationReason(message));
  }

  [Symbol.asyncDispose](): Promise<void> {
    if (!this.closed) this.cancelAll(cancellationReason('Cancelled: the task group was disposed'));
    return this.ended().then((failures) => {
      if (failures.length > 0) throw new AggregateError(failures, `taskGroup: ${failures.length} failed`);
    });
  }

  /**
   * Waits for every child to be done, including any started meanwhile, then closes the group and waits for every
   * child's function to have ended (a cancelled child may take a while to stop, and may fail as it does). Resolves the
   * failures: those that came first, then those raised during cancellation.
   */
  ended(): Promise<unknown[]> {
    this.ending ??= this.waitForChildren();
    return this.ending;
  }

  private async waitForChildren(): Promise<unknown[]> {
    const children = this.futures;
    for (let waited = 0; waited < children.length; waited = children.length) {
      await Promise.all(children.slice(waited).map((child) => child.wait()));
    }
    this.closed = true;
    this.parentSignal?.removeEventListener('abort', this.onParentAbort);
    const late = await Promise.all(
      children.map((child) => new Promise<readonly unknown[]>((resolve) => child.onEnded(resolve))),
    );
    for (const errors of late) for (const error of errors) this.record(error);
    return this.failures;
  }

  private record(error: unknown): void {
    if (!this.failures.includes(error)) this.failures.push(error);
  }

  private cancelAll(reason: unknown): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
    for (const child of this.futures) child.cancel();
  }
}
