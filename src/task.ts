import { asyncScheduler, Observable, type Subscriber } from 'rxjs';
import { abortReasonOr, takeAttempt } from './ambient.js';
import { RunContext } from './context.js';
import { type EngineSettings, ParallelEngine } from './engine/engine.js';
import { ArraySource } from './engine/sources.js';
import { TaskRunSink } from './engine/task-run-sink.js';
import { cancellationReason } from './errors.js';
import { EventTargets } from './events.js';
import { type AllowFailure, hasDependencies, resolveDependencies } from './futures/dependencies.js';
import { TaskFuture } from './futures/task-future.js';
import type { ItemResult } from './item-result.js';
import { assertMapArgument, Unmapped, zipArguments } from './map-arguments.js';
import { assertItems, createRun, type MapInput, PARALLEL_OPTION_NAMES, type ParallelOptions } from './parallel-map.js';
import type { ParallelRun } from './parallel-run.js';
import { hasPolicies, POLICY_OPTIONS, type Policies, resolvePolicies } from './policies/task-policies.js';
import { assertRunName, formatRunName, parameterNames, runNamer } from './run-name.js';
import { assertRunner, remoteFunction } from './runners/runner.js';
import {
  definitionOf,
  TASK_DEFINITION,
  type TaskDefinition,
  type TaskFunction,
  type TaskOptions,
} from './task-definition.js';
import { deliverOutput, isObservableLike, type TaskResult } from './task-output.js';
import { TaskRun } from './task-run.js';
import { assertFunction, assertOptions, assertString, describe } from './validate.js';

export type { TaskFunction, TaskOptions };

const TASK_OPTIONS = ['name', 'runName', 'waitFor', 'onEvent', 'runner', ...POLICY_OPTIONS] as const;

/**
 * The arguments of `task.map` for a task of parameters `A`: per parameter, an iterable to map over, or one value for
 * every call (`unmapped(value)`, or, with several arguments, any value that is not iterable, strings included).
 *
 * @example
 * ```ts
 * import { type MapArguments, task, unmapped } from 'rxtask';
 *
 * const scale = task((x: number, by: number) => x * by);
 * const args: MapArguments<[number, number]> = [[1, 2], unmapped(10)];
 * console.log((await scale.map(...args)).values()); // [10, 20]
 * ```
 */
export type MapArguments<A extends unknown[]> = {
  [K in keyof A]: Iterable<A[K]> | AsyncIterable<A[K]> | Unmapped<A[K]>;
};

/**
 * The arguments of `task.map` with several parameters, where values that are not iterable are broadcast.
 *
 * @example
 * ```ts
 * import { type BroadcastArguments, task } from 'rxtask';
 *
 * const scale = task((x: number, by: number) => x * by);
 * const args: BroadcastArguments<[number, number]> = [[1, 2], 10]; // 10 is not iterable: every call gets it
 * console.log((await scale.map(...args)).values()); // [10, 20]
 * ```
 */
export type BroadcastArguments<A extends unknown[]> = {
  [K in keyof A]: Iterable<A[K]> | AsyncIterable<A[K]> | Unmapped<A[K]> | A[K];
};

/**
 * An argument of `submit` may also be a future or run of its value, or `allowFailure` of one.
 *
 * @example
 * ```ts
 * import { type SubmitArguments, task } from 'rxtask';
 *
 * const add = task((a: number, b: number) => a + b);
 * const args: SubmitArguments<[number, number]> = [task(async () => 1).submit(), 2]; // a future where a number goes
 * console.log(await add.submit(...args)); // 3
 * ```
 */
export type SubmitArguments<A extends unknown[]> = {
  [K in keyof A]: A[K] | PromiseLike<A[K]> | AllowFailure<unknown>;
};

/**
 * A wrapped function. Calling it returns a lazy {@link TaskRun}; its parameter and result types are the function's.
 *
 * @example
 * ```ts
 * import { task } from 'rxtask';
 *
 * const toText = task(async (x: number) => String(x), { name: 'toText' });
 * const text: string = await toText(7);
 * const loud = toText.with({ name: 'loud' });
 * console.log(text, loud.name, await toText.forward(8)); // '7' 'loud' '8'
 * ```
 */
