import type { SchedulerLike } from 'rxjs';
import type { ResultCache, Shared } from '../cache/result-cache.js';
import { RunContext } from '../context.js';
import { dispatchOutput } from '../dispatch.js';
import { TimeoutError } from '../errors.js';
import type { ConcurrencyLimit } from '../policies/concurrency-limit.js';
import { activeHolds, Hold, runHolding } from '../policies/limit-scope.js';
import type { Policies } from '../policies/task-policies.js';
import { TimeoutQueue } from '../policies/timeout-queue.js';
import type { TaskFunction } from '../task-definition.js';
import { isPromiseLike, isStreamedOutput } from '../task-output.js';
import { scheduleAfter } from '../time.js';
import type { EngineSettings } from './engine-types.js';
import type { FunctionTracker } from './function-tracker.js';
import { asArguments } from './item-arguments.js';
import type { Slot } from './slot.js';

/** What the guard needs of the engine. @internal */
export interface GuardHost {
  readonly hasEnded: boolean;
  /** Counts the functions the run called until each has ended. */
  readonly calls: FunctionTracker;
  /** The item's last attempt ended (at `ended` on the run's clock, when read already): report it. */
  settle(slot: Slot, ok: boolean, valueOrError: unknown, ended?: number): void;
  /** The run's clock now, in milliseconds since it was made. */
  readClock(): number;
  /** True once the run's deadline has passed: nothing more starts. */
  pastDeadline(): boolean;
  /** An Observable task's value, for sinks that stream values (a TaskRun). */
  streamValue(value: unknown): void;
  /** True when the sink streams an Observable task's values as they come. */
  readonly streamsValues: boolean;
  /** User code of the run failed (an async hook rejected): the run fails with it while it still runs. */
  userFailed(error: unknown): false;
  /** Both report to listeners, and return false when that ended the run. */
  attemptStarted(slot: Slot, context: RunContext): boolean;
  attemptRetrying(slot: Slot, context: RunContext, error: unknown, delayMs: number): boolean;
  /** A function ran: whatever starts or ends next reads the clock afresh. */
  functionRan(): void;
  /** The run's clock, in the scheduler's milliseconds. */
  now(): number;
}

/**
 * The guarded path of the engine: runs each item as a series of attempts, each waiting for its concurrency permit
 * and its rate-limit turn, bounded by the per-attempt timeout (one shared timer for the map) and retried with
 * backoff. An attempt's outcome is matched to its own context, so a late answer from an attempt that timed out is
 * ignored.
 *
 * User code runs in the middle of this path (the task, the retry hooks, listeners, and, through a released permit,
 * other runs' code), and any of it may end the run. So after each such call the attempt checks that it is still the
 * slot's current attempt of a live run before it goes on: a retry is never scheduled for a run that has ended. @internal
 */
export class AttemptGuard {
  private readonly policies: Policies;
  private readonly scheduler: SchedulerLike;
  private readonly fn: TaskFunction<unknown[]>;
  private readonly spread: boolean;
  private readonly settings: EngineSettings;
  private readonly timeouts: TimeoutQueue<Slot> | undefined;
  /** The concurrency limit each attempt holds a permit of (its own, or its parent's, borrowed). */
  private readonly limit: ConcurrencyLimit | undefined;
  /** The limits the code that started this run holds: a child of theirs may borrow while they still hold them. */
  private readonly inherited: readonly Hold[];
  /** The parent's hold of this run's own limit, if the run was started inside a task that holds one. */
  private readonly parentHold: Hold | undefined;
  /** An async retry hook rejected later: the run fails with it, as with any user code of the run. */
  private readonly hookRejected = (error: unknown) => this.host.userFailed(error);
  /** Permits kept by functions the run stopped waiting for (a cancel, a timeout), until each ends. */
  private readonly abandonedHolds = new Map<RunContext, Hold>();

  constructor(
    settings: EngineSettings,
    private readonly host: GuardHost,
    /** Runs a continuation in the async context of the call that started the run. */
    private readonly resume: <R>(fn: () => R) => R,
  ) {
    this.settings = settings;
    this.policies = settings.policies;
    this.scheduler = settings.scheduler;
    this.fn = settings.fn;
    this.spread = settings.spread;
    const { timeout, concurrency } = this.policies;
    this.timeouts =
      timeout === undefined
        ? undefined
        : new TimeoutQueue<Slot>(timeout, this.scheduler, (slot) => this.timedOut(slot));
    this.limit = concurrency;
    const holding = activeHolds();
    this.inherited =
      holding.length > 0 || settings.createdHolding === undefined
        ? holding
        : settings.createdHolding.filter((hold) => hold.active);
    // The innermost hold of this limit: a borrower's own, whose children borrow from it in turn.
    this.parentHold =
      concurrency === undefined ? undefined : [...this.inherited].reverse().find((hold) => hold.limit === concurrency);
  }

