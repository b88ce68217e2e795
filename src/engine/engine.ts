import { captureContext } from '../async-context.js';
import type { Lookup, ResultCache } from '../cache/result-cache.js';
import { assertSynchronousResult, watchCallbackResult } from '../callback-result.js';
import { CheckpointFile } from '../checkpoint/checkpoint-file.js';
import { type Restored, type RunCheckpoint, StoreCheckpoint } from '../checkpoint/store-checkpoint.js';
import { RunContext } from '../context.js';
import { dispatchOutput } from '../dispatch.js';
import { CheckpointError } from '../errors.js';
import { onEnclosingGroupCancel } from '../futures/group-scope.js';
import { type ItemResult, itemResult } from '../item-result.js';
import { hasPolicies } from '../policies/task-policies.js';
import type { TaskFunction } from '../task-definition.js';
import { isPromiseLike } from '../task-output.js';
import { scheduleAfter } from '../time.js';
import { describe } from '../validate.js';
import { AttemptGuard, type GuardHost } from './attempt-guard.js';
import type { EngineSettings, EngineSink } from './engine-types.js';
import { FunctionTracker } from './function-tracker.js';
import { asArguments } from './item-arguments.js';
import { STREAMED } from './observable-outcome.js';
import type { RunReporter } from './run-reporter.js';
import { RunState } from './run-state.js';
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
export class ParallelEngine extends RunState implements SlotOwner, GuardHost {
  // The settings the hot path reads, copied into fields of their own.
  private readonly fn: TaskFunction<unknown[]>;
  private readonly spread: boolean;
  private readonly concurrency: number;
  private readonly window: number;
  private readonly maxErrors: number;
  private readonly selfDelivering: boolean;
  private readonly awaitItems: boolean;
  private readonly itemKey: ((item: unknown) => unknown) | undefined;
  private readonly cache: ResultCache | undefined;
  /** `onResult`, when this execution is the one behind `await` (whose results are collected). */
  private readonly onResult: ((result: ItemResult<unknown>) => unknown) | undefined;
  /** The deadline on the engine's clock, checked at each admission; `Infinity` for none. */
  private readonly deadlineAt: number;
  readonly streamsValues: boolean;
  /** True for a bare run, where no user code runs between an item's end and the next start (see `RunClock`). */
  private readonly sharesClock: boolean;
  private readonly freeSlots: Slot[] = [];
  /** Runs a continuation in the async context of the call that started the run. */
  private readonly resume = captureContext();
  private delivered = 0;
  private sourceDone = false;
  private pumping = false;
  private deadlinePassed = false;
  private pumpAgain = false;
  private readonly wake = () => this.pump();
  private readonly failRun = (error: unknown) => this.fail(error);
  private readonly forwardValue = (value: unknown) => this.sink.value?.(value);