export interface Task<A extends unknown[], R, Output = unknown> {
  /**
   * Returns a lazy run of the function with these arguments: nothing runs until it is subscribed or awaited. An
   * argument may be a future or run of its value, waited for first (see `submit`).
   */
  (...args: SubmitArguments<A>): TaskRun<R>;
  /** The task's name: `options.name`, else the function's name, else `'anonymous'`. */
  readonly name: string;
  /** The options this task was made with. */
  readonly options: Readonly<TaskOptions>;
  /** Returns a new task with these options laid over this one's (Flyte's `override`, Prefect's `with_options`). */
  with(options: TaskOptions): Task<A, R, Output>;
  /** Calls the function directly and returns what it returns: no laziness, no policies, no events (Flyte's `forward`). */
  forward(...args: A): Output;
  /**
   * Runs the task over its inputs in parallel (see `parallelMap`). With several arguments, as Prefect's `.map`:
   * iterables are zipped (sized ones must be of equal length), and `unmapped(value)` passes one value to every call.
   * Options may follow the last argument.
   */
  map(...args: MapArguments<A> | [...MapArguments<A>, ParallelOptions]): ParallelRun<R>;
  map(...args: BroadcastArguments<A> | [...BroadcastArguments<A>, ParallelOptions]): ParallelRun<R>;
  /**
   * Starts the task now and returns a {@link TaskFuture} (Prefect's `.submit`). Futures and TaskRuns among the
   * arguments, at the top level or inside arrays and plain objects, are waited for and replaced by their values
   * first; a failed one fails this task with an `UpstreamError` unless wrapped in `allowFailure`.
   */
  submit(...args: SubmitArguments<A>): TaskFuture<R>;
  /** Runs the task over argument tuples in parallel, calling `fn(...tuple)` (Python's `starmap`). */
  starmap(tuples: MapInput<A>, options?: ParallelOptions): ParallelRun<R>;
  /**
   * Runs the task over the items and streams the values alone, in completion order (input order with
   * `ordered: true`). The first failure errors the stream and cancels the rest; use `map` to keep every outcome.
   */
  stream(items: MapInput<A[0]>, options?: Omit<ParallelOptions, 'stopOnError' | 'maxErrors'>): Observable<R>;
}

/**
 * The {@link Task} that wraps a function of type `F`.
 *
 * @example
 * ```ts
 * import { type TaskOf, task } from 'rxtask';
 *
 * const parse = (text: string) => Number(text);
 * const parseTask: TaskOf<typeof parse> = task(parse);
 * console.log(await parseTask('42')); // 42
 * ```
 */
export type TaskOf<F extends TaskFunction> = Task<Parameters<F>, TaskResult<ReturnType<F>>, ReturnType<F>>;

/**
 * Wraps a sync or async function (or one that returns an Observable) as a {@link Task}.
 *
 * The function reaches its {@link TaskContext} (signal, attempt, name, index) as `this`, or as a first parameter
 * through {@link withContext}; it is never passed in place of an argument. A sync throw becomes an error notification
 * or a rejection, never an exception out of `subscribe`.
 *
 * @param fn The function to run.
 * @param options See {@link TaskOptions}.
 * @throws TypeError when `fn` is not a function or an option has the wrong type.
 *
 * @example
 * ```ts
 * import { task, type TaskContext } from 'rxtask';
 *
 * const slowDouble = task(async function (this: TaskContext, x: number) {
 *   await new Promise((resolve) => setTimeout(resolve, 10));
 *   this.signal.throwIfAborted();
 *   return x * 2;
 * });
 * console.log(await slowDouble(21)); // 42
 * ```
 */
export function task<F extends TaskFunction>(fn: F, options?: TaskOptions): TaskOf<F> {
  assertFunction('task', 'fn', fn);
  const checked = checkTaskOptions('task', options);
  const policies = resolvePolicies('task', checked);
  return makeTask(fn as unknown as TaskFunction<unknown[]>, { ...checked }, policies) as unknown as TaskOf<F>;
}

/**
 * True for the functions {@link task} returns.
 *
 * @example
 * ```ts
 * import { isTask, task } from 'rxtask';
 *
 * console.log(isTask(task(() => 1)), isTask(() => 1)); // true false
 * ```
 */
export function isTask(value: unknown): value is Task<unknown[], unknown> {
  return definitionOf(value) !== undefined;
}

function checkTaskOptions(where: string, options: unknown): TaskOptions {
  const checked = assertOptions<TaskOptions>(where, options, TASK_OPTIONS) ?? {};
  assertString(where, 'name', checked.name);
  assertRunName(where, checked.runName);
  if (checked.onEvent !== undefined) assertFunction(where, 'onEvent', checked.onEvent);
  assertRunner(where, checked.runner);
  if (checked.waitFor !== undefined) {
    if (!Array.isArray(checked.waitFor)) {
      throw new TypeError(
        `${where}: \`waitFor\` must be an array of futures or runs, got ${describe(checked.waitFor)}`,
      );
    }
    checked.waitFor.forEach((dependency, position) => {
      if (!hasDependencies([dependency])) {
        throw new TypeError(
          `${where}: \`waitFor[${position}]\` must be a TaskFuture, a TaskRun or allowFailure(…), got ${describe(dependency)}`,
        );
      }
    });
  }
  return checked;
}

