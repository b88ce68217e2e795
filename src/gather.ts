import type { Subscribable, Unsubscribable } from 'rxjs';
import { dispatchOutput } from './dispatch.js';
import { cancellationReason } from './errors.js';
import { ParallelRun } from './parallel-run.js';
import { isObservableLike, isPromiseLike, type TaskResult } from './task-output.js';
import { TaskRun } from './task-run.js';
import { assertBoolean, assertOptions, assertSignal, describe } from './validate.js';

/**
 * Something {@link gather} can wait for: a TaskRun, a ParallelRun, any Observable (its last value), or a Promise.
 *
 * @example
 * ```ts
 * import { of } from 'rxjs';
 * import { type Awaitable, gather, task } from 'rxtask';
 *
 * const runs: Awaitable<number>[] = [task(async () => 1)(), of(2), Promise.resolve(3)];
 * console.log(await gather(...runs)); // [1, 2, 3]
 * ```
 */
export type Awaitable<T = unknown> = Subscribable<T> | PromiseLike<T>;

/**
 * Options of {@link gather}, given as its last argument.
 *
 * @example
 * ```ts
 * import { gather, type GatherOptions, task } from 'rxtask';
 *
 * const options: GatherOptions = { returnErrors: true, signal: AbortSignal.timeout(5_000) };
 * console.log(await gather(task(async () => 1)(), options)); // [1]
 * ```
 */
export interface GatherOptions {
  /**
   * When true, a failure takes its place in the result array instead of rejecting, as in `asyncio.gather(...,
   * return_exceptions=True)`; a thrown non-Error is wrapped in an `Error` whose `cause` is the thrown value.
   * Default `false`: the first failure rejects and cancels the runs only gather awaits.
   */
  returnErrors?: boolean;
  /** Cancels what gather alone awaits (as a failure does) and rejects with the signal's reason when it aborts. */
  signal?: AbortSignal;
}

const GATHER_OPTIONS = ['returnErrors', 'signal'] as const;

/**
 * The values {@link gather} resolves, in argument order.
 *
 * @example
 * ```ts
 * import { gather, type GatherValues, task, type TaskRun } from 'rxtask';
 *
 * const values: GatherValues<[TaskRun<number>, Promise<string>]> = await gather(task(async () => 1)(), Promise.resolve('a'));
 * console.log(values); // [1, 'a']
 * ```
 */
export type GatherValues<T extends readonly unknown[]> = { -readonly [K in keyof T]: TaskResult<T[K]> };
/**
 * What {@link gather} resolves with `returnErrors`: each value, or the error in its place.
 *
 * @example
 * ```ts
 * import { gather, type GatherSettled, task, type TaskRun } from 'rxtask';
 *
 * const settled: GatherSettled<[TaskRun<number>]> = await gather(task(async () => 1)(), { returnErrors: true });
 * console.log(settled); // [1]
 * ```
 */
export type GatherSettled<T extends readonly unknown[]> = { -readonly [K in keyof T]: TaskResult<T[K]> | Error };

/**
 * Runs every argument at once and resolves their values in argument order: `asyncio.gather` for TaskRuns,
 * Observables and Promises.
 *
 * The first failure rejects with its error and cancels the others: every Observable it subscribed, and every TaskRun
 * or parallel map that only gather awaits (a task's signal is aborted). A TaskRun or map is awaited as `await run`
 * would, so one that is awaited elsewhere too runs once and is left running for the other awaiter; a Promise cannot
 * be cancelled and is left to settle, its outcome ignored. With `{ returnErrors: true }` every run finishes and each
 * failure stands in the array in its place.
 *
 * @throws TypeError when an argument is not a TaskRun, Observable or Promise, or an option is of the wrong type.
 *
 * @example
 * ```ts
 * import { gather, task } from 'rxtask';
 *
 * const double = task(async (x: number) => x * 2);
 * const fail = task(async () => { throw new Error('nope'); });
 *
 * console.log(await gather(double(1), double(2))); // [2, 4]
 * const [ok, failed] = await gather(double(3), fail(), { returnErrors: true });
 * console.log(ok, failed instanceof Error); // 6 true
 * ```
 */