  /** Starts the item in the slot: its first attempt, once the limits allow. */
  begin(slot: Slot): void {
    this.request(slot);
  }

  /**
   * The run stopped: drop the slot's pending turn, backoff and deadline (the engine aborts its context). A permit the
   * slot holds is kept: the engine gives permits back once every slot has let go of its turn.
   */
  withdraw(slot: Slot): void {
    slot.permitWaiter?.cancel();
    slot.permitWaiter = undefined;
    slot.waiter?.cancel();
    slot.waiter = undefined;
    slot.retryTimer?.unsubscribe();
    slot.retryTimer = undefined;
    if (slot.timeoutEntry !== undefined) this.timeouts?.clear(slot.timeoutEntry);
    slot.timeoutEntry = undefined;
  }

  stop(): void {
    this.timeouts?.stop();
  }

  /**
   * The run stopped waiting for the slot's attempt while its function still runs: the permit stays with the function
   * until it ends, so nothing else starts on it meanwhile.
   */
  keepPermitUntilEnded(slot: Slot, context: RunContext): void {
    if (slot.hold === undefined) return;
    this.abandonedHolds.set(context, slot.hold);
    slot.hold = undefined;
  }

  /** A function the run stopped waiting for has ended: the run hears of it, and its permit goes back. */
  private abandonedEnded(context: RunContext, ok: boolean, valueOrError: unknown): void {
    this.host.calls.ended(ok, valueOrError, context);
    const hold = this.abandonedHolds.get(context);
    if (hold === undefined) return;
    this.abandonedHolds.delete(context);
    hold.end();
  }

  /** Gives back the permit the slot's attempt took or borrowed. */
  releasePermit(slot: Slot): void {
    const hold = slot.hold;
    slot.hold = undefined;
    hold?.end();
  }

  /**
   * The next attempt: a concurrency permit first (its parent's, in turn with its siblings, while the parent holds
   * it; else the limit's own), then a rate-limit token, then the run.
   */
  private request(slot: Slot): void {
    slot.retryTimer = undefined;
    const limit = this.limit;
    if (limit === undefined) {
      this.requestToken(slot);
      return;
    }
    const parent = this.parentHold;
    if (parent !== undefined) {
      slot.waiting = true;
      slot.afterBorrow ??= (lent: boolean) =>
        this.resume(() => {
          slot.permitWaiter = undefined;
          if (!lent) {
            // The parent ended while this waited its turn: queue on the limit like anyone else.
            this.acquire(slot, limit);
            return;
          }
          slot.hold = new Hold(limit, () => parent.giveBack());
          this.granted(slot);
        });
      const borrowing = parent.borrow(slot.afterBorrow);
      if (borrowing !== false) {
        if (borrowing !== undefined) slot.permitWaiter = borrowing;
        return;
      }
    }
    this.acquire(slot, limit);
  }

  /** Queues for a permit of the limit itself. */
  private acquire(slot: Slot, limit: ConcurrencyLimit): void {
    if (limit.tryAcquire()) {
      // Granted now, in the run's own context: nothing to resume.
      slot.hold = new Hold(limit, () => limit.release());
      this.granted(slot);
      return;
    }
    slot.waiting = true;
    slot.afterPermit ??= () =>
      this.resume(() => {
        slot.permitWaiter = undefined;
        slot.hold = new Hold(limit, () => limit.release());
        this.granted(slot);
      });
    slot.permitWaiter = limit.acquire(slot.afterPermit);
  }

  /** A permit is held: on to the rate limit, unless the run ended meanwhile (then the permit goes straight back). */
  private granted(slot: Slot): void {
    if (slot.context === undefined || this.host.hasEnded) {
      this.releasePermit(slot);
      return;
    }
    this.requestToken(slot);
  }

