import type { Observable, SchedulerLike, Subject, Subscription, Unsubscribable } from 'rxjs';
import { RunContext } from '../context.js';
import { cancellationReason, NotStartedError, TimeoutError } from '../errors.js';
import { EventTargets, type RunEvent } from '../events.js';
import { hasPolicies, type Policies } from '../policies/task-policies.js';
import type { TaskFunction } from '../task-definition.js';
import { isPromiseLike, isStreamedOutput } from '../task-output.js';
import { AttemptGuard, type GuardHost } from './attempt-guard.js';
import { BatchClock } from './clock.js';
import { subscribeOutcome } from './observable-outcome.js';
import { Slot, type SlotOwner } from './slot.js';
import { EXHAUSTED, type ItemSource, PENDING } from './sources.js';

/**
 * How a run ended: `'completed'` (every item ran), `'timed_out'` (its deadline passed), `'aborted'` (`maxErrors`
 * failures, or the first with `stopOnError`) or `'cancelled'` (its signal aborted, or it was unsubscribed).
 *
 * @example
 * ```ts
 * import { parallelMap, type RunStatus } from 'rxtask';
 *
 * const status: RunStatus = (await parallelMap((x: number) => x, [1], { signal: AbortSignal.abort() })).status;
 * console.log(status); // 'cancelled'
 * ```
 */
export type RunStatus = 'completed' | 'timed_out' | 'aborted' | 'cancelled';

/** Where the engine sends outcomes: an Observable's subscriber, a ParallelResult being collected, an async iterator. @internal */
export interface EngineSink {
  /**
   * False when a result counts as delivered the moment it is handed over; true when the sink holds results back
   * (input order, or a `for await` loop that has not pulled yet) and reports deliveries through `acknowledge`.
   */
  readonly acknowledges: boolean;
  result(index: number, ok: boolean, valueOrError: unknown, attempts: number, durationMs: number): void;
  /** Every known item has had its result. */
  end(status: RunStatus): void;
  /** The source, or a callback, failed: the run ends without its remaining results. */
  fail(error: unknown): void;
  /** True for a sink that takes an Observable task's values one by one (`value`) rather than its last one. */
  readonly streamsValues?: boolean;
  value?(value: unknown): void;
}

/** What a run is asked to do; checked by `parallelMap` before anything runs. @internal */
export interface EngineSettings {
  readonly fn: TaskFunction<unknown[]>;
  readonly name: string;
  /** Call `fn(...item)` (starmap, zipped arguments) rather than `fn(item)`. */
  readonly spread: boolean;
  readonly concurrency: number;
  /** The most items admitted but not yet delivered: the read-ahead and reorder bound. */
  readonly window: number;
  readonly maxErrors: number;
  readonly onProgress: ((done: number, total: number) => void) | undefined;
  readonly deadline: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly scheduler: SchedulerLike;
  /** Read the clock once per batch of completions (false under a scheduler the caller gave, for exact virtual time). */
  readonly batchedClock: boolean;
  /** Retry, per-attempt timeout and rate limit; with none, items take the fast path. */
  readonly policies: Policies;
  /** Give the function its item's index (false for a single task call, whose context has none). */
  readonly indexed: boolean;
  /** The `onEvent` option. */
  readonly onEvent: ((event: RunEvent) => void) | undefined;
  /** The run's own event stream (`run.events$`), once someone has asked for it. */
  readonly runEvents: { readonly subject: Subject<RunEvent> | undefined } | undefined;
  /** Names an item's run, for events. */
  readonly runName: (item: unknown) => string;
  /** Finds and waits for futures and runs among an item's arguments; `undefined` where items cannot hold any. */
  readonly dependencies: DependencyResolver | undefined;
}

/** How the engine waits for the futures and runs an item's arguments hold. @internal */
export interface DependencyResolver {
  needs(item: object): boolean;
  resolve(item: unknown, ready: (item: unknown) => void, fail: (error: unknown) => void): Unsubscribable;
}

/**
 * The parallel map's engine: pulls an item only when a slot is free and the window allows, runs it, and hands each
 * outcome to the sink exactly once. Synchronous completions are trampolined through `pump`'s loop, never recursion,
 * so a million synchronous tasks run without growing the stack. @internal
 */
