import type { Subscription } from 'rxjs';
import { RunContext } from '../context.js';
import { dispatchOutput } from '../dispatch.js';
import { cancellationReason, NotStartedError, TimeoutError } from '../errors.js';
import { EventTargets } from '../events.js';
import { hasPolicies } from '../policies/task-policies.js';
import type { TaskFunction } from '../task-definition.js';
import { isPromiseLike } from '../task-output.js';
import { scheduleAfter } from '../time.js';
import { AttemptGuard, type GuardHost } from './attempt-guard.js';
import { BatchClock } from './clock.js';
import type { EngineSettings, EngineSink, RunStatus } from './engine-types.js';
import { asArguments } from './item-arguments.js';
import { RunReporter } from './run-reporter.js';
import { Slot, type SlotOwner } from './slot.js';
import { EXHAUSTED, type ItemSource, PENDING } from './sources.js';

export type { DependencyResolver, EngineSettings, EngineSink, RunStatus } from './engine-types.js';

/**
 * The parallel map's engine: pulls an item only when a slot is free and the window allows, runs it, and hands each
 * outcome to the sink exactly once. Synchronous completions are trampolined through `pump`'s loop, never recursion,
 * so a million synchronous tasks run without growing the stack.
 *
 * User code (listeners, `onProgress`, `runName`, the input's iterator) is called through one door, `userFailed`: a
 * throw fails the run and releases everything it holds, and after every such call the engine checks whether the run
 * ended (the code may have cancelled it) before doing anything more. @internal
 */
export class ParallelEngine implements SlotOwner, GuardHost {
  // The settings the hot path reads, copied into fields of their own.
  private readonly fn: TaskFunction<unknown[]>;
  private readonly spread: boolean;
  private readonly concurrency: number;
  private readonly window: number;
  private readonly maxErrors: number;
  private readonly selfDelivering: boolean;
  private readonly indexed: boolean;
  private readonly awaitItems: boolean;
  /** The deadline on the engine's clock, checked at each admission; `Infinity` for none. */
  private readonly deadlineAt: number;
  private readonly clock: BatchClock;
  private readonly guard: AttemptGuard | undefined;
  /** Builds and sends events, or `undefined` when nobody listens: then no event is built. */
  readonly reporter: RunReporter | undefined;
  readonly streamsValues: boolean;
  private readonly slots: Slot[] = [];
  private readonly freeSlots: Slot[] = [];
  private running = 0;
  private admitted = 0;
  private delivered = 0;
  private settled = 0;
  private failures = 0;
  /** The index of the failure that reached `maxErrors`. */
  private stoppedBy: number | undefined = undefined;
  private sourceDone = false;
  private ended = false;
  private pumping = false;
  private pumpAgain = false;
  private deadlineTimer: Subscription | undefined = undefined;
  /** A listener's throw while the run was already ending: the run fails with it once everything is released. */
  private lateFailure: { error: unknown } | undefined = undefined;
  private readonly onAbort = () => this.finish('cancelled');
  private readonly wake = () => this.pump();
  private readonly failRun = (error: unknown) => this.fail(error);
  private readonly forwardValue = (value: unknown) => this.sink.value?.(value);

  constructor(
    private readonly settings: EngineSettings,
    private readonly source: ItemSource<unknown>,
    private readonly sink: EngineSink,
  ) {
    this.fn = settings.fn;
    this.spread = settings.spread;
    this.concurrency = settings.concurrency;
    this.window = settings.window;
    this.maxErrors = settings.maxErrors;
    this.selfDelivering = !sink.acknowledges;
    this.indexed = settings.indexed;
    this.awaitItems = settings.awaitItems;
    this.deadlineAt = settings.deadline ?? Number.POSITIVE_INFINITY;
    this.clock = new BatchClock(settings.scheduler, settings.batchedClock);
    this.streamsValues = sink.streamsValues === true;
    const targets = EventTargets.of(settings.runEvents?.subject, settings.onEvent);
    this.reporter = targets === undefined ? undefined : new RunReporter(targets, settings.name, settings.scheduler);
    this.guard = hasPolicies(settings.policies) ? new AttemptGuard(settings, this) : undefined;
  }

  get hasEnded(): boolean {
    return this.ended;
  }

  streamValue(value: unknown): void {
    this.sink.value?.(value);
  }