  private requestToken(slot: Slot): void {
    const limiter = this.policies.limiter;
    if (limiter === undefined) {
      this.run(slot);
      return;
    }
    if (limiter.tryTake()) {
      this.run(slot);
      return;
    }
    slot.waiting = true;
    slot.startAttempt ??= () => this.resume(() => this.run(slot));
    slot.refuseAttempt ??= (reason) => this.resume(() => this.refused(slot, reason));
    slot.waiter = limiter.acquire(slot.startAttempt, slot.refuseAttempt);
  }

  /** The rate limiter was disposed while the attempt waited for its token: the item fails, its function unrun. */
  private refused(slot: Slot, reason: unknown): void {
    slot.waiter = undefined;
    if (slot.context === undefined || this.host.hasEnded) return;
    this.releasePermit(slot);
    if (slot.context === undefined || this.host.hasEnded) return;
    slot.item = undefined;
    slot.waiting = false;
    // The attempt that waited never ran: the item made only the attempts before it (none, if it was the first).
    slot.context.attempt -= 1;
    this.host.settle(slot, false, reason);
  }

  private run(slot: Slot): void {
    slot.waiter = undefined;
    const context = slot.context;
    if (context === undefined || this.host.hasEnded) return;
    // Still waiting while `started` is reported: a listener that cancels there leaves the function unrun.
    if (!this.host.attemptStarted(slot, context) || slot.context !== context) return;
    // Nothing starts past the run's deadline: the item waits, and is reported as never started.
    if (this.host.pastDeadline()) return;
    slot.waiting = false;
    if (this.timeouts !== undefined) slot.timeoutEntry = this.timeouts.add(slot, this.host.now());
    let output: unknown;
    try {
      const holds = slot.hold === undefined ? this.inherited : [...this.inherited, slot.hold];
      const callFunction = () =>
        holds.length === 0 ? this.call(slot, context) : runHolding(holds, () => this.call(slot, context));
      output =
        slot.cacheKey === undefined
          ? callFunction()
          : this.cachedCall(slot.cacheKey, callFunction, () => this.current(slot, context));
      this.host.functionRan();
    } catch (error) {
      this.host.functionRan();
      this.attemptEnded(slot, context, false, error);
      return;
    }
    const host = this.host;
    const inner = dispatchOutput(
      output,
      (value) => this.attemptEnded(slot, context, true, value),
      (error) => this.attemptEnded(slot, context, false, error),
      host.streamsValues
        ? (value) => {
            if (slot.context === context) host.streamValue(value);
          }
        : undefined,
      context,
    );
    if (inner === undefined) return;
    if (slot.context === context && !slot.attemptOver) {
      slot.inner = inner;
      return;
    }
    // The run ended, or moved on, while the Observable was subscribed: nobody else will unsubscribe it.
    inner.unsubscribe();
    if (context.abandoned) this.abandonedEnded(context, true, undefined);
  }

  /**
   * One attempt of a cached item: it shares the outcome of an attempt computing the same key now (whose failure is
   * then this attempt's, to retry or time out by its own policy), or computes it and shares it. An Observable's values
   * are not shared: whoever waited looks again.
   */
  private cachedCall(key: string, callFunction: () => unknown, current: () => boolean): unknown {
    const cache = this.settings.cache as ResultCache;
    if (!cache.computing(key)) {
      // The result may have landed while this attempt waited for its permit or token: look again before computing.
      const found = cache.find(key);
      if (!(found instanceof Promise)) {
        if (found.kind === 'hit') return found.value;
      } else {
        return found.then((later) =>
          this.resume(() => {
            if (later.kind === 'hit') return later.value;
            return current() ? this.claimAndCall(key, callFunction, current) : undefined;
          }),
        );
      }
    }
    return this.claimAndCall(key, callFunction, current);
  }

  /** Waits for the attempt computing `key` now, or computes it and shares the outcome. */
  private claimAndCall(key: string, callFunction: () => unknown, current: () => boolean): unknown {
    const cache = this.settings.cache as ResultCache;
    const claim = cache.claim(key);
    if (claim.kind === 'joined') return this.joined(key, claim.outcome, callFunction, current);
    // An attempt that was cancelled or timed out shares nothing: whoever waited computes the key instead.
    const share = (ok: boolean, valueOrError: unknown) => claim.finish(current() ? { ok, valueOrError } : undefined);
    let output: unknown;
    try {
      output = callFunction();
    } catch (error) {
      share(false, error);
      throw error;
    }
    if (isStreamedOutput(output)) {
      claim.finish(undefined);
      return output;
    }
    return Promise.resolve(output).then(
      (value) => {
        // Stored before it is shared and before the permit goes back, so a same-key call that gets the permit next
        // finds it. A value the store cannot hold is the run's failure (reported as the item settles).
        if (current() && cache.storable(value)) {
          const written = cache.save(key, value);
          if (isPromiseLike(written)) Promise.resolve(written).then(undefined, this.hookRejected);
        }
        share(true, value);
        return value;
      },
      (error: unknown) => {
        share(false, error);
        throw error;
      },
    );
  }

