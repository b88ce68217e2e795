import { type ItemResult, itemResult } from '../item-result.js';
import { Queue } from '../queue.js';
import type { EngineSink, ParallelEngine } from './engine.js';
import { ReorderBuffer } from './reorder-buffer.js';

type Waiter<R> = { resolve(result: IteratorResult<ItemResult<R>>): void; reject(error: unknown): void };

/**
 * The sink behind `for await (const item of run)`: outcomes wait here until the loop pulls them, and only a pulled
 * outcome counts as delivered, so a slow loop holds admission back (real backpressure) instead of growing a buffer.
 * Leaving the loop early cancels the run. @internal
 */
export class IteratorSink<R> implements EngineSink, AsyncIterator<ItemResult<R>> {
  readonly acknowledges = true;
  private readonly ready = new Queue<ItemResult<R>>();
  private readonly waiters = new Queue<Waiter<R>>();
  private readonly reorder: ReorderBuffer<ItemResult<R>> | undefined;
  private ended = false;
  private failed = false;
  private failure: unknown = undefined;
  private started = false;
  engine: ParallelEngine | undefined = undefined;

  constructor(ordered: boolean, window: number) {
    this.reorder = ordered ? new ReorderBuffer(window) : undefined;
  }

  result(
    index: number,
    ok: boolean,
    valueOrError: unknown,
    attempts: number,
    durationMs: number,
    key?: string | number,
  ): void {
    const outcome = itemResult<R>(index, ok, valueOrError, attempts, durationMs, key);
    if (this.reorder === undefined) {
      this.offer(outcome);
      return;
    }
    this.reorder.put(index, outcome);
    for (let next = this.reorder.takeNext(); next !== undefined; next = this.reorder.takeNext()) this.offer(next);
  }

  end(): void {
    this.ended = true;
    for (let waiter = this.waiters.shift(); waiter !== undefined; waiter = this.waiters.shift()) {
      waiter.resolve({ value: undefined, done: true });
    }
  }

  fail(error: unknown): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter.reject(error);
      this.end();
      return;
    }
    this.failed = true;
    this.failure = error;
  }

  next(): Promise<IteratorResult<ItemResult<R>>> {
    if (!this.started) {
      // Nothing runs until the loop asks for the first item.
      this.started = true;
      this.engine?.start();
    }
    const outcome = this.ready.shift();
    if (outcome !== undefined) {
      this.engine?.acknowledge(1, true);
      return Promise.resolve({ value: outcome as ItemResult<R>, done: false });
    }
    if (this.failed) {
      this.failed = false;
      this.end();
      return Promise.reject(this.failure);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<ItemResult<R>>> {
    this.engine?.dispose();
    this.ended = true;
    this.ready.clear();
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Hands an outcome to a waiting loop (delivered at once) or keeps it until the loop pulls. */
  private offer(outcome: ItemResult<R>): void {
    const waiter = this.waiters.shift();
    if (waiter === undefined) {
      this.ready.push(outcome);
      return;
    }
    waiter.resolve({ value: outcome as ItemResult<R>, done: false });
    this.engine?.acknowledge(1, false);
  }
}