  constructor(
    settings: EngineSettings,
    source: ItemSource<unknown>,
    sink: EngineSink,
    calls: FunctionTracker = new FunctionTracker(),
  ) {
    super(settings, source, sink, calls);
    this.fn = settings.fn;
    this.spread = settings.spread;
    this.concurrency = settings.concurrency;
    this.window = settings.window;
    this.maxErrors = settings.maxErrors;
    this.selfDelivering = !sink.acknowledges;
    this.awaitItems = settings.awaitItems;
    this.itemKey = settings.itemKey;
    this.cache = settings.cache;
    this.onResult = sink.collects === true ? settings.onResult : undefined;
    this.deadlineAt = settings.deadline ?? Number.POSITIVE_INFINITY;
    this.streamsValues = sink.streamsValues === true;
    this.sharesClock =
      settings.shareClock &&
      sink.deliversSynchronously !== true &&
      source.pure === true &&
      this.onResult === undefined &&
      this.reporter === undefined &&
      settings.onProgress === undefined &&
      settings.itemKey === undefined &&
      settings.cache === undefined &&
      settings.checkpoint === undefined;
    // A cache's same-key sharing happens as each attempt starts: the guarded path.
    this.guard =
      hasPolicies(settings.policies) || settings.cache !== undefined
        ? new AttemptGuard(settings, this, this.resume)
        : undefined;
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
    // A map started inside a task group's body or child is cancelled when the group cancels. (A call links itself.)
    if (this.indexed) {
      this.unlinkGroup = onEnclosingGroupCancel((reason) => this.cancel(reason), this.settings.madeInGroup, this.calls);
      if (this.ended) return;
    }
    const plan = this.settings.checkpoint;
    if (plan !== undefined) {
      try {
        this.checkpoint =
          typeof plan.path === 'string'
            ? CheckpointFile.open(plan.path, plan.identity, plan.version, this.settings.name)
            : new StoreCheckpoint(plan.path, plan.identity, plan.version, this.settings.name, (written) => {
                // An awaited map resolves only once its records are written; a failed write fails the run.
                Promise.resolve(written).then(undefined, this.asyncUserFailed);
                this.sink.hold?.(written);
              });
      } catch (error) {
        this.fail(error);
        return;
      }
    }
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

  /** Admits items while a slot is free, the window allows, the deadline has not passed and the source has one ready. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    do {
      this.pumpAgain = false;
      while (
        !this.ended &&
        !this.deadlinePassed &&
        this.running < this.concurrency &&
        this.admitted - this.delivered < this.window
      ) {
        if (this.deadlineAt !== Number.POSITIVE_INFINITY && this.pastDeadline()) break;
        const item = this.source.pull();
        // Pulling runs the input's own code, which may have ended the run.
        if (item === PENDING || this.ended) break;
        if (item === EXHAUSTED) {
          this.sourceDone = true;
          break;
        }
        this.startItem(item, this.admitted++);
      }
      if (this.sourceDone && this.running === 0) this.finish('completed');
    } while (this.pumpAgain && !this.ended);
    this.pumping = false;
    // The step is over: user code runs before the next one.
    this.clock.unshare();
  }

  /**
   * True once the deadline has passed: nothing more starts (an item admitted meanwhile waits, and is reported as never
   * started), and the deadline's timer ends the run as `'timed_out'` once what was due before it has been heard.
   */
  pastDeadline(): boolean {
    if (this.deadlinePassed) return true;
    if (this.deadlineAt === Number.POSITIVE_INFINITY || this.clock.now() < this.deadlineAt) return false;
    // The deadline's timer ends the run: timers fire in order, so an outcome due before the deadline is heard first.
    this.deadlinePassed = true;
    return true;
  }

  private startItem(item: unknown, index: number): void {
    const slot = this.freeSlots.pop() ?? this.newSlot();
    const context = new RunContext(this.settings.name, this.indexed ? index : undefined, 1);
    slot.context = context;
    // Waiting until its function is called: a cancel before then reports it as never started.
    slot.waiting = true;
    this.running += 1;
    // Checked again once the input's `next()` has run: nothing starts past the deadline.
    if (this.deadlineAt !== Number.POSITIVE_INFINITY && this.pastDeadline()) return;
    if (this.reporter !== undefined) {
      if (!this.report('queued', slot, context, item)) return;
    } else if (this.settings.namesByFunction && !this.nameRun(slot, item)) return;
    // After the `queued` listeners: their time is not the item's. With listeners, the reading is shared with the
    // `started` event that follows, unless user code (a key, a store, a dependency) runs between.
    slot.startedAt = this.reporter === undefined ? this.clock.now() : this.clock.share();
    if (this.itemKey !== undefined && !this.readKey(slot, item)) return;
    if (this.checkpoint !== undefined && this.restoredFromCheckpoint(slot, context, item, index)) return;
    this.proceed(slot, context, item);
    // Whatever the item waits for now (a permit, a token, its dependencies), it is taken up later: read afresh then.
    if (this.reporter !== undefined) this.clock.unshare();
  }

  /** The item goes on to its function: after its dependencies, or a Promise item, settle. */
  private proceed(slot: Slot, context: RunContext, item: unknown): void {
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

  /** A key a user's function gave (`itemKey`, `checkpointKey`): a string or a finite number, else a TypeError. */
  private checkedKey(option: string, key: unknown): string | number {
    if (typeof key === 'string' || (typeof key === 'number' && Number.isFinite(key))) return key;
    assertSynchronousResult(this.settings.name, option, key);
    throw new TypeError(
      `${this.settings.name}: \`${option}\` must return a string or a finite number, got ${describe(key)}`,
    );
  }

  /** Reads the item's `itemKey`; false when it threw or gave no string or number, which fails the run. */
  private readKey(slot: Slot, item: unknown): boolean {
    this.clock.unshare();
    try {
      slot.key = this.checkedKey('itemKey', (this.itemKey as (item: unknown) => unknown)(item));
    } catch (error) {
      return this.userFailed(error);
    }
    return !this.ended;
  }

  /**
   * Looks the item up in the checkpoint: an item an earlier run finished is reported with its recorded value and
   * `attempts: 0`, without running (true). A key function that throws, or gives no string or number, fails the run.
   */
  private restoredFromCheckpoint(slot: Slot, context: RunContext, item: unknown, index: number): boolean {
    const keyOf = this.settings.checkpoint?.key;
    this.clock.unshare();
    let key: string | number = index;
    try {
      if (keyOf !== undefined) key = this.checkedKey('checkpointKey', keyOf(item));
    } catch (error) {
      this.userFailed(error);
      return true;
    }
    if (this.ended) return true;
    const checkpoint = this.checkpoint as RunCheckpoint;
    if (checkpoint.seen.has(key)) {
      this.userFailed(
        new CheckpointError(
          `${this.settings.name}: two items have the checkpoint key ${JSON.stringify(key)}; \`checkpointKey\` must tell items apart`,
        ),
      );
      return true;
    }
    checkpoint.seen.add(key);
    let found: Restored | Promise<Restored>;
    try {
      found = checkpoint.lookUp(key);
    } catch (error) {
      this.settle(slot, false, error);
      return true;
    }
    if (!(found instanceof Promise)) return this.afterCheckpoint(slot, context, item, key, found, false);
    // A store answers later: the item waits in its slot (a cancel meanwhile reports it as never started).
    slot.waiting = true;
    found.then(
      (restored) => this.resume(() => this.afterCheckpoint(slot, context, item, key, restored, true)),
      // A checkpoint that cannot be read fails the run, as a bad checkpoint file does at its start.
      (error: unknown) => this.resume(() => this.userFailed(error)),
    );
    return true;
  }

  /** What the checkpoint said: an item done before is reported with its value; else it runs (and is recorded). */
  private afterCheckpoint(
    slot: Slot,
    context: RunContext,
    item: unknown,
    key: string | number,
    restored: Restored,
    later: boolean,
  ): boolean {
    if (later && (slot.context !== context || this.ended)) return true;
    if (!restored.done) {
      slot.checkpointKey = key;
      if (later) this.proceed(slot, context, item);
      return later;
    }
    slot.restored = true;
    slot.waiting = false;
    context.attempt = 0;
    this.settle(slot, true, restored.value);
    return true;
  }

  /** Runs the item's function: through the guard when there are policies, else on the fast path. */
  private invoke(slot: Slot, context: RunContext, item: unknown): void {
    if (this.cache !== undefined && !slot.cacheMissed) {
      this.lookUpCache(slot, context, item);
      return;
    }
    if (this.guard !== undefined) {
      slot.item = item;
      this.guard.begin(slot);
      return;
    }
    // Still waiting while `started` is reported: a listener that cancels there leaves the function unrun.
    if (this.reporter !== undefined && !this.report('started', slot, context, undefined)) return;
    // Listeners, keys and dependencies ran since admission: the deadline may have passed meanwhile.
    if (this.deadlineAt !== Number.POSITIVE_INFINITY && this.pastDeadline()) return;
    slot.waiting = false;
    let output: unknown;
    try {
      output = this.spread ? this.fn.apply(context, asArguments(item)) : this.fn.call(context, item);
      // The fast path: one `then` with the slot's own callbacks. (`instanceof` throws for a revoked Proxy.)
      // The function ran: whatever starts or ends next reads the clock afresh.
      this.clock.unshare();
      if (output instanceof Promise) {
        output.then(slot.onValue, slot.onError);
        return;
      }
    } catch (error) {
      this.clock.unshare();
      this.settle(slot, false, error);
      return;
    }
    const inner = dispatchOutput(
      output,
      slot.onValue,
      slot.onError,
      this.streamsValues ? this.forwardValue : undefined,
      context,
    );
    if (inner === undefined) return;
    if (slot.context === context) {
      slot.inner = inner;
      return;
    }
    // The run ended while the function ran or its Observable was subscribed: nobody else will unsubscribe it.
    inner.unsubscribe();
    if (slot.abandoned === context) this.abandonedEnded(slot, true, undefined);
  }

  /** A function the run left running has ended (its outcome came after the run's end). */
  private abandonedEnded(slot: Slot, ok: boolean, valueOrError: unknown): void {
    const context = slot.abandoned as RunContext;
    slot.abandoned = undefined;
    this.calls.ended(ok, valueOrError, context);
  }

  /**
   * Looks the item's key up in the result cache before anything else (a hit takes no permit and no token): a hit, or
   * the outcome of another call with the same key, is the item's outcome with `attempts: 0`; a miss runs it. A key no
   * argument can make, or a store that fails to read, fails the item.
   */
  private lookUpCache(slot: Slot, context: RunContext, item: unknown): void {
    const cache = this.cache as ResultCache;
    this.clock.unshare();
    let key: string;
    try {
      key = cache.keyOf(this.spread ? asArguments(item) : [item]);
    } catch (error) {
      slot.waiting = false;
      this.settle(slot, false, error);
      return;
    }
    slot.waiting = true;
    let lookup: Lookup | Promise<Lookup>;
    try {
      lookup = cache.find(key);
    } catch (error) {
      slot.waiting = false;
      this.settle(slot, false, error);
      return;
    }
    if (!(lookup instanceof Promise)) {
      this.afterLookUp(slot, context, item, key, lookup);
      return;
    }
    lookup.then(
      (found) => this.resume(() => this.afterLookUp(slot, context, item, key, found)),
      (error: unknown) =>
        this.resume(() => {
          if (slot.context !== context || this.ended) return;
          slot.waiting = false;
          this.settle(slot, false, error);
        }),
    );
  }

  /** What the store said: a hit is the item's outcome; a miss runs it (its attempts share with same-key ones). */
  private afterLookUp(slot: Slot, context: RunContext, item: unknown, key: string, lookup: Lookup): void {
    if (slot.context !== context || this.ended) return;
    if (lookup.kind === 'miss') {
      slot.cacheKey = key;
      slot.cacheMissed = true;
      this.invoke(slot, context, item);
      return;
    }
    slot.cached = true;
    slot.waiting = false;
    context.attempt = 0;
    this.settle(slot, true, lookup.value);
  }

  /**
   * An item that is a Promise, or holds futures or runs among its arguments, waits for them in its slot before its
   * function runs; a rejection fails that item alone.
   */
  private awaitItem(slot: Slot, context: RunContext, item: unknown, wait: 'dependencies' | 'thenable'): void {
    // Waiting runs user code (a lazy run's function, a thenable's `then`): later readings are fresh.
    this.clock.unshare();
    slot.waiting = true;
    const ready = (resolved: unknown) => {
      if (slot.context !== context || this.ended) return;
      slot.inner = undefined;
      this.invoke(slot, context, resolved);
    };
    const failed = (error: unknown) => {
      if (slot.context !== context || this.ended) return;
      slot.waiting = false;
      slot.inner = undefined;
      this.settle(slot, false, error);
    };
    // Whatever settles the dependency, the item goes on in its caller's async context.
    const resumeReady = (resolved: unknown) => this.resume(() => ready(resolved));
    const resumeFailed = (error: unknown) => this.resume(() => failed(error));
    if (wait === 'thenable') {
      Promise.resolve(item).then(resumeReady, resumeFailed);
      return;
    }
    const waiting = this.settings.dependencies?.resolve(item, resumeReady, resumeFailed, this.calls);
    if (slot.context === context && slot.waiting) slot.inner = waiting;
  }

  private newSlot(): Slot {
    const slot = new Slot(this);
    this.slots.push(slot);
    return slot;
  }

  /** A slot's task ended. Ignored once the run is over: its outcome was already reported as cancelled. */
  settle(slot: Slot, ok: boolean, valueOrError: unknown, ended?: number): void {
    const context = slot.context;
    if (this.ended || context === undefined) {
      if (slot.abandoned !== undefined) this.abandonedEnded(slot, ok, valueOrError);
      return;
    }
    slot.context = undefined;
    slot.inner = undefined;
    slot.waiting = false;
    slot.attemptOver = false;
    const restored = slot.restored;
    slot.restored = false;
    const cached = slot.cached;
    slot.cached = false;
    slot.cacheMissed = false;
    const cacheKey = slot.cacheKey;
    slot.cacheKey = undefined;
    const checkpointKey = slot.checkpointKey;
    slot.checkpointKey = undefined;
    this.freeSlots.push(slot);
    this.running -= 1;
    // Read afresh (its function has just settled), unless the guard read it as the attempt ended.
    const endedAt = ended ?? (this.sharesClock ? this.clock.share() : this.clock.now());
    // (A reading the guard took in a bare run is still shared: only engine code ran since.)
    const durationMs = endedAt - slot.startedAt;
    const index = this.indexOf(context);
    this.settled += 1;
    if (!ok) this.failures += 1;
    // The result first: a listener told of it below may cancel the run, and the item has finished all the same.
    this.sink.result(index, ok, valueOrError, context.attempt, durationMs, slot.key);
    if (this.selfDelivering) this.delivered += 1;
    if (this.ended) return;
    // An Observable task's values streamed past: there is no one value to keep.
    if (ok && cacheKey !== undefined && valueOrError !== STREAMED) {
      const cache = this.cache as ResultCache;
      try {
        // Stored as the attempt that computed it ended; what the store cannot hold fails the run here.
        cache.assertStorable(valueOrError);
      } catch (error) {
        this.userFailed(error);
        return;
      }
    }
    if (ok && checkpointKey !== undefined && this.checkpoint !== undefined) {
      try {
        this.checkpoint.record(checkpointKey, valueOrError);
      } catch (error) {
        this.userFailed(error);
        return;
      }
    }
    if (this.onResult !== undefined) {
      try {
        const result = itemResult(index, ok, valueOrError, context.attempt, durationMs, slot.key);
        const returned = this.onResult(result);
        if (isPromiseLike(returned)) {
          watchCallbackResult(returned, this.asyncUserFailed);
          this.sink.hold?.(returned);
        }
      } catch (error) {
        this.userFailed(error);
        return;
      }
      if (this.ended) return;
    }
    if (this.reporter !== undefined) {
      try {
        if (restored) this.reporter.restored(slot.runName, context.index);
        else if (cached) this.reporter.cached(slot.runName, context.index);
        else {
          const type = ok ? 'succeeded' : 'failed';
          const time = this.clock.epoch(endedAt);
          this.reporter.end(type, slot.runName, context.index, context.attempt, valueOrError, durationMs, time);
        }
      } catch (error) {
        this.userFailed(error);
        return;
      }
      if (this.ended) return;
    }
    this.afterResult(index, ok, endedAt);
    this.pump();
  }

  /** The run's clock, in the scheduler's milliseconds: shared with what happened in this step, when nothing ran since. */
  now(): number {
    return this.clock.time();
  }

  /** The run's clock now, in milliseconds since it was made: an attempt's end, read before its permit goes back. */
  readClock(): number {
    // In a bare run, shared with the next start in this step, as `settle` shares its own reading.
    return this.sharesClock ? this.clock.share() : this.clock.now();
  }

  functionRan(): void {
    this.clock.unshare();
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

  /** Names the item's run with the user's `runName` function, with nobody listening; false when it threw. */
  private nameRun(slot: Slot, item: unknown): boolean {
    try {
      slot.runName = this.settings.runName(item);
    } catch (error) {
      return this.userFailed(error);
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
    } finally {
      // The listeners ran: later readings are fresh.
      this.clock.unshare();
    }
    return !this.ended;
  }

  /** Reports progress after a result, and stops the run at `maxErrors`. */
  private afterResult(index: number, ok: boolean, endedAt: number): void {
    const onProgress = this.settings.onProgress;
    if (onProgress !== undefined || this.reporter !== undefined) {
      const total = this.source.size ?? this.admitted + this.source.remaining();
      try {
        watchCallbackResult(onProgress?.(this.settled, total), this.asyncUserFailed);
        // A single call is no map: it reports no progress, whatever path it takes.
        if (!this.ended && this.indexed) this.reporter?.progress(this.settled, total, this.clock.epoch(endedAt));
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
}
