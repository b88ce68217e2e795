import { ParallelResult, type ResultColumns } from '../parallel-result.js';
import type { EngineSink, RunStatus } from './engine-types.js';

/**
 * The sink behind `await run`: writes each outcome into columns by index (no object per item: numbers go into typed
 * arrays) and resolves a ParallelResult when the run ends. @internal
 */
export class ResultCollector<R> implements EngineSink, ResultColumns {
  readonly acknowledges = false;
  readonly collects = true;
  count = 0;
  values: unknown[];
  attempts: Uint32Array;
  durations: Float64Array;
  readonly failedIndices: number[] = [];
  readonly failedErrors: unknown[] = [];
  stoppedBy: number | undefined = undefined;
  /** Each item's `itemKey`, by index; made on the first key. */
  keys: (string | number | undefined)[] | undefined = undefined;

  constructor(
    size: number | undefined,
    private readonly resolve: (result: ParallelResult<R>) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    // Sized up front when the size is known, so writes by index never grow the columns.
    const capacity = size ?? 64;
    this.values = new Array(capacity);
    this.attempts = new Uint32Array(capacity);
    this.durations = new Float64Array(capacity);
  }

  result(
    index: number,
    ok: boolean,
    valueOrError: unknown,
    attempts: number,
    durationMs: number,
    key?: string | number,
  ): void {
    if (index >= this.attempts.length) this.grow(index);
    if (key !== undefined) (this.keys ??= [])[index] = key;
    this.count += 1;
    if (ok) this.values[index] = valueOrError;
    else {
      this.failedIndices.push(index);
      this.failedErrors.push(valueOrError);
    }
    this.attempts[index] = attempts;
    this.durations[index] = durationMs;
  }

  /** Async `onResult` calls still running; the result waits for them. */
  private holding = 0;
  private endedWith: RunStatus | undefined = undefined;
  private settledAll = false;

  hold(pending: PromiseLike<unknown>): void {
    this.holding += 1;
    Promise.resolve(pending).then(
      () => {
        this.holding -= 1;
        this.resolveWhenReady();
      },
      (error: unknown) => {
        this.holding -= 1;
        this.fail(error);
      },
    );
  }

  end(status: RunStatus, stoppedBy?: number): void {
    this.stoppedBy = stoppedBy;
    this.endedWith = status;
    this.resolveWhenReady();
  }

  fail(error: unknown): void {
    if (this.settledAll) return;
    this.settledAll = true;
    this.reject(error);
  }

  private resolveWhenReady(): void {
    if (this.endedWith === undefined || this.holding > 0 || this.settledAll) return;
    this.settledAll = true;
    this.resolve(new ParallelResult<R>(this, this.endedWith));
  }

  /** Doubles the columns (unsized input), keeping what they hold. */
  private grow(index: number): void {
    let capacity = this.attempts.length * 2;
    while (capacity <= index) capacity *= 2;
    const values = new Array(capacity);
    for (let i = 0; i < this.values.length; i++) values[i] = this.values[i];
    this.values = values;
    const attempts = new Uint32Array(capacity);
    attempts.set(this.attempts);
    this.attempts = attempts;
    const durations = new Float64Array(capacity);
    durations.set(this.durations);
    this.durations = durations;
  }
}
