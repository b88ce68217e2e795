import type { FunctionTracker } from '../engine/function-tracker.js';
import { cancellationReason } from '../errors.js';
import type { SubmitArguments, Task } from '../task.js';
import { definitionOf } from '../task-definition.js';
import { assertOptions, assertSignal, describe } from '../validate.js';
import { enclosingGroup, followGroupRuns } from './group-scope.js';
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
 * `taskGroup(body)`, and the group waits for its children to finish after the body returns. `taskGroup()` makes one
 * for `await using`, which at the end of its block cancels the children still running and waits for them to end.
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
 * being cancelled (a failed rollback). Once the group is cancelling, a child or a body that obeys by rejecting with an
 * `AbortError` (or with its signal's reason) has not failed. Otherwise the group resolves to what the body returns.
 *
 * Cancelled from outside (its `signal`, or the group it is nested in), the group rejects with that reason, or, when
 * children failed as they were cancelled, with an `AggregateError` whose first error is that reason. A group made in
 * a group's body, or in a child's function, is nested in that group: cancelling the outer one cancels it.
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
/** */
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
  if (!group.signal.aborted) {
    try {
      // Children started here, and groups made in the body or in those children, are nested in this group.
      const scope = enclosingGroup();
      result = await (scope === undefined ? body(group) : scope.run(group.signal, () => body(group)));
    } catch (error) {
      group.fail(error);
    }
  }
  const failures = await group.ended();
  group.throwOutcome(failures);
  return result as Awaited<R>;
}

const isAbortError = (error: unknown) =>
  typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';

/** One task group: its children, its failures in the order they came, and the wait for every child's end. */
class Group implements TaskGroup {
  private readonly children: TaskFuture<unknown>[] = [];
  /** The runs made or started in the group's body or children, until each is idle: a cancel may leave them running. */
  private readonly runs = new Set<FunctionTracker>();
  private readonly controller = new AbortController();
  private readonly failures: unknown[] = [];
  private closed = false;
  /** Set when its own signal, or the group it is nested in, cancelled it: the reason is then its root cause. */
  private cancelledFrom: { reason: unknown } | undefined = undefined;
  private ending: Promise<unknown[]> | undefined = undefined;
  private readonly parents: AbortSignal[];
  private readonly onParentAbort = (event: Event) => {
    if (this.closed) return;
    const reason = (event.target as AbortSignal).reason;
    // The root cause, unless the group was already cancelling for one of its own.
    if (!this.controller.signal.aborted) this.cancelledFrom = { reason };
    this.cancelAll(reason);
  };

  constructor(signal: AbortSignal | undefined) {
    followGroupRuns(this.controller.signal, (calls) => {
      this.runs.add(calls);
      calls.whenIdle(() => this.runs.delete(calls));
    });
    const enclosing = enclosingGroup()?.getStore();
    this.parents = [signal, enclosing].filter((parent): parent is AbortSignal => parent !== undefined);
    for (const parent of this.parents) {
      if (parent.aborted) {
        this.cancelledFrom ??= { reason: parent.reason };
        this.controller.abort(parent.reason);
      } else parent.addEventListener('abort', this.onParentAbort, { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get futures(): readonly TaskFuture<unknown>[] {
    return [...this.children];
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
    this.children.push(future);
    // Heard as the child fails, before anyone awaiting it: the first failure is the root cause.
    future.onDone(() => {
      if (future.state === 'failed') this.fail(future.error, `Cancelled: ${future.runName} failed`);
    });
    return future;
  }

  /**
   * Records a failure and cancels every child. Once the group is cancelling, a cancellation coming back out of a
   * child or the body (an AbortError, or the group's own reason) is how it obeyed: not a failure.
   */
  fail(error: unknown, message = 'Cancelled: the task group failed'): void {
    const signal = this.controller.signal;
    if (signal.aborted && (error === signal.reason || isAbortError(error))) return;
    this.record(error);
    this.cancelAll(cancellationReason(message));
  }

  [Symbol.asyncDispose](): Promise<void> {
    if (!this.closed) this.cancelAll(cancellationReason('Cancelled: the task group was disposed'));
    return this.ended().then((failures) => this.throwOutcome(failures));
  }

  /**
   * Rejects as the group must, once ended: with an AggregateError of the failures (what cancelled the group from
   * outside first, when something did), or with the bare reason its signal (or the group it is nested in) cancelled
   * it with.
   */
  throwOutcome(failures: readonly unknown[]): void {
    const from = this.cancelledFrom;
    if (failures.length > 0) {
      const errors = from === undefined ? failures : [from.reason, ...failures];
      throw new AggregateError(errors, `taskGroup: ${errors.length} ${errors === failures ? 'failed' : 'errors'}`);
    }
    if (from !== undefined) throw from.reason;
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
    const children = this.children;
    for (let waited = 0; waited < children.length; waited = children.length) {
      await Promise.all(children.slice(waited).map((child) => child.wait()));
    }
    this.closed = true;
    for (const parent of this.parents) parent.removeEventListener('abort', this.onParentAbort);
    const late = await Promise.all([
      ...children.map((child) => new Promise<readonly unknown[]>((resolve) => child.onEnded(resolve))),
      // A run the group cancelled may leave its functions running (a lazy argument that ignores its signal); one
      // still going on its own was left so by the body, and is not waited for.
      ...[...this.runs]
        .filter((calls) => calls.isOver)
        .map((calls) => new Promise<readonly unknown[]>((resolve) => calls.whenIdle(() => resolve(calls.lateErrors)))),
    ]);
    const reason = this.controller.signal.reason;
    for (const errors of late) {
      // Ending with the reason the group cancelled with is how a function obeyed it.
      for (const error of errors) if (!(this.controller.signal.aborted && error === reason)) this.record(error);
    }
    return this.failures;
  }

  private record(error: unknown): void {
    if (!this.failures.includes(error)) this.failures.push(error);
  }

  private cancelAll(reason: unknown): void {
    // The children first, so each ends 'cancelled'; then the signal, which cancels what their functions started.
    for (const child of this.children) child.cancel();
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }
}
