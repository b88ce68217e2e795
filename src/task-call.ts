import type { Subscriber, TeardownLogic, Unsubscribable } from 'rxjs';
import { RunContext } from './context.js';
import { abandonCall, dispatchOutput, followOutput } from './dispatch.js';
import { ParallelEngine } from './engine/engine.js';
import type { EngineSettings } from './engine/engine-types.js';
import { FunctionTracker } from './engine/function-tracker.js';
import { STREAMED } from './engine/observable-outcome.js';
import { RunReporter } from './engine/run-reporter.js';
import { ArraySource } from './engine/sources.js';
import { TaskRunSink } from './engine/task-run-sink.js';
import { cancellationReason } from './errors.js';
import { EventTargets, eventsObserved } from './events.js';
import { hasDependencies, resolveDependencies } from './futures/dependencies.js';
import { currentGroupSignal, onEnclosingGroupCancel } from './futures/group-scope.js';
import type { Hold } from './policies/limit-scope.js';
import { hasPolicies } from './policies/task-policies.js';
import { formatRunName, runNamer } from './run-name.js';
import type { TaskDefinition } from './task-definition.js';
import { type AwaitedExecution, TaskRun } from './task-run.js';
import { defaultScheduler } from './time.js';
import { attemptOf, noteTaskName, stopReasonOf } from './upstream-subscriber.js';

/** A call of a task with its arguments: the TaskRun that calling a task returns. @internal */
export class CallRun extends TaskRun<unknown> {
  constructor(
    private readonly definition: TaskDefinition,
    private readonly args: unknown[],
    /** The limits held by the code that made the run, where there is no async context to carry them. */
    private readonly createdHolding: readonly Hold[] | undefined,
    /** The signal of the task group the run was made in. */
    private readonly madeInGroup: AbortSignal | undefined,
  ) {
    super(definition.name);
  }

  protected execute(subscriber: Subscriber<unknown>, calls?: FunctionTracker): TeardownLogic {
    subscribeCall(this.definition, this.args, subscriber, undefined, calls, this.createdHolding, this.madeInGroup);
  }

  protected override awaitDirectly(): AwaitedExecution<unknown> | undefined {
    return isPlainCall(this.definition, this.args, this.madeInGroup)
      ? new DirectExecution(this.definition, this.args)
      : undefined;
  }
}

/**
 * True when a call can run its function directly, with nothing around it: no policy, cache, listener, `waitFor`,
 * enclosing task group or dependency among its arguments. @internal
 */
export function isPlainCall(
  definition: TaskDefinition,
  args: unknown[],
  madeInGroup: AbortSignal | undefined,
): boolean {
  return (
    definition.plain &&
    madeInGroup === undefined &&
    !eventsObserved() &&
    currentGroupSignal() === undefined &&
    !hasDependencies(args)
  );
}

/**
 * `await` of a call that nothing else watches: the function runs at once and its Promise settles the await, with no
 * Observable or subscriber in between. What a cancel needs (the abort, waiting for the function) is made only then.
 */
class DirectExecution implements AwaitedExecution<unknown> {
  readonly promise: Promise<unknown>;
  private readonly context: RunContext;
  private rejectAwait: (reason: unknown) => void = ignore;
  /** What the function's outcome comes from: a Promise to wait for, or an Observable's subscription. */
  private outcome: Promise<unknown> | Unsubscribable | undefined = undefined;
  private calls: FunctionTracker | undefined = undefined;

  constructor(definition: TaskDefinition, args: unknown[]) {
    const context = new RunContext(definition.name, undefined, 1);
    this.context = context;
    this.promise = new Promise((resolve, reject) => {
      this.rejectAwait = reject;
      try {
        this.outcome = followOutput(definition.fn.apply(context, args), resolve, reject, context);
      } catch (error) {
        reject(error);
      }
    });
  }

