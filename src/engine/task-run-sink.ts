import type { Subscriber } from 'rxjs';
import type { EngineSink } from './engine.js';
import { STREAMED } from './observable-outcome.js';

/**
 * The sink behind one call of a task with retry, timeout or rate limit: the engine runs the call as a one-item map,
 * and this passes its value (or each value of an Observable task, as they come) and its error to the TaskRun's
 * subscriber. @internal
 */
export class TaskRunSink<T> implements EngineSink {
  readonly acknowledges = false;
  readonly streamsValues = true;

  constructor(private readonly subscriber: Subscriber<T>) {}

  value(value: unknown): void {
    this.subscriber.next(value as T);
  }

  result(_index: number, ok: boolean, valueOrError: unknown): void {
    if (!ok) {
      this.subscriber.error(valueOrError);
      return;
    }
    if (valueOrError !== STREAMED) this.subscriber.next(valueOrError as T);
    this.subscriber.complete();
  }

  end(): void {}

  fail(error: unknown): void {
    this.subscriber.error(error);
  }
}