  start(): void {
    const { signal, deadline, scheduler } = this.settings;
    if (signal?.aborted) {
      this.finish('cancelled');
      return;
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (deadline !== undefined && deadline !== Number.POSITIVE_INFINITY) {
      // The timer ends a run whose tasks are in flight; admission checks the deadline too, for synchronous work.
      this.deadlineTimer = scheduleAfter(scheduler, deadline, () => this.finish('timed_out'));
    }
    try {
      this.source.open(this.wake, this.failRun);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.pump();
  }

  /** A sink delivered `count` results it had held back; `resume` when that may let more items in now. */
  acknowledge(count: number, resume: boolean): void {
    this.delivered += count;
    if (resume) this.pump();
  }

  /** Stops at once, with no more results: the subscriber left, or the loop ended early. */
  dispose(reason: unknown = cancellationReason()): void {
    if (this.ended) return;
    this.ended = true;
    this.stopInFlight(reason, undefined);
    this.release();
  }

  /**
   * The one door for user code that belongs to the run rather than to an item: call it with what the code threw.
   * The run fails with it (or, when it is already ending, ends with it). Returns false: nothing more may be done.
   */
  userFailed(error: unknown): false {
    if (this.ended) this.lateFailure ??= { error };
    else this.fail(error);
    return false;
  }

  /** Admits items while a slot is free, the window allows, the deadline has not passed and the source has one ready. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    do {
      this.pumpAgain = false;
      while (!this.ended && this.running < this.concurrency && this.admitted - this.delivered < this.window) {
        if (this.deadlineAt !== Number.POSITIVE_INFINITY && this.clock.now() >= this.deadlineAt) {
          this.finish('timed_out');
          break;
        }
        const item = this.source.pull();
        if (item === PENDING) break;
        if (item === EXHAUSTED) {
          this.sourceDone = true;
          break;
        }
        this.startItem(item, this.admitted++);
      }
      if (this.sourceDone && this.running === 0) this.finish('completed');
    } while (this.pumpAgain && !this.ended);
    this.pumping = false;
  }

  private startItem(item: unknown, index: number): void {
    const slot = this.freeSlots.pop() ?? this.newSlot();
    const context = new RunContext(this.settings.name, this.indexed ? index : undefined, 1);
    slot.context = context;
    slot.startedAt = this.clock.now();
    this.running += 1;
    if (this.reporter !== undefined && !this.report('queued', slot, context, item)) return;
    if ((typeof item === 'object' && item !== null) || typeof item === 'function') {
      let wait: 'dependencies' | 'thenable' | undefined;
      try {
        wait = this.settings.dependencies?.needs(item as object)
          ? 'dependencies'
          : this.awaitItems && isPromiseLike(item)
            ? 'thenable'
            : undefined;
      } catch (error) {
        // An item that cannot be looked at (a revoked Proxy) fails alone.
        this.settle(slot, false, error);
        return;
      }
      if (wait !== undefined) {
        this.awaitItem(slot, context, item, wait);
        return;
      }
    }
    this.invoke(slot, context, item);
  }

  /** Runs the item's function: through the guard when there are policies, else on the fast path. */
  private invoke(slot: Slot, context: RunContext, item: unknown): void {
    if (this.guard !== undefined) {
      slot.item = item;
      this.guard.begin(slot);
      return;
    }
    if (this.reporter !== undefined) {
      // Still waiting while `started` is reported: a listener that cancels there leaves the function unrun.
      slot.waiting = true;
      if (!this.report('started', slot, context, undefined)) return;
      slot.waiting = false;
    }
    let output: unknown;
    try {
      output = this.spread ? this.fn.apply(context, asArguments(item)) : this.fn.call(context, item);
      // The fast path: one `then` with the slot's own callbacks. (`instanceof` throws for a revoked Proxy.)
      if (output instanceof Promise) {
        output.then(slot.onValue, slot.onError);
        return;
      }
    } catch (error) {
      this.settle(slot, false, error);
      return;
    }
    const inner = dispatchOutput(
      output,
      slot.onValue,
      slot.onError,
      this.streamsValues ? this.forwardValue : undefined,
    );
    if (inner !== undefined && slot.context === context) slot.inner = inner;
  }

  /**
   * An item that is a Promise, or holds futures or runs among its arguments, waits for them in its slot before its
   * function runs; a rejection fails that item alone.
   */
  private awaitItem(slot: Slot, context: RunContext, item: unknown, wait: 'dependencies' | 'thenable'): void {
    slot.waiting = true;
    const ready = (resolved: unknown) => {
      if (slot.context !== context || this.ended) return;
      slot.waiting = false;
      slot.inner = undefined;
      this.invoke(slot, context, resolved);
    };
    const failed = (error: unknown) => {
      if (slot.context !== context || this.ended) return;
      slot.waiting = false;
      slot.inner = undefined;
      this.settle(slot, false, error);
    };
    if (wait === 'thenable') {
      Promise.resolve(item).then(ready, failed);
      return;
    }
    const waiting = this.settings.dependencies?.resolve(item, ready, failed);
    if (slot.context === context && slot.waiting) slot.inner = waiting;
  }

  private newSlot(): Slot {
    const slot = new Slot(this);
    this.slots.push(slot);
    return slot;
  }

  /** A slot's task ended. Ignored once the run is over: its outcome was already reported as cancelled. */
  settle(slot: Slot, ok: boolean, valueOrError: unknown): void {
    const context = slot.context;
    if (this.ended || context === undefined) return;
    slot.context = undefined;
    slot.inner = undefined;
    slot.waiting = false;
    slot.attemptOver = false;
    this.freeSlots.push(slot);
    this.running -= 1;
    const durationMs = this.clock.now() - slot.startedAt;
    const index = this.indexOf(context);
    this.settled += 1;
    if (!ok) this.failures += 1;
    // The result first: a listener told of it below may cancel the run, and the item has finished all the same.
    this.sink.result(index, ok, valueOrError, context.attempt, durationMs);
    if (this.selfDelivering) this.delivered += 1;
    if (this.ended) return;
    if (this.reporter !== undefined) {
      try {
        const type = ok ? 'succeeded' : 'failed';
        this.reporter.end(type, slot.runName, context.index, context.attempt, valueOrError, durationMs);
      } catch (error) {
        this.userFailed(error);
        return;
      }
      if (this.ended) return;
    }
    this.afterResult(index, ok);
    this.pump();
  }

  /** An attempt of the guarded path is about to start; false when a listener ended the run. */
  attemptStarted(slot: Slot, context: RunContext): boolean {
    return this.reporter === undefined || this.report('started', slot, context, undefined);
  }

  /** An attempt of the guarded path failed and will be retried; false when a listener ended the run. */
  attemptRetrying(slot: Slot, context: RunContext, error: unknown, delayMs: number): boolean {
    if (this.reporter === undefined) return !this.ended;
    try {
      this.reporter.retrying(slot.runName, context.index, context.attempt, error, delayMs);
    } catch (thrown) {
      return this.userFailed(thrown);
    }
    return !this.ended;
  }

  /** Reports `queued` (naming the item's run first) or `started`; false when the run ended meanwhile. */
  private report(type: 'queued' | 'started', slot: Slot, context: RunContext, item: unknown): boolean {
    try {
      if (type === 'queued') slot.runName = this.settings.runName(item);
      (this.reporter as RunReporter).step(type, slot.runName, context.index, context.attempt);
    } catch (error) {
      return this.userFailed(error);
    }
    return !this.ended;
  }

  /** The item's index: its context's, or (for a single call, whose context has none) 0. */
  private indexOf(context: RunContext): number {
    return this.indexed ? (context.index as number) : 0;
  }

  /** Reports progress after a result, and stops the run at `maxErrors`. */
  private afterResult(index: number, ok: boolean): void {
    const onProgress = this.settings.onProgress;
    if (onProgress !== undefined || this.reporter !== undefined) {
      const total = this.source.size ?? this.admitted + this.source.remaining();
      try {
        onProgress?.(this.settled, total);
        if (!this.ended) this.reporter?.progress(this.settled, total);
      } catch (error) {
        this.userFailed(error);
        return;
      }
      if (this.ended) return;
    }
    if (!ok && this.failures >= this.maxErrors) {
      this.stoppedBy = index;
      this.finish('aborted');
    }
  }

  /**
   * Ends the run early or normally: in-flight items are aborted and reported with the reason, items whose function
   * never ran are reported with a NotStartedError, then the sink hears the status.
   */
  private finish(status: RunStatus): void {
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

  private fail(error: unknown): void {
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
    if (status === 'cancelled') return signal?.aborted ? signal.reason : cancellationReason();
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
      if (slot.holdsPermit) holdingPermits.push(slot);
      slot.item = undefined;
      slot.waiting = false;
      if (inFlight) context.abort(reason);
      const inner = slot.inner;
      slot.inner = undefined;
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
        this.sink.result(this.indexOf(context), false, error, attempts, neverRan ? 0 : durationMs);
      }
    }
    this.running = 0;
    for (const slot of holdingPermits) this.guard?.releasePermit(slot);
  }

  /** Lets go of the deadline timer, the signal listener and the source. */
  private release(): void {
    this.deadlineTimer?.unsubscribe();
    this.deadlineTimer = undefined;
    this.settings.signal?.removeEventListener('abort', this.onAbort);
    this.source.close();
    this.guard?.stop();
    this.clock.stop();
  }
}
