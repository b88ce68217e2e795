import type { ObservableInput, SchedulerLike } from 'rxjs';
import { RunContext } from '../context.js';
import { TimeoutError } from '../errors.js';
import type { ConcurrencyLimit } from '../policies/concurrency-limit.js';
import { heldLimits, runHolding } from '../policies/limit-scope.js';
import type { Policies } from '../policies/task-policies.js';
import { TimeoutQueue } from '../policies/timeout-queue.js';
import type { TaskFunction } from '../task-definition.js';
import { isPromiseLike, isStreamedOutput } from '../task-output.js';
import { subscribeOutcome } from './observable-outcome.js';
import type { Slot } from './slot.js';

/** What the guard needs of the engine. @internal */
export interface GuardHost {
  readonly hasEnded: boolean;
  /** The item's last attempt ended: report it. */
  settle(slot: Slot, ok: boolean, valueOrError: unknown): void;
  /** An Observable task's value, for sinks that stream values (a TaskRun). */
  streamValue(value: unknown): void;
  /** True when the sink streams an Observable task's values as they come. */
  readonly streamsValues: boolean;
  attemptStarted(slot: Slot, context: RunContext): void;
  attemptRetrying(slot: Slot, context: RunContext, error: unknown, delayMs: number): void;
}

/**
 * The guarded path of the engine: runs each item as a series of attempts, each waiting for its rate-limit turn,
 * bounded by the per-attempt timeout (one shared timer for the map) and retried with backoff. An attempt's outcome
 * is matched to its own context, so a late answer from an attempt that timed out is ignored. @internal
 */
export class AttemptGuard {
  private readonly timeouts: TimeoutQueue<Slot> | undefined;
  /** The concurrency limit to take a permit of, unless an ancestor of this run holds it already. */
  private readonly permits: ConcurrencyLimit | undefined;
  /** What the task's function holds while it runs: its ancestors' limits and its own. */
  private readonly holding: ReadonlySet<ConcurrencyLimit> | undefined;

  constructor(
    private readonly policies: Policies,
    private readonly host: GuardHost,
    private readonly scheduler: SchedulerLike,
    private readonly fn: TaskFunction<unknown[]>,
    private readonly spread: boolean,
  ) {
    const { timeout, concurrency } = policies;
    this.timeouts =
      timeout === undefined ? undefined : new TimeoutQueue<Slot>(timeout, scheduler, (slot) => this.timedOut(slot));
    const inherited = heldLimits();
    this.permits = concurrency !== undefined && inherited?.has(concurrency) !== true ? concurrency : undefined;
    this.holding = this.permits === undefined ? undefined : new Set([...(inherited ?? []), this.permits]);
  }

  /** Starts the item in the slot: its first attempt, once the rate limit allows. */
  begin(slot: Slot): void {
    this.request(slot);
  }

  /** The run stopped: drop the slot's pending turn, backoff and deadline (the engine aborts its context). */
  cancel(slot: Slot): void {
    slot.permitWaiter?.cancel();
    slot.permitWaiter = undefined;
    this.releasePermit(slot);
    slot.waiter?.cancel();
    slot.waiter = undefined;
    slot.retryTimer?.unsubscribe();
    slot.retryTimer = undefined;
    if (slot.timeoutEntry !== undefined) slot.timeoutEntry.done = true;
    slot.timeoutEntry = undefined;
    slot.waiting = false;
  }

  stop(): void {
    this.timeouts?.stop();
  }

  /** The next attempt: a concurrency permit first, then a rate-limit token, then the run. */
  private request(slot: Slot): void {
    slot.retryTimer = undefined;
    const permits = this.permits;
    if (permits === undefined) {
      this.requestToken(slot);
      return;
    }
    slot.waiting = true;
    slot.afterPermit ??= () => {
      slot.permitWaiter = undefined;
      slot.holdsPermit = true;
      this.requestToken(slot);
    };
    slot.permitWaiter = permits.acquire(slot.afterPermit);
  }

