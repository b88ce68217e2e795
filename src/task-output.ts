import { type InteropObservable, isObservable, type Observable } from 'rxjs';
import { TaskRun } from './task-run.js';

/**
 * The value a task yields, or an awaitable settles to, for an `Output`: what awaiting it gives (a Promise's value, a
 * TaskRun's value, a ParallelRun's ParallelResult), else an Observable's values, else the value itself (an array is a
 * value, not a stream).
 *
 * @example
 * ```ts
 * import type { Observable } from 'rxjs';
 * import type { TaskResult } from 'rxtask';
 *
 * type A = TaskResult<Promise<number>>; // number
 * type B = TaskResult<Observable<string>>; // string
 * type C = TaskResult<boolean[]>; // boolean[]: an array is a value
 * const values: [A, B, C] = [1, 'a', [true]];
 * console.log(values.length); // 3
 * ```
 */
export type TaskResult<Output> =
  Output extends PromiseLike<unknown>
    ? Awaited<Output>
    : Output extends Observable<infer V>
      ? V
      : Output extends InteropObservable<infer V>
        ? V
        : Output;

/**
 * How a task function's return value is delivered: an Observable streams its values, a PromiseLike resolves to one,
 * anything else is the value itself. @internal
 */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

/** True for RxJS Observables and for interop observables (`Symbol.observable`). @internal */
export function isObservableLike(value: unknown): value is Observable<unknown> {
  if (isObservable(value)) return true;
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  const key = (typeof Symbol === 'function' && Symbol.observable) || '@@observable';
  return typeof (value as Record<PropertyKey, unknown>)[key] === 'function';
}

/**
 * True when an output is consumed by subscribing: a plain Observable, or a TaskRun (whose awaited value is its last
 * value anyway, and which can be cancelled by unsubscribing). Other awaitable Observables, such as a ParallelRun, are
 * awaited, so a task that returns a parallel map yields its ParallelResult. @internal
 */
export function isStreamedOutput(value: unknown): value is Observable<unknown> {
  return isObservableLike(value) && (value instanceof TaskRun || !isPromiseLike(value));
}