type AnyTask = Task<unknown[], unknown> & { readonly [TASK_DEFINITION]: TaskDefinition };

/** The methods every task shares; each task function gets this as its prototype, so no method is made per task. */
const taskMethods: ThisType<AnyTask> = Object.create(Function.prototype, {
  options: {
    get(this: AnyTask) {
      return this[TASK_DEFINITION].options;
    },
  },
  with: {
    value(this: AnyTask, options: TaskOptions) {
      const definition = this[TASK_DEFINITION];
      const where = `${this.name}.with`;
      const overrides = checkTaskOptions(where, options);
      // Policies left alone are inherited as they are: the new task shares the old one's rate limiter.
      const policies = resolvePolicies(where, overrides, definition.policies);
      return makeTask(definition.local, { ...definition.options, ...overrides }, policies);
    },
  },
  forward: {
    value(this: AnyTask, ...args: unknown[]) {
      return this[TASK_DEFINITION].local.apply(new RunContext(this.name, undefined, 1), args);
    },
  },
  map: {
    value(this: AnyTask, ...args: unknown[]) {
      const where = `${this.name}.map`;
      const options = isOptionsArgument(args[args.length - 1]) ? (args.pop() as ParallelOptions) : undefined;
      if (args.length === 1 && !isObservableLike(args[0])) assertMapArgument(where, 0, args[0]);
      if (args.length === 1) return createRun(where, this, args[0] as MapInput<unknown>, false, options);
      // As Prefect's map: with several arguments, a value that is not iterable (or is a string) goes to every call.
      const mapArguments = args.map((arg, position) => {
        if (isObservableLike(arg)) {
          throw new TypeError(
            `${where}: argument ${position + 1} is an Observable; zip only Iterables and AsyncIterables`,
          );
        }
        return arg instanceof Unmapped || isMappable(arg) ? arg : new Unmapped(arg);
      });
      return createRun(where, this, zipArguments(where, mapArguments as Iterable<unknown>[]), true, options);
    },
  },
  submit: {
    value(this: AnyTask, ...args: unknown[]) {
      const definition = this[TASK_DEFINITION];
      const runName = formatRunName(definition.options.runName, definition.name, definition.parameters, args);
      return new TaskFuture(
        (markRunning) =>
          new Observable<unknown>((subscriber) => subscribeCall(definition, args, subscriber, markRunning)),
        definition.name,
        runName,
      );
    },
  },
  starmap: {
    value(this: AnyTask, tuples: MapInput<unknown[]>, options?: ParallelOptions) {
      assertItems(`${this.name}.starmap`, tuples);
      return createRun(`${this.name}.starmap`, this, tuples, true, options);
    },
  },
  stream: {
    value(this: AnyTask, items: MapInput<unknown>, options?: ParallelOptions) {
      const where = `${this.name}.stream`;
      assertItems(where, items);
      const run = createRun(where, this, items, false, { ...options, stopOnError: true });
      return new Observable<unknown>((subscriber) =>
        run.subscribe({
          next: (item: ItemResult<unknown>) => (item.ok ? subscriber.next(item.value) : subscriber.error(item.error)),
          error: (error: unknown) => subscriber.error(error),
          complete: () => subscriber.complete(),
        }),
      );
    },
  },
});

/** An argument `task.map` iterates: any Iterable or AsyncIterable but a string. */
function isMappable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (Symbol.iterator in value || Symbol.asyncIterator in value);
}

/**
 * A trailing plain object of `task.map` is its options when every key is an option's name; any other object is an
 * argument (wrap an argument that looks like options in `unmapped`).
 */
function isOptionsArgument(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === 'object' &&
    Object.getPrototypeOf(value) === Object.prototype &&
    Object.keys(value).every((key) => (PARALLEL_OPTION_NAMES as readonly string[]).includes(key))
  );
}

function makeTask(fn: TaskFunction<unknown[]>, options: TaskOptions, policies: Policies): AnyTask {
  const name = options.name ?? (fn.name || 'anonymous');
  const parameters = typeof options.runName === 'string' ? parameterNames(fn) : [];
  const definition: TaskDefinition = {
    fn: options.runner === undefined ? fn : remoteFunction(options.runner, name),
    name,
    options: Object.freeze(options),
    policies,
    parameters,
    local: fn,
  };
  const callable = (...args: unknown[]) =>
    new TaskRun<unknown>((subscriber) => subscribeCall(definition, args, subscriber, undefined), name);
  Object.setPrototypeOf(callable, taskMethods);
  Object.defineProperties(callable, {
    name: { value: name },
    [TASK_DEFINITION]: { value: definition },
  });
  return callable as unknown as AnyTask;
}

