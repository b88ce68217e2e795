import type { Subscription } from 'rxjs';
import type { RunCheckpoint } from '../checkpoint/store-checkpoint.js';
import type { RunContext } from '../context.js';
import { cancellationReason, NotStartedError, TimeoutError } from '../errors.js';
import { EventTargets } from '../events.js';
import type { AttemptGuard } from './attempt-guard.js';
import { RunClock } from './clock.js';
import type { EngineSettings, EngineSink, RunStatus } from './engine-types.js';
import type { FunctionTracker } from './function-tracker.js';
import { RunReporter } from './run-reporter.js';
import type { Slot } from './slot.js';
import type { ItemSource } from './sources.js';

/**
 * What a run holds and how it ends: its slots, counters, timers and listeners, and the one way each is let go of,
 * whether the run completes, times out, is aborted, cancelled or disposed, or fails because user code threw. The
 * engine's admission and dispatch build on it (see `ParallelEngine`). @internal
 */
export abstract class RunState {
  protected readonly indexed: boolean;
  protected readonly clock: RunClock;
  protected guard: AttemptGuard | undefined = undefined;
  /** Builds and sends events, or `undefined` when nobody listens: then no event is built. */
  readonly reporter: RunReporter | undefined;
  protected readonly slots: Slot[] = [];
  protected running = 0;
  protected admitted = 0;
  protected settled = 0;
  protected failures = 0;
  /** The index of the failure that reached `maxErrors`. */
  protected stoppedBy: number | undefined = undefined;
  protected ended = false;
  protected deadlineTimer: Subscription | undefined = undefined;
  /** The run's open checkpoint, when it has one. */
  protected checkpoint: RunCheckpoint | undefined = undefined;
  /** Stops listening to the task group the run was started in. */
  protected unlinkGroup: (() => void) | undefined = undefined;
  /** A listener's throw while the run was already ending: the run fails with it once everything is released. */
  private lateFailure: { error: unknown } | undefined = undefined;
  protected readonly onAbort = () => this.finish('cancelled');
  private cancelReason: { reason: unknown } | undefined = undefined;
  /** What in-flight functions were aborted with, once the run stopped early. */
  private stopReason: unknown = undefined;

  constructor(
    protected readonly settings: EngineSettings,
    protected readonly source: ItemSource<unknown>,
    protected readonly sink: EngineSink,
    /** The functions this run called and has not seen end: the run is over only for the sink until they have. */
    readonly calls: FunctionTracker,
  ) {
    this.indexed = settings.indexed;
    this.clock = new RunClock(settings.scheduler);
    const targets = EventTargets.of(settings.runEvents?.subject, settings.onEvent);
    if (targets !== undefined) targets.onAsyncError = this.asyncUserFailed;
    this.reporter =
      targets === undefined ? undefined : new RunReporter(targets, settings.name, () => this.clock.time());
  }

  get hasEnded(): boolean {
    return this.ended;
  }

  /** Stops at once, with no more results: the subscriber left, or the loop ended early. */
  /** Cancels the run as its signal would: it ends `'cancelled'`, every item with its outcome. */
  cancel(reason: unknown): void {
    if (this.ended) return;
    this.cancelReason = { reason };
    this.finish('cancelled');
  }

  dispose(reason: unknown = cancellationReason()): void {
    if (this.ended) return;
    this.ended = true;
    this.stopInFlight(reason, undefined);
    this.release();
  }

  /** The same door for an async callback of the run whose Promise rejected later: fails the run if it still runs. */
  protected readonly asyncUserFailed = (error: unknown) => {
    this.userFailed(error);
  };

  /**
   * The one door for user code that belongs to the run rather than to an item: call it with what the code threw.
   * The run fails with it (or, when it is already ending, ends with it). Returns false: nothing more may be done.
   */
  userFailed(error: unknown): false {
    if (this.ended) this.lateFailure ??= { error };
    else this.fail(error);
    return false;
  }

  /** The item's index: its context's, or (for a single call, whose context has none) 0. */
  protected indexOf(context: RunContext): number {
    return this.indexed ? (context.index as number) : 0;
  }

