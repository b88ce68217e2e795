import type { RunStatus } from './engine/engine-types.js';
import { ItemError } from './errors.js';
import { FailedItem, type ItemFailure, type ItemResult, type ItemSuccess, itemResult } from './item-result.js';

/** The columns a finished run leaves behind, indexed by item. @internal */
export interface ResultColumns {
  readonly count: number;
  readonly values: unknown[];
  readonly attempts: ArrayLike<number>;
  readonly durations: ArrayLike<number>;
  readonly failedIndices: number[];
  readonly failedErrors: unknown[];
  /** Each item's `itemKey`, by index, when the run had one. */
  readonly keys: readonly (string | number | undefined)[] | undefined;
  /** The index of the failure that stopped an aborted run (`stopOnError`, `maxErrors`). */
  readonly stoppedBy: number | undefined;
}

/**
 * What awaiting a parallel map gives: every item's outcome, in input order, and how the run ended.
 *
 * It is built from a few arrays filled as items finish; the ItemResult objects are made only when you ask for them.
 *
 * @example
 * ```ts
 * import { parallelMap } from 'rxtask';
 *
 * const result = await parallelMap(async (x: number) => (x === 2 ? Promise.reject(new Error('two')) : x * 10), [1, 2, 3]);
 * console.log(result.status, result.ok);         // 'completed' false
 * console.log(result.okValues());                 // [10, 30]
 * console.log(result.failures().map((f) => f.index)); // [1]
 * try {
 *   result.values();
 * } catch (error) {
 *   console.log((error as AggregateError).errors[0].index); // 1
 * }
 * ```
 */
export class ParallelResult<R> {
  /** How the run ended. */
  readonly status: RunStatus;
  /** How many items have an outcome. */
  readonly total: number;
  private readonly columns: ResultColumns;

  /** @internal */
  constructor(columns: ResultColumns, status: RunStatus) {
    this.columns = columns;
    this.status = status;
    this.total = columns.count;
  }

  /** True when the run completed and no item failed. */
  get ok(): boolean {
    return this.status === 'completed' && this.columns.failedIndices.length === 0;
  }

  /**
   * Every value in input order, when the run completed and every item succeeded. Otherwise it throws an
   * `AggregateError` whose `errors` are {@link ItemError}s, each carrying the item's `index` and the original error as
   * `cause`: led by the failure that stopped the run (`stopOnError`, `maxErrors`), then in input order. A run that
   * ended early over an input of unknown size throws even when every item it ran succeeded: its values are not all
   * the input's. {@link ParallelResult.okValues} is the lenient one.
   */
  values(): R[] {
    const { failedIndices, failedErrors, values, count, stoppedBy } = this.columns;
    if (failedIndices.length > 0 || this.status !== 'completed') {
      const errors = failedIndices
        .map((index, i) => new ItemError(index, failedErrors[i]))
        .sort((a, b) => (a.index === stoppedBy ? -1 : b.index === stoppedBy ? 1 : a.index - b.index));
      const failed = `${errors.length} of ${count} items failed`;
      const message =
        this.status === 'completed'
          ? `${failed} (run completed)`
          : `The run ${this.status.replace('_', ' ')} before every item ran: ${failed}`;
      throw new AggregateError(errors, message);
    }
    return values.length === count ? (values as R[]) : (values.slice(0, count) as R[]);
  }

  /** The values of the items that succeeded, in input order. */
  okValues(): R[] {
    return this.successes().map((item) => item.value);
  }

  /** The items that succeeded, in input order. */
  successes(): ItemSuccess<R>[] {
    return this.itemResults().filter((item): item is ItemSuccess<R> => item.ok);
  }

  /** The items that failed, were cancelled or never started, in input order. */
  failures(): ItemFailure[] {
    const { failedIndices, failedErrors, attempts, durations, keys } = this.columns;
    return failedIndices
      .map(
        (index, i) =>
          new FailedItem(index, failedErrors[i], attempts[index], durations[index], keys?.[index]) as ItemFailure,
      )
      .sort((a, b) => a.index - b.index);
  }

  /** Every item's outcome, in input order. */
  itemResults(): ItemResult<R>[] {
    const { count, values, attempts, durations, failedErrors, keys } = this.columns;
    const failed = this.failurePositions();
    const results = new Array<ItemResult<R>>(count);
    for (let index = 0; index < count; index++) {
      const at = failed.get(index);
      const ok = at === undefined;
      const outcome = ok ? values[index] : failedErrors[at];
      results[index] = itemResult<R>(index, ok, outcome, attempts[index], durations[index], keys?.[index]);
    }
    return results;
  }

  /** Item index → its place in the failure columns. */
  private failurePositions(): Map<number, number> {
    const positions = new Map<number, number>();
    const { failedIndices } = this.columns;
    for (let at = 0; at < failedIndices.length; at++) positions.set(failedIndices[at], at);
    return positions;
  }
}