/**
 * One call of a task with retry, timeout or rate limit: the engine runs it as a map of one item, so calls and maps
 * share one implementation of the policies. Values of an Observable task stream through as they come (a retried
 * attempt streams again from its start, as RxJS's `retry` does).
 */
function subscribeGuardedTask(
  definition: TaskDefinition,
  args: unknown[],
  subscriber: Subscriber<unknown>,
): () => void {
  const settings: EngineSettings = {
    fn: definition.fn,
    name: definition.name,
    spread: true,
    concurrency: 1,
    window: 1,
    maxErrors: Number.POSITIVE_INFINITY,
    onProgress: undefined,
    deadline: undefined,
    signal: undefined,
    scheduler: asyncScheduler,
    batchedClock: false,
    policies: definition.policies,
    indexed: false,
    onEvent: definition.options.onEvent,
    runEvents: undefined,
    runName: runNamer(definition, true),
    // A call's arguments were resolved before it got here.
    dependencies: undefined,
  };
  const engine = new ParallelEngine(settings, new ArraySource([args]), new TaskRunSink(subscriber));
  subscriber.add(() => engine.dispose(abortReasonOr(cancellationReason)));
  engine.start();
  return noop;
}

function noop(): void {}

/**
 * One call of a task: waits for the futures and TaskRuns among its arguments and in `waitFor`, then runs the
 * function, directly or (with retry, timeout or limits) through the engine. `onStart` marks a future as running.
 */
function subscribeCall(
  definition: TaskDefinition,
  args: unknown[],
  subscriber: Subscriber<unknown>,
  onStart: (() => void) | undefined,
): void {
  // Read now: an operator's attempt number is only there while it subscribes.
  const attempt = takeAttempt();
  const start = (resolved: unknown[]) => {
    onStart?.();
    const teardown = hasPolicies(definition.policies)
      ? subscribeGuardedTask(definition, resolved, subscriber)
      : subscribeTask(definition, resolved, subscriber, attempt);
    subscriber.add(teardown);
  };
  const waitFor = definition.options.waitFor ?? [];
  if (waitFor.length === 0 && !hasDependencies(args)) {
    start(args);
    return;
  }
  const waiting = resolveDependencies(args, waitFor, start, (error) => subscriber.error(error));
  subscriber.add(() => waiting.unsubscribe());
}

/** One run of the function: its own context, aborted only if the subscriber leaves before the output settles. */
function subscribeTask(
  definition: TaskDefinition,
  args: unknown[],
  subscriber: Subscriber<unknown>,
  attempt: number,
): () => void {
  const context = new RunContext(definition.name, undefined, attempt);
  const events = EventTargets.of(undefined, definition.options.onEvent);
  const report = events === undefined ? undefined : callReporter(events, definition, args, attempt);
  report?.('queued');
  report?.('started');
  let settled = false;
  let inner: { unsubscribe(): void } | undefined;
  const onSettle = (ok: boolean, error?: unknown) => {
    settled = true;
    report?.(ok ? 'succeeded' : 'failed', error);
  };
  try {
    inner = deliverOutput(definition.fn.apply(context, args), subscriber, onSettle);
  } catch (error) {
    onSettle(false, error);
    subscriber.error(error);
  }
  return () => {
    if (!settled) {
      const reason = abortReasonOr(cancellationReason);
      context.abort(reason);
      report?.('cancelled', reason);
    }
    inner?.unsubscribe();
  };
}

/** Reports one direct call's events; made only when someone listens. */
function callReporter(events: EventTargets, definition: TaskDefinition, args: unknown[], attempt: number) {
  const runName = formatRunName(definition.options.runName, definition.name, definition.parameters, args);
  const startedAt = asyncScheduler.now();
  return (type: 'queued' | 'started' | 'succeeded' | 'failed' | 'cancelled', error?: unknown) => {
    const time = asyncScheduler.now();
    const base = { task: definition.name, runName, index: undefined, attempt, time };
    const durationMs = time - startedAt;
    if (type === 'succeeded') events.emit({ ...base, type, durationMs });
    else if (type === 'failed') events.emit({ ...base, type, error, durationMs });
    else if (type === 'cancelled') events.emit({ ...base, type, reason: error, durationMs });
    else events.emit({ ...base, type });
  };
}