  /**
   * Ends the run early or normally: in-flight items are aborted and reported with the reason, items whose function
   * never ran are reported with a NotStartedError, then the sink hears the status.
   */
  protected finish(status: RunStatus): void {
    if (this.ended) return;
    this.ended = true;
    if (status !== 'completed') {
      this.stopInFlight(this.reasonFor(status), status);
      const remaining = this.source.remaining();
      const notStarted = new NotStartedError(status);
      for (let i = 0; i < remaining; i++) this.sink.result(this.admitted++, false, notStarted, 0, 0);
    }
    this.release();
    if (this.lateFailure !== undefined) this.sink.fail(this.lateFailure.error);
    else this.sink.end(status, this.stoppedBy);
  }

  protected fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.stopInFlight(cancellationReason('The run failed'), undefined);
    this.release();
    this.sink.fail(error);
  }

  private reasonFor(status: Exclude<RunStatus, 'completed'>): unknown {
    const { signal, deadline, maxErrors } = this.settings;
    if (status === 'timed_out') {
      return new TimeoutError(`The run's deadline of ${deadline} ms passed`, deadline as number, this.settings.name);
    }
    if (status === 'cancelled') {
      if (this.cancelReason !== undefined) return this.cancelReason.reason;
      return signal?.aborted ? signal.reason : cancellationReason();
    }
    return cancellationReason(`The run stopped after ${maxErrors} failure${maxErrors === 1 ? '' : 's'}`);
  }

  /**
   * Aborts every running task's signal and, when the run ended with `status`, reports each item's outcome: the reason
   * for one that ran, a NotStartedError for one whose function never ran (it waited for a permit, a token or a
   * dependency). Every waiter is withdrawn before any permit is given back, so a freed permit can never start another
   * item of this run.
   */
  private stopInFlight(reason: unknown, status: Exclude<RunStatus, 'completed'> | undefined): void {
    const now = this.clock.now();
    this.stopReason = reason;
    const holdingPermits: Slot[] = [];
    for (const slot of this.slots) {
      const context = slot.context;
      if (context === undefined) continue;
      slot.context = undefined;
      const neverRan = slot.waiting && context.attempt === 1;
      // An attempt waiting for its turn or its backoff has not started: it is not counted.
      const attempts = slot.waiting ? context.attempt - 1 : context.attempt;
      // One that has ended already is not aborted: a signal is never aborted after its attempt settled.
      const inFlight = !slot.waiting && !slot.attemptOver;
      slot.attemptOver = false;
      this.guard?.withdraw(slot);
      slot.cacheKey = undefined;
      slot.cacheMissed = false;
      slot.cached = false;
      slot.item = undefined;
      slot.waiting = false;
      if (inFlight) context.abort(reason);
      const inner = slot.inner;
      slot.inner = undefined;
      if (inFlight && inner === undefined) {
        // Its Promise (or its function, still on the stack) will settle later: until then it runs on, and keeps
        // the concurrency permit it holds, so a limit of n never has more than n functions running.
        this.calls.abandon(context);
        if (this.guard === undefined) slot.abandoned = context;
        else this.guard.keepPermitUntilEnded(slot, context);
      }
      if (slot.hold !== undefined) holdingPermits.push(slot);
      try {
        inner?.unsubscribe();
      } catch {
        // A teardown that throws (RxJS's UnsubscriptionError) must not stop the others from being released.
      }
      const durationMs = now - slot.startedAt;
      if (this.reporter !== undefined) {
        try {
          this.reporter.end('cancelled', slot.runName, context.index, context.attempt, reason, durationMs);
        } catch (error) {
          this.lateFailure ??= { error };
        }
      }
      if (status !== undefined) {
        this.settled += 1;
        this.failures += 1;
        const error = neverRan ? new NotStartedError(status) : reason;
        this.sink.result(this.indexOf(context), false, error, attempts, neverRan ? 0 : durationMs, slot.key);
      }
    }
    this.running = 0;
    for (const slot of holdingPermits) this.guard?.releasePermit(slot);
  }

  /** Writes what the checkpoint still holds back and closes it; a failed write is the run's failure if it can be. */
  private closeCheckpoint(): void {
    const checkpoint = this.checkpoint;
    this.checkpoint = undefined;
    try {
      checkpoint?.close();
    } catch (error) {
      this.lateFailure ??= { error };
    }
  }

  /** Lets go of the deadline timer, the signal listener and the source. */
  private release(): void {
    this.deadlineTimer?.unsubscribe();
    this.deadlineTimer = undefined;
    this.settings.signal?.removeEventListener('abort', this.onAbort);
    this.unlinkGroup?.();
    this.source.close(this.calls);
    this.closeCheckpoint();
    this.guard?.stop();
    this.clock.unshare();
    this.calls.close(this.stopReason);
  }
}