export function gather<T extends readonly Awaitable[]>(...runs: T): Promise<GatherValues<T>>;
/** */
export function gather<T extends readonly Awaitable[]>(
  ...args: [...runs: T, options: GatherOptions & { returnErrors: true }]
): Promise<GatherSettled<T>>;
/** */
export function gather<T extends readonly Awaitable[]>(
  ...args: [...runs: T, options: GatherOptions]
): Promise<GatherValues<T> | GatherSettled<T>>;
export function gather(...args: unknown[]): Promise<unknown[]> {
  const last = args[args.length - 1];
  const hasOptions = args.length > 0 && isOptionsObject(last);
  const options = hasOptions ? (assertOptions<GatherOptions>('gather', last, GATHER_OPTIONS) ?? {}) : {};
  assertBoolean('gather', 'returnErrors', options.returnErrors);
  assertSignal('gather', 'signal', options.signal);
  const runs = hasOptions ? args.slice(0, -1) : args;
  runs.forEach((run, position) => {
    if (!isObservableLike(run) && !isPromiseLike(run)) {
      throw new TypeError(
        `gather: argument ${position + 1} must be a TaskRun, Observable or Promise, got ${describe(run)}`,
      );
    }
  });
  return gatherRuns(runs as Awaitable[], options.returnErrors === true, options.signal);
}

function isOptionsObject(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !isObservableLike(value) &&
    !isPromiseLike(value)
  );
}

function gatherRuns(runs: Awaitable[], returnErrors: boolean, signal: AbortSignal | undefined): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const values = new Array<unknown>(runs.length);
    const done = new Array<boolean>(runs.length).fill(false);
    const subscriptions: (Unsubscribable | undefined)[] = new Array(runs.length);
    let remaining = runs.length;
    let finished = false;

    const finish = (settle: () => void) => {
      if (finished) return;
      finished = true;
      signal?.removeEventListener('abort', onAbort);
      for (const subscription of subscriptions) subscription?.unsubscribe();
      // A run is awaited, sharing its execution with any other `await` of it: gather cancels one only when it is
      // the run's only awaiter.
      if (remaining > 0) {
        const reason = signal?.aborted ? signal.reason : cancellationReason('gather: another run failed');
        runs.forEach((run, position) => {
          if (done[position] || !(run instanceof TaskRun || run instanceof ParallelRun)) return;
          if (run.awaiters === 1) run.cancelAwaited(reason);
        });
      }
      settle();
    };
    const onAbort = () => finish(() => reject(signal?.reason));
    signal?.addEventListener('abort', onAbort, { once: true });

    const settleOne = (position: number, value: unknown) => {
      done[position] = true;
      values[position] = value;
      subscriptions[position] = undefined;
      remaining -= 1;
      if (remaining === 0) finish(() => resolve(values));
    };
    const failOne = (position: number, error: unknown) => {
      if (returnErrors)
        settleOne(position, error instanceof Error ? error : new Error(String(error), { cause: error }));
      else finish(() => reject(error));
    };

    if (remaining === 0) finish(() => resolve(values));
    for (let position = 0; position < runs.length && !finished; position++) {
      const run = runs[position];
      const onValue = (value: unknown) => settleOne(position, value);
      const onError = (error: unknown) => failOne(position, error);
      if (run instanceof TaskRun || run instanceof ParallelRun) {
        // Awaited as `await run` would be: a run awaited elsewhere too runs once.
        (run as PromiseLike<unknown>).then(onValue, onError);
        continue;
      }
      const subscription = dispatchOutput(run, onValue, onError);
      if (finished) break;
      if (subscription !== undefined && remaining > 0) subscriptions[position] = subscription;
    }
    if (finished) for (const subscription of subscriptions) subscription?.unsubscribe();
  });
}