  private requestToken(slot: Slot): void {
    const limiter = this.policies.limiter;
    if (limiter === undefined) {
      this.run(slot);
      return;
    }
    slot.waiting = true;
    slot.startAttempt ??= () => this.run(slot);
    slot.waiter = limiter.acquire(slot.startAttempt);
  }

  private run(slot: Slot): void {
    slot.waiting = false;
    slot.waiter = undefined;
    const context = slot.context as RunContext;
    this.host.attemptStarted(slot, context);
    if (this.timeouts !== undefined) slot.timeoutEntry = this.timeouts.add(slot);
    let output: unknown;
    try {
      output =
        this.holding === undefined
          ? this.call(slot, context)
          : runHolding(this.holding, () => this.call(slot, context));
    } catch (error) {
      this.attemptEnded(slot, context, false, error);
      return;
    }
    if (isStreamedOutput(output)) {
      this.subscribe(slot, context, output);
    } else if (isPromiseLike(output)) {
      Promise.resolve(output).then(
        (value) => this.attemptEnded(slot, context, true, value),
        (error: unknown) => this.attemptEnded(slot, context, false, error),
      );
    } else {
      this.attemptEnded(slot, context, true, output);
    }
  }

  private call(slot: Slot, context: RunContext): unknown {
    return this.spread ? this.fn.apply(context, slot.item as unknown[]) : this.fn.call(context, slot.item);
  }

  private releasePermit(slot: Slot): void {
    if (!slot.holdsPermit) return;
    slot.holdsPermit = false;
    this.permits?.release();
  }

  /** Like the engine's, the attempt's outcome counts once its subscription is torn down. */
  private subscribe(slot: Slot, context: RunContext, output: ObservableInput<unknown>): void {
    const host = this.host;
    const onValue = host.streamsValues
      ? (value: unknown) => {
          if (slot.context === context) host.streamValue(value);
        }
      : undefined;
    const subscription = subscribeOutcome(output, onValue, (ok, outcome) =>
      this.attemptEnded(slot, context, ok, outcome),
    );
    if (slot.context === context && !subscription.closed) slot.inner = subscription;
  }

  /** One attempt ended: report the item, or schedule its next attempt. Stale attempts are ignored. */
  private attemptEnded(slot: Slot, context: RunContext, ok: boolean, valueOrError: unknown): void {
    if (slot.context !== context || slot.waiting || this.host.hasEnded) return;
    if (slot.timeoutEntry !== undefined) slot.timeoutEntry.done = true;
    slot.timeoutEntry = undefined;
    slot.inner = undefined;
    this.releasePermit(slot);
    const retry = this.policies.retry;
    if (ok || retry === undefined) {
      slot.item = undefined;
      this.host.settle(slot, ok, valueOrError);
      return;
    }
    const decision = retry.decide(valueOrError, context.attempt);
    if (decision.serverWaitMs !== undefined) this.policies.limiter?.pause(decision.serverWaitMs);
    if (!decision.retry) {
      slot.item = undefined;
      this.host.settle(slot, false, decision.error);
      return;
    }
    this.host.attemptRetrying(slot, context, valueOrError, decision.delayMs);
    slot.context = new RunContext(context.name, context.index, context.attempt + 1);
    slot.waiting = true;
    slot.retryTimer = this.scheduler.schedule(() => this.request(slot), decision.delayMs);
  }

  /** The attempt ran out of time: abort its signal with a TimeoutError, and fail the attempt with it. */
  private timedOut(slot: Slot): void {
    const context = slot.context;
    if (context === undefined || slot.waiting) return;
    const ms = this.policies.timeout as number;
    const error = new TimeoutError(
      `${context.name} timed out after ${ms} ms (attempt ${context.attempt})`,
      ms,
      context.name,
    );
    slot.timeoutEntry = undefined;
    context.abort(error);
    slot.inner?.unsubscribe();
    slot.inner = undefined;
    this.attemptEnded(slot, context, false, error);
  }
}
