import type { EventTargets, RunEvent } from '../events.js';

/**
 * Builds a run's events and hands them to its listeners. It exists only while someone listens, so a run nobody
 * watches builds no event at all. Each event is one object literal of a fixed shape. A listener's throw comes out of
 * these methods: the engine's door for user code turns it into the run's failure. @internal
 */
export class RunReporter {
  constructor(
    private readonly targets: EventTargets,
    private readonly task: string,
    /** The run's clock in epoch milliseconds (see `RunClock`). */
    private readonly now: () => number,
  ) {}

  /** `queued` or `started`. */
  step(type: 'queued' | 'started', runName: string, index: number | undefined, attempt: number): void {
    const time = this.now();
    const task = this.task;
    this.emit(
      type === 'queued'
        ? { type: 'queued', task, runName, index, attempt, time }
        : { type: 'started', task, runName, index, attempt, time },
    );
  }

  retrying(runName: string, index: number | undefined, attempt: number, error: unknown, delayMs: number): void {
    const time = this.now();
    this.emit({ type: 'retrying', task: this.task, runName, index, attempt, time, error, delayMs });
  }

  /** `succeeded`, `failed` (with the error) or `cancelled` (with the reason). */
  end(
    type: 'succeeded' | 'failed' | 'cancelled',
    runName: string,
    index: number | undefined,
    attempt: number,
    valueOrError: unknown,
    durationMs: number,
    /** When it ended, if the caller read it already. */
    time = this.now(),
  ): void {
    const task = this.task;
    if (type === 'succeeded') this.emit({ type, task, runName, index, attempt, time, durationMs });
    else if (type === 'failed') {
      this.emit({ type, task, runName, index, attempt, time, error: valueOrError, durationMs });
    } else this.emit({ type, task, runName, index, attempt, time, reason: valueOrError, durationMs });
  }

  /** An item whose outcome the result cache had (or another call with its key computed): it did not run. */
  cached(runName: string, index: number | undefined): void {
    this.emit({ type: 'cached', task: this.task, runName, index, attempt: 0, time: this.now() });
  }

  /** An item whose outcome a checkpoint had: it did not run. */
  restored(runName: string, index: number | undefined): void {
    this.emit({
      type: 'restored',
      task: this.task,
      runName,
      index,
      attempt: 0,
      time: this.now(),
      from: 'checkpoint',
    });
  }

  progress(done: number, total: number, time = this.now()): void {
    const task = this.task;
    this.emit({ type: 'progress', task, runName: task, index: undefined, attempt: 0, time, done, total });
  }

  private emit(event: RunEvent): void {
    this.targets.emit(event);
  }
}