export class ParallelEngine implements SlotOwner, GuardHost {
  // The settings the hot path reads, copied into fields of their own.
  private readonly fn: TaskFunction<unknown[]>;
  private readonly name: string;
  private readonly spread: boolean;
  private readonly concurrency: number;
  private readonly window: number;
  private readonly maxErrors: number;
  private readonly selfDelivering: boolean;
  private readonly indexed: boolean;
  private readonly clock: BatchClock;
  private readonly guard: AttemptGuard | undefined;
  /** Where events go, or `undefined` when nobody listens: then no event is built. */
  private readonly events: EventTargets | undefined;
  readonly streamsValues: boolean;
  private readonly slots: Slot[] = [];
  private readonly freeSlots: Slot[] = [];
  private running = 0;
  private admitted = 0;
  private delivered = 0;
  private settled = 0;
  private failures = 0;
  private sourceDone = false;
  private ended = false;
  private pumping = false;
  private pumpAgain = false;
  private deadlineTimer: Subscription | undefined = undefined;
  private readonly onAbort = () => this.finish('cancelled');
  private readonly wake = () => this.pump();
  private readonly failRun = (error: unknown) => this.fail(error);

  constructor(
    private readonly settings: EngineSettings,
    private readonly source: ItemSource<unknown>,
    private readonly sink: EngineSink,
  ) {
    this.fn = settings.fn;
    this.name = settings.name;
    this.spread = settings.spread;
    this.concurrency = settings.concurrency;
    this.window = settings.window;
    this.maxErrors = settings.maxErrors;
    this.selfDelivering = !sink.acknowledges;
    this.indexed = settings.indexed;
    this.clock = new BatchClock(settings.scheduler, settings.batchedClock);
    this.streamsValues = sink.streamsValues === true;
    this.events = EventTargets.of(settings.runEvents?.subject, settings.onEvent);
    this.guard = hasPolicies(settings.policies)
      ? new AttemptGuard(settings.policies, this, settings.scheduler, settings.fn, settings.spread)
      : undefined;
  }

  get hasEnded(): boolean {
    return this.ended;
  }

  streamValue(value: unknown): void {
    this.sink.value?.(value);
  }

  private readonly forwardValue = (value: unknown) => this.streamValue(value);

