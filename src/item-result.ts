/**
 * A finished item: its task's value.
 *
 * @example
 * ```ts
 * import { type ItemSuccess, parallelMap } from 'rxtask';
 *
 * const [first]: ItemSuccess<number>[] = (await parallelMap((x: number) => x, [7])).successes();
 * console.log(first.index, first.value, first.attempts); // 0 7 1
 * ```
 */
export interface ItemSuccess<R> {
  /** The item's position in the input. */
  readonly index: number;
  readonly ok: true;
  readonly value: R;
  /** Attempts made, the first included. */
  readonly attempts: number;
  /** Time from the item's start (once admitted) to its end, in milliseconds: its attempts and the waits between. */
  readonly durationMs: number;
  /** The item's application identity, from the `itemKey` option; `undefined` without one. */
  readonly key?: string | number;
}

/**
 * An item that failed, was cancelled in flight, or never started (`attempts === 0`).
 *
 * @example
 * ```ts
 * import { type ItemFailure, parallelMap } from 'rxtask';
 *
 * const failures: ItemFailure[] = (await parallelMap(() => Promise.reject(new Error('no')), [1])).failures();
 * console.log(failures[0].index, (failures[0].error as Error).message); // 0 'no'
 * ```
 */
export interface ItemFailure {
  /** The item's position in the input. */
  readonly index: number;
  readonly ok: false;
  /** What the task threw, the cancellation's reason, or a `NotStartedError`. */
  readonly error: unknown;
  /** Attempts made, the first included; 0 when it never started. */
  readonly attempts: number;
  /** Time from the item's start (once admitted) to its end, in milliseconds; 0 when it never started. */
  readonly durationMs: number;
  /** The item's application identity, from the `itemKey` option; `undefined` without one, or if it never started. */
  readonly key?: string | number;
}

/**
 * The outcome of one item of a parallel map: `{ index, ok, value | error, attempts, durationMs }`. Narrow on `ok`.
 *
 * @example
 * ```ts
 * import { parallelMap } from 'rxtask';
 *
 * for await (const item of parallelMap(async (x: number) => 10 / x, [1, 2])) {
 *   if (item.ok) console.log(item.index, item.value);
 *   else console.error(item.index, item.error);
 * }
 * ```
 */
export type ItemResult<R> = ItemSuccess<R> | ItemFailure;

/** A success as the engine makes it: one class, so every success shares one hidden class. @internal */
export class SucceededItem<R> implements ItemSuccess<R> {
  readonly ok = true;
  constructor(
    readonly index: number,
    readonly value: R,
    readonly attempts: number,
    readonly durationMs: number,
    readonly key: string | number | undefined = undefined,
  ) {}
}

/** A failure as the engine makes it. @internal */
export class FailedItem implements ItemFailure {
  readonly ok = false;
  constructor(
    readonly index: number,
    readonly error: unknown,
    readonly attempts: number,
    readonly durationMs: number,
    readonly key: string | number | undefined = undefined,
  ) {}
}

/** The ItemResult for one outcome. @internal */
export function itemResult<R>(
  index: number,
  ok: boolean,
  valueOrError: unknown,
  attempts: number,
  durationMs: number,
  key: string | number | undefined = undefined,
): ItemResult<R> {
  return ok
    ? new SucceededItem(index, valueOrError as R, attempts, durationMs, key)
    : new FailedItem(index, valueOrError, attempts, durationMs, key);
}