  cancel(reason: unknown): void {
    if (this.calls !== undefined) return;
    this.calls = abandonCall(this.context, this.outcome, reason);
    this.rejectAwait(reason);
  }

  whenIdle(callback: () => void): void {
    if (this.calls === undefined) callback();
    else this.calls.whenIdle(callback);
  }
}

const ignore = () => {};

/**
 * One call of a task: waits for the futures and TaskRuns among its arguments and in `waitFor`, then runs the
 * function, directly or (with retry, timeout or limits) through the engine. `onStart` marks a future as running;
 * `calls` follows the functions the call leaves running when it is cancelled, for those who must outlive them.
 * @internal
 */
export function subscribeCall(
  definition: TaskDefinition,
  args: unknown[],
  subscriber: Subscriber<unknown>,
  onStart: (() => void) | undefined,
  calls: FunctionTracker = new FunctionTracker(),
  createdHolding: readonly Hold[] | undefined = undefined,
  madeInGroup: AbortSignal | undefined = undefined,
): void {
  // Made or started inside a task group's body or child: the group cancelling cancels this call too.
  const unlink = onEnclosingGroupCancel((reason) => subscriber.error(reason), madeInGroup, calls);
  if (unlink !== undefined) subscriber.add(unlink);
  // An operator downstream (retryBackoff) may have given this subscription its attempt number.
  const { attempt, index } = attemptOf(subscriber);
  noteTaskName(subscriber, definition.name);
  let started = false;
  const start = (resolved: unknown[]) => {
    started = true;
    onStart?.();
    if (!subscriber.closed) {
      try {
        // A call with retry, timeout, limits or a cache runs through the engine, which has them all.
        const teardown =
          hasPolicies(definition.policies) || definition.cache !== undefined
            ? subscribeGuardedCall(definition, resolved, subscriber, calls, createdHolding)
            : subscribeDirectCall(definition, resolved, subscriber, attempt, index, calls);
        subscriber.add(teardown);
      } catch (error) {
        // A listener or `runName` that throws before the function runs fails the call, even after a dependency.
        subscriber.error(error);
      }
    }
    // Once the call is over it calls no function any more; added after its teardown, which counts what it leaves running.
    subscriber.add(() => calls.close());
  };
  const waitFor = definition.options.waitFor ?? [];
  if (waitFor.length === 0 && !hasDependencies(args)) {
    start(args);
    return;
  }
  const waiting = resolveDependencies(args, waitFor, start, (error) => subscriber.error(error), calls);
  subscriber.add(() => {
    waiting.unsubscribe();
    if (!started) calls.close();
  });
}

/** The engine settings of one call with policies: a map of one item, its arguments spread, no index. @internal */
export function callSettings(
  definition: TaskDefinition,
  createdHolding: readonly Hold[] | undefined = undefined,
): EngineSettings {
  return {
    fn: definition.fn,
    name: definition.name,
    spread: true,
    concurrency: 1,
    window: 1,
    maxErrors: Number.POSITIVE_INFINITY,
    onProgress: undefined,
    deadline: undefined,
    signal: undefined,
    scheduler: defaultScheduler,
    shareClock: false,
    policies: definition.policies,
    indexed: false,
    onEvent: definition.options.onEvent,
    runEvents: undefined,
    runName: runNamer(definition, true),
    namesByFunction: typeof definition.options.runName === 'function',
    // A call's arguments were resolved before it got here.
    dependencies: undefined,
    awaitItems: false,
    createdHolding,
    // A call links itself to its group (in `subscribeCall`).
    madeInGroup: undefined,
    itemKey: undefined,
    onResult: undefined,
    checkpoint: undefined,
    cache: definition.cache,
  };
}

/**
 * One call with retry, timeout or limits: the engine runs it as a map of one item, so calls and maps share one
 * implementation of the policies. Values of an Observable task stream through as they come (a retried attempt
 * streams again from its start, as RxJS's `retry` does).
 */
