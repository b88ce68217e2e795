import type { Subscriber } from 'rxjs';
import type { EngineSink } from './engine.js';
import { STREAMED } from './observable-outcome.js';

/**
 * The sink behind one call of a task with retry, timeout or rate limit: the engine runs the call as a one-item map,
 * and this passes its value (or each value of an Observable task, as they come) and its error to the TaskRun's
 * subscriber. @internal
 */
export class TaskRunSink<T> implements EngineSink {
  readonly deliversSynchronously = true;
  readonly acknowledges = false;
  readonly streamsValues = true;

  constructor(private readonly subscriber: Subscriber<T>) {}

  value(value: unknown): void {
    this.subscriber.next(value as T);
  }

  /** Held until the run ends, so a listener told of the outcome can still fail the call with its error. */
  private outcome: { ok: boolean; valueOrError: unknown } | undefined = undefined;

  result(_index: number, ok: boolean, valueOrError: unknown): void {
    this.outcome = { ok, valueOrError };
  }

  end(): void {
    const outcome = this.outcome;
    if (outcome === undefined) return;
    this.outcome = undefined;
    if (!outcome.ok) {
      this.subscriber.error(outcome.valueOrError);
      return;
    }
    if (outcome.valueOrError !== STREAMED) this.subscriber.next(outcome.valueOrError as T);
    this.subscriber.complete();
  }

  fail(error: unknown): void {
    this.outcome = undefined;
    this.subscriber.error(error);
  }
}
