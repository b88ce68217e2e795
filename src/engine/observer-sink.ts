import type { Subscriber } from 'rxjs';
import { type ItemResult, itemResult } from '../item-result.js';
import type { EngineSink, ParallelEngine } from './engine.js';
import { ReorderBuffer } from './reorder-buffer.js';

/** The sink behind subscribing to a run: each outcome goes to the subscriber, in input order when `ordered`. @internal */
export class ObserverSink<R> implements EngineSink {
  readonly deliversSynchronously = true;
  readonly acknowledges: boolean;
  engine: ParallelEngine | undefined = undefined;
  private readonly reorder: ReorderBuffer<ItemResult<R>> | undefined;

  constructor(
    private readonly subscriber: Subscriber<ItemResult<R>>,
    ordered: boolean,
    window: number,
  ) {
    this.acknowledges = ordered;
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
      this.subscriber.next(outcome as ItemResult<R>);
      return;
    }
    this.reorder.put(index, outcome);
    let delivered = 0;
    for (let next = this.reorder.takeNext(); next !== undefined; next = this.reorder.takeNext()) {
      this.subscriber.next(next as ItemResult<R>);
      delivered += 1;
    }
    if (delivered > 0) this.engine?.acknowledge(delivered, false);
  }

  end(): void {
    this.subscriber.complete();
  }

  fail(error: unknown): void {
    this.subscriber.error(error);
  }
}