  start(): void {
    const { signal, deadline, scheduler } = this.settings;
    if (signal?.aborted) {
      this.finish('cancelled');
      return;
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (deadline !== undefined) {
      this.deadlineTimer = scheduler.schedule(() => this.finish('timed_out'), deadline);
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
    this.stopInFlight(reason, false);
    this.release();
  }

  /** Admits items while a slot is free, the window allows and the source has one ready. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    do {
      this.pumpAgain = false;
      while (!this.ended && this.running < this.concurrency && this.admitted - this.delivered < this.window) {
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
    const context = new RunContext(this.name, this.indexed ? index : undefined, 1);
    slot.context = context;
    slot.startedAt = this.clock.now();
    this.running += 1;
    if (this.events !== undefined) {
      slot.runName = this.settings.runName(item);
      this.emit('queued', slot, context);
    }
    const dependencies = this.settings.dependencies;
    if (dependencies !== undefined && typeof item === 'object' && item !== null && dependencies.needs(item)) {
      this.awaitDependencies(slot, context, item, dependencies);
      return;
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
    if (this.events !== undefined) this.emit('started', slot, context);
    let output: unknown;
    try {
      output = this.spread ? this.fn.apply(context, item as unknown[]) : this.fn.call(context, item);
    } catch (error) {
      this.settle(slot, false, error);
      return;
    }
    if (output instanceof Promise) {
      output.then(slot.onValue, slot.onError);
    } else if (isStreamedOutput(output)) {
      this.subscribeOutput(slot, context, output);
    } else if (isPromiseLike(output)) {
      // Promise.resolve adopts a foreign thenable with once-only settlement.
      Promise.resolve(output).then(slot.onValue, slot.onError);
    } else {
      this.settle(slot, true, output);
    }
  }

  /** An item holding futures or runs waits for them, in its slot, before its function runs. */
  private awaitDependencies(slot: Slot, context: RunContext, item: unknown, dependencies: DependencyResolver): void {
    slot.waiting = true;
    const ready = (resolved: unknown) => {
      if (slot.context !== context) return;
      slot.waiting = false;
      slot.inner = undefined;
      this.invoke(slot, context, resolved);
    };
    const failed = (error: unknown) => {
      if (slot.context !== context) return;
      slot.waiting = false;
      slot.inner = undefined;
      this.settle(slot, false, error);
    };
    const waiting = dependencies.resolve(item, ready, failed);
    if (slot.context === context && slot.waiting) slot.inner = waiting;
  }

  /** An Observable task's item ends with its last value, once its subscription is torn down. */
  private subscribeOutput(slot: Slot, context: RunContext, output: Observable<unknown>): void {
    const subscription = subscribeOutcome(output, this.streamsValues ? this.forwardValue : undefined, (ok, outcome) =>
      this.settle(slot, ok, outcome),
    );
    if (slot.context === context && !subscription.closed) slot.inner = subscription;
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
    this.freeSlots.push(slot);
    this.running -= 1;
    const durationMs = this.clock.now() - slot.startedAt;
    if (this.events !== undefined) this.emitEnd(ok ? 'succeeded' : 'failed', slot, context, valueOrError, durationMs);
    this.record(this.indexOf(context), ok, valueOrError, context.attempt, durationMs);
    this.pump();
  }

  /** An attempt of the guarded path started. */
  attemptStarted(slot: Slot, context: RunContext): void {
    if (this.events !== undefined) this.emit('started', slot, context);
  }

  /** An attempt of the guarded path failed and will be retried. */
  attemptRetrying(slot: Slot, context: RunContext, error: unknown, delayMs: number): void {
    this.events?.emit({ ...this.eventBase(slot, context), type: 'retrying', error, delayMs });
  }

  private emit(type: 'queued' | 'started', slot: Slot, context: RunContext): void {
    this.events?.emit({ ...this.eventBase(slot, context), type });
  }

  private emitEnd(
    type: 'succeeded' | 'failed' | 'cancelled',
    slot: Slot,
    context: RunContext,
    valueOrError: unknown,
    durationMs: number,
  ): void {
    const base = this.eventBase(slot, context);
    if (type === 'succeeded') this.events?.emit({ ...base, type, durationMs });
    else if (type === 'failed') this.events?.emit({ ...base, type, error: valueOrError, durationMs });
    else this.events?.emit({ ...base, type, reason: valueOrError, durationMs });
  }

  private eventBase(slot: Slot, context: RunContext) {
    return {
      task: this.name,
      runName: slot.runName,
      index: context.index,
      attempt: context.attempt,
      time: this.settings.scheduler.now(),
    };
  }

  /** The item's index: its context's, or (for a single call, whose context has none) 0. */
  private indexOf(context: RunContext): number {
    return this.indexed ? (context.index as number) : 0;
  }

  private record(index: number, ok: boolean, valueOrError: unknown, attempts: number, durationMs: number): void {
    this.settled += 1;
    if (!ok) this.failures += 1;
    this.sink.result(index, ok, valueOrError, attempts, durationMs);
    if (this.selfDelivering) this.delivered += 1;
    if (this.ended) return;
    const onProgress = this.settings.onProgress;
    if (onProgress !== undefined || this.events !== undefined) {
      const total = this.source.size ?? this.admitted + this.source.remaining();
      try {
        onProgress?.(this.settled, total);
      } catch (error) {
        this.fail(error);
        return;
      }
      if (this.events !== undefined) {
        const time = this.settings.scheduler.now();
        const task = this.name;
        this.events.emit({
          type: 'progress',
          task,
          runName: task,
          index: undefined,
          attempt: 0,
          time,
          done: this.settled,
          total,
        });
      }
    }
    if (!ok && this.failures >= this.maxErrors) this.finish('aborted');
  }

  /**
   * Ends the run early or normally: in-flight items are aborted and reported with the reason, known items that
   * never started are reported with a NotStartedError, then the sink hears the status.
   */
  private finish(status: RunStatus): void {
    if (this.ended) return;
    this.ended = true;
    if (status !== 'completed') {
      this.stopInFlight(this.reasonFor(status), true);
      const remaining = this.source.remaining();
      const notStarted = new NotStartedError(status);
      for (let i = 0; i < remaining; i++) this.sink.result(this.admitted++, false, notStarted, 0, 0);
    }
    this.release();
    this.sink.end(status);
  }

  private fail(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.stopInFlight(cancellationReason('The run failed'), false);
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

  /** Aborts every running task's signal; `report` gives each its failed outcome. */
  private stopInFlight(reason: unknown, report: boolean): void {
    const now = this.clock.now();
    for (const slot of this.slots) {
      const context = slot.context;
      if (context === undefined) continue;
      // An attempt waiting for its turn or its backoff has not started: it is not counted.
      const attempts = slot.waiting ? context.attempt - 1 : context.attempt;
      this.guard?.cancel(slot);
      slot.context = undefined;
      slot.item = undefined;
      context.abort(reason);
      slot.inner?.unsubscribe();
      slot.inner = undefined;
      if (this.events !== undefined) this.emitEnd('cancelled', slot, context, reason, now - slot.startedAt);
      if (report) {
        this.settled += 1;
        this.failures += 1;
        this.sink.result(this.indexOf(context), false, reason, attempts, now - slot.startedAt);
      }
    }
    this.running = 0;
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