function subscribeGuardedCall(
  definition: TaskDefinition,
  args: unknown[],
  subscriber: Subscriber<unknown>,
  calls: FunctionTracker,
  createdHolding: readonly Hold[] | undefined,
): () => void {
  const sink = new TaskRunSink(subscriber);
  const settings = callSettings(definition, createdHolding);
  const engine = new ParallelEngine(settings, new ArraySource([args]), sink, calls);
  engine.start();
  return () => engine.dispose(stopReasonOf(subscriber, cancellationReason));
}

/**
 * One call without policies: the function runs at once in its own context, aborted only if the subscriber leaves
 * before the output settles. A listener that throws fails the call with its error.
 */
function subscribeDirectCall(
  definition: TaskDefinition,
  args: unknown[],
  subscriber: Subscriber<unknown>,
  attempt: number,
  index: number | undefined,
  calls: FunctionTracker,
): () => void {
  const context = new RunContext(definition.name, index, attempt);
  const targets = EventTargets.of(undefined, definition.options.onEvent);
  let reporter: CallReporter | undefined;
  if (targets !== undefined) {
    // An async listener that rejects later fails the call if it is still going.
    targets.onAsyncError = (error) => subscriber.error(error);
    // A throw here (a `runName` function, a listener) errors the subscriber before the function runs.
    reporter = new CallReporter(targets, definition, args, attempt);
    reporter.step('queued');
    reporter.step('started');
  } else if (typeof definition.options.runName === 'function') {
    // Named though nobody listens, so a `runName` that throws fails the call either way.
    formatRunName(definition.options.runName, definition.name, definition.parameters, args);
  }
  let settled = false;
  const settle = (ok: boolean, valueOrError: unknown) => {
    if (settled) {
      // The outcome of a function the call left running when it was cancelled: it has ended.
      calls.ended(ok, valueOrError, context);
      return;
    }
    settled = true;
    try {
      reporter?.end(ok ? 'succeeded' : 'failed', valueOrError);
    } catch (listenerError) {
      subscriber.error(listenerError);
      return;
    }
    if (!ok) {
      subscriber.error(valueOrError);
      return;
    }
    if (valueOrError !== STREAMED) subscriber.next(valueOrError);
    subscriber.complete();
  };
  let inner: Unsubscribable | undefined;
  try {
    const output = definition.fn.apply(context, args);
    inner = dispatchOutput(
      output,
      (value) => settle(true, value),
      (error) => settle(false, error),
      (value) => subscriber.next(value),
      context,
    );
  } catch (error) {
    settle(false, error);
  }
  return () => {
    if (!settled) {
      settled = true;
      const reason = stopReasonOf(subscriber, cancellationReason);
      context.abort(reason);
      // A pending Promise settles later (an Observable ends as it is unsubscribed below): its function runs on.
      if (inner === undefined) calls.abandon(context);
      try {
        reporter?.end('cancelled', reason);
      } catch {
        // Nobody is left to tell: the subscriber has gone.
      }
    }
    inner?.unsubscribe();
  };
}

/** Reports one direct call's events; made only when someone listens. */
class CallReporter {
  private readonly reporter: RunReporter;
  private readonly runName: string;
  private readonly startedAt = defaultScheduler.now();

  constructor(
    targets: EventTargets,
    definition: TaskDefinition,
    args: unknown[],
    private readonly attempt: number,
  ) {
    this.reporter = new RunReporter(targets, definition.name, () => defaultScheduler.now());
    this.runName = formatRunName(definition.options.runName, definition.name, definition.parameters, args);
  }

  step(type: 'queued' | 'started'): void {
    this.reporter.step(type, this.runName, undefined, this.attempt);
  }

  end(type: 'succeeded' | 'failed' | 'cancelled', valueOrError: unknown): void {
    const durationMs = defaultScheduler.now() - this.startedAt;
    this.reporter.end(type, this.runName, undefined, this.attempt, valueOrError, durationMs);
  }
}