  /** This attempt shares the outcome of the one computing `key` now. */
  private joined(
    key: string,
    outcome: Promise<Shared | undefined>,
    callFunction: () => unknown,
    current: () => boolean,
  ): Promise<unknown> {
    return outcome.then((shared) =>
      this.resume(() => {
        if (shared !== undefined) {
          if (shared.ok) return shared.valueOrError;
          throw shared.valueOrError;
        }
        // The attempt waited for stopped without an outcome: compute the key here, unless this one stopped too.
        return current() ? this.cachedCall(key, callFunction, current) : undefined;
      }),
    );
  }

  private call(slot: Slot, context: RunContext): unknown {
    return this.spread ? this.fn.apply(context, asArguments(slot.item)) : this.fn.call(context, slot.item);
  }

  /** True while `context` is the slot's current attempt of a live run: user code may have ended either. */
  private current(slot: Slot, context: RunContext): boolean {
    return slot.context === context && !this.host.hasEnded;
  }

  /** One attempt ended: report the item, or schedule its next attempt. Stale attempts are ignored. */
  private attemptEnded(slot: Slot, context: RunContext, ok: boolean, valueOrError: unknown): void {
    if (context.abandoned) {
      // The run (or the attempt's timeout) stopped waiting for this function; it has ended now.
      this.abandonedEnded(context, ok, valueOrError);
      return;
    }
    this.attemptOver(slot, context, ok, valueOrError);
  }

  /** The attempt is over (its function ended, or its timeout fired): report the item, or schedule a retry. */
  private attemptOver(slot: Slot, context: RunContext, ok: boolean, valueOrError: unknown): void {
    if (!this.current(slot, context) || slot.waiting || slot.attemptOver) return;
    slot.attemptOver = true;
    if (slot.timeoutEntry !== undefined) this.timeouts?.clear(slot.timeoutEntry);
    slot.timeoutEntry = undefined;
    slot.inner = undefined;
    // Read before the permit goes back, which can run another task at once (and that may end this run).
    const ended = this.host.readClock();
    this.releasePermit(slot);
    if (!this.current(slot, context)) return;
    const retry = this.policies.retry;
    // Past the run's deadline no retry could start: the attempt's own outcome is the item's.
    if (ok || retry === undefined || this.host.pastDeadline()) {
      slot.item = undefined;
      this.host.settle(slot, ok, valueOrError, ended);
      return;
    }
    // The retry hooks are user code: they may cancel the run, or throw (which ends the retries with that error).
    this.host.functionRan();
    const decision = retry.decide(valueOrError, context.attempt, this.hookRejected);
    if (!this.current(slot, context)) return;
    if (decision.serverWaitMs !== undefined) this.policies.limiter?.pause(decision.serverWaitMs);
    if (!decision.retry) {
      slot.item = undefined;
      this.host.settle(slot, false, decision.error);
      return;
    }
    if (!this.host.attemptRetrying(slot, context, valueOrError, decision.delayMs)) return;
    if (!this.current(slot, context)) return;
    slot.context = new RunContext(context.name, context.index, context.attempt + 1);
    slot.attemptOver = false;
    slot.waiting = true;
    if (decision.delayMs <= 0) this.request(slot);
    else slot.retryTimer = scheduleAfter(this.scheduler, decision.delayMs, () => this.resume(() => this.request(slot)));
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
    context.timedOut = true;
    context.abort(error);
    const inner = slot.inner;
    slot.inner = undefined;
    try {
      inner?.unsubscribe();
    } catch {
      // The attempt has timed out whatever its teardown does.
    }
    if (inner === undefined) {
      // A Promise the attempt returned settles later: until then its function runs on, on its permit.
      this.keepPermitUntilEnded(slot, context);
      this.host.calls.abandon(context);
    }
    this.attemptOver(slot, context, false, error);
  }
}
