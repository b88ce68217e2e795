import { Observable } from 'rxjs';
import { observableIterator } from '../async-iterable.js';
import { TimeoutError } from '../errors.js';
import { defaultScheduler, scheduleAfter } from '../time.js';
import { assertDuration, assertOptions, describe } from '../validate.js';
import { TaskFuture } from './task-future.js';

/**
 * Options of {@link wait} and {@link asCompleted}.
 *
 * @example
 * ```ts
 * import { task, wait, type WaitOptions } from 'rxtask';
 *
 * const options: WaitOptions = { timeout: 1_000 };
 * const { done } = await wait([task(async () => 1).submit()], options);
 * console.log(done.length); // 1
 * ```
 */
export interface WaitOptions {
  /** Stop waiting after this many milliseconds. */
  timeout?: number;
}

/**
 * What {@link wait} resolves: the futures that are done and those that are not, each in the order given.
 *
 * @example
 * ```ts
 * import { task, wait, type WaitResult } from 'rxtask';
 *
 * const result: WaitResult<number> = await wait([task(async () => 1).submit()]);
 * console.log(result.done.length, result.notDone.length); // 1 0
 * ```
 */
export interface WaitResult<T> {
  done: TaskFuture<T>[];
  notDone: TaskFuture<T>[];
}

function checkFutures(where: string, futures: unknown, options: unknown): number | undefined {
  if (!Array.isArray(futures)) throw new TypeError(`${where}: \`futures\` must be an array, got ${describe(futures)}`);
  futures.forEach((future, position) => {
    if (!(future instanceof TaskFuture)) {
      throw new TypeError(`${where}: futures[${position}] must be a TaskFuture, got ${describe(future)}`);
    }
  });
  const checked = assertOptions<WaitOptions>(where, options, ['timeout']);
  assertDuration(where, 'timeout', checked?.timeout);
  // Infinity: wait for as long as it takes.
  return checked?.timeout === Number.POSITIVE_INFINITY ? undefined : checked?.timeout;
}

/**
 * Waits until every future is done, or `timeout` passes, and tells which are done: Prefect's `wait`. It never rejects,
 * whether futures failed or time ran out; the futures keep running.
 *
 * @example
 * ```ts
 * import { task, wait } from 'rxtask';
 *
 * const sleep = task((ms: number) => new Promise((resolve) => setTimeout(resolve, ms, ms)));
 * const { done, notDone } = await wait([sleep.submit(5), sleep.submit(500)], { timeout: 50 });
 * console.log(done.length, notDone.length); // 1 1
 * ```
 */
export function wait<T>(futures: readonly TaskFuture<T>[], options?: WaitOptions): Promise<WaitResult<T>> {
  const timeout = checkFutures('wait', futures, options);
  return new Promise((resolve) => {
    let left = futures.length;
    const finish = () => {
      timer?.unsubscribe();
      // A wait that timed out leaves nothing behind on the futures still running.
      for (const forget of forgets) forget();
      resolve({ done: futures.filter((f) => f.done), notDone: futures.filter((f) => !f.done) });
    };
    const timer = timeout === undefined ? undefined : scheduleAfter(defaultScheduler, timeout, finish);
    const forgets: (() => void)[] = [];
    if (left === 0) finish();
    for (const future of futures) {
      forgets.push(
        future.onDone(() => {
          left -= 1;
          // Every future done: resolve on a later turn, as a Promise would.
          if (left === 0) Promise.resolve().then(finish);
        }),
      );
    }
  });
}

/**
 * The futures, each once, as each finishes (success, failure or cancel): Python's `as_completed`. It is an Observable
 * and an AsyncIterable; with `timeout`, it errors (or the loop throws) with a `TimeoutError` when time runs out first.
 *
 * @example
 * ```ts
 * import { asCompleted, task } from 'rxtask';
 *
 * const sleep = task((ms: number) => new Promise<number>((resolve) => setTimeout(resolve, ms, ms)));
 * for await (const future of asCompleted([sleep.submit(30), sleep.submit(10), sleep.submit(20)])) {
 *   console.log(await future); // 10, 20, 30
 * }
 * ```
 */
export function asCompleted<T>(futures: readonly TaskFuture<T>[], options?: WaitOptions): AsCompleted<T> {
  const timeout = checkFutures('asCompleted', futures, options);
  return new AsCompleted(futures, timeout);
}

/**
 * The futures in completion order, as an Observable and an AsyncIterable. See {@link asCompleted}.
 *
 * @example
 * ```ts
 * import { lastValueFrom, toArray } from 'rxjs';
 * import { asCompleted, task } from 'rxtask';
 *
 * const futures = [task(async () => 'a').submit(), task(async () => 'b').submit()];
 * console.log((await lastValueFrom(asCompleted(futures).pipe(toArray()))).length); // 2: each future once
 * ```
 */
export class AsCompleted<T> extends Observable<TaskFuture<T>> implements AsyncIterable<TaskFuture<T>> {
  private readonly count: number;

  /** @internal */
  constructor(futures: readonly TaskFuture<T>[], timeout: number | undefined) {
    super((subscriber) => {
      let remaining = futures.length;
      if (remaining === 0) {
        subscriber.complete();
        return undefined;
      }
      const timer =
        timeout === undefined
          ? undefined
          : scheduleAfter(defaultScheduler, timeout, () =>
              subscriber.error(new TimeoutError(`${remaining} futures were not done within ${timeout} ms`, timeout)),
            );
      const forgets = futures.map((future) =>
        future.onDone(() => {
          // On a later turn, as before: a future already done is reported after subscribe returns.
          Promise.resolve().then(() => {
            if (subscriber.closed) return;
            subscriber.next(future);
            remaining -= 1;
            if (remaining === 0) subscriber.complete();
          });
        }),
      );
      return () => {
        timer?.unsubscribe();
        for (const forget of forgets) forget();
      };
    });
    this.count = futures.length;
  }

  [Symbol.asyncIterator](): AsyncIterator<TaskFuture<T>> {
    // Every future fits in the buffer: the loop may take its time without losing one.
    return observableIterator<TaskFuture<T>>(this, Math.max(1, this.count), 'error');
  }
}
