/**
 * The reason a task's signal is aborted with when its run is cancelled: unsubscribed, a `for await` loop left early,
 * or cancelled by a sibling's failure. A `DOMException` named `AbortError`, as `fetch` and `AbortSignal.abort()` use.
 * @internal
 */
export function cancellationReason(message = 'The task run was cancelled'): DOMException {
  return new DOMException(message, 'AbortError');
}

/**
 * A time limit ran out: a parallel map's `deadline`. `name === 'TimeoutError'`, as with `AbortSignal.timeout()`.
 *
 * @example
 * ```ts
 * import { parallelMap, TimeoutError } from 'rxtask';
 *
 * const result = await parallelMap(() => new Promise(() => {}), [1], { deadline: 10 });
 * const [failure] = result.failures();
 * console.log(result.status, failure.error instanceof TimeoutError); // 'timed_out' true
 * ```
 */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  /** The limit that ran out, in milliseconds. */
  readonly ms: number;
  /** The task that was running, when one task timed out. */
  readonly taskName: string | undefined;

  constructor(message: string, ms: number, taskName?: string) {
    super(message);
    this.ms = ms;
    this.taskName = taskName;
  }
}

/**
 * The error of an item that never started because its run ended first (its deadline, `maxErrors`, a cancel).
 *
 * @example
 * ```ts
 * import { NotStartedError, parallelMap } from 'rxtask';
 *
 * const result = await parallelMap(async (x: number) => { throw new Error(`bad ${x}`); }, [1, 2, 3], {
 *   concurrency: 1,
 *   stopOnError: true,
 * });
 * console.log(result.failures().map((f) => f.error instanceof NotStartedError)); // [false, true, true]
 * ```
 */
export class NotStartedError extends Error {
  override readonly name = 'NotStartedError';
  constructor(
    /** How the run ended. */
    readonly runStatus: 'timed_out' | 'aborted' | 'cancelled',
  ) {
    super(`The item never started: the run was ${runStatus.replace('_', ' ')} first`);
  }
}

/**
 * One item's failure inside the `AggregateError` that `ParallelResult.values()` throws: `index` is the item's place in
 * the input and `cause` the error its task threw.
 *
 * @example
 * ```ts
 * import { ItemError, parallelMap } from 'rxtask';
 *
 * const result = await parallelMap(() => Promise.reject(new Error('no')), [1]);
 * try {
 *   result.values();
 * } catch (error) {
 *   const [first] = (error as AggregateError).errors as ItemError[];
 *   console.log(first instanceof ItemError, first.index, (first.cause as Error).message); // true 0 'no'
 * }
 * ```
 */
export class ItemError extends Error {
  override readonly name = 'ItemError';
  constructor(
    /** The item's position in the input. */
    readonly index: number,
    cause: unknown,
  ) {
    super(`item ${index}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * More values or items arrived than a bounded buffer holds; the option named in the message raises the bound.
 *
 * @example
 * ```ts
 * import { range } from 'rxjs';
 * import { BufferOverflowError, toAsyncIterable } from 'rxtask';
 *
 * try {
 *   for await (const n of toAsyncIterable(range(0, 10), { bufferSize: 2 })) void n;
 * } catch (error) {
 *   console.log(error instanceof BufferOverflowError); // true: the source pushed more than the loop took
 * }
 * ```
 */
export class BufferOverflowError extends Error {
  override readonly name = 'BufferOverflowError';
  constructor(message: string) {
    super(message);
  }
}

/**
 * Thrown by a task to end its retries at once: the item fails with this error whatever attempts are left (Flyte's
 * `NonRecoverableError`, p-retry's `AbortError`). Its `cause` carries the underlying error.
 *
 * @example
 * ```ts
 * import { NonRetryableError, task } from 'rxtask';
 *
 * let calls = 0;
 * const lookup = task(
 *   async (id: number) => {
 *     calls += 1;
 *     if (id < 0) throw new NonRetryableError(`no such id: ${id}`);
 *     return id;
 *   },
 *   { retry: { attempts: 5, backoff: 10 } },
 * );
 * await lookup(-1).then(undefined, (error: unknown) => console.log((error as Error).name, calls)); // NonRetryableError 1
 * ```
 */
export class NonRetryableError extends Error {
  override readonly name = 'NonRetryableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** True for the errors a cancelled task ends with: never retried. @internal */
export function isCancellation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

/**
 * A task could not start because a future or run it depends on (an argument, or one of `waitFor`) failed.
 * `upstream` names that task's run, and `cause` is its error. Wrap the dependency in `allowFailure()` to receive the
 * error as the argument instead.
 *
 * @example
 * ```ts
 * import { task, UpstreamError } from 'rxtask';
 *
 * const load = task(async () => { throw new Error('disk full'); }, { name: 'load' });
 * const save = task((data: unknown) => data, { name: 'save' });
 * const error = await save.submit(load.submit()).then(undefined, (e: unknown) => e);
 * console.log(error instanceof UpstreamError, (error as UpstreamError).upstream); // true 'load'
 * ```
 */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    /** The run name of the upstream task that failed. */
    readonly upstream: string,
    cause: unknown,
  ) {
    super(`upstream task '${upstream}' failed: ${upstreamFailure(cause)}`, { cause });
  }
}

/**
 * Why an upstream failed, for the message. Only the nearest upstream is named: down a long chain, the rest stays in
 * `cause`, and the message stays short. (Outside the class: a class that names itself in its body is renamed
 * `_UpstreamError` by esbuild's bundler.)
 */
function upstreamFailure(cause: unknown): string {
  if (cause instanceof UpstreamError) return `its own upstream '${cause.upstream}' failed`;
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * A checkpoint cannot be used: it was written for another task or `checkpointVersion`, it is corrupt or not a
 * checkpoint at all, it is a symbolic link, or a result could not be written to it. The run fails at its start (or at
 * the first write) with this, rather than mix results of different work.
 *
 * @example
 * ```ts
 * import { CheckpointError } from 'rxtask';
 *
 * const error = new CheckpointError('demo.checkpoint was written for another task');
 * console.log(error.name, error instanceof Error); // 'CheckpointError' true
 * ```
 */
export class CheckpointError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CheckpointError';
  }
}
