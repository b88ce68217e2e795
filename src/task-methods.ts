import { Observable } from 'rxjs';
import { ResultCache } from './cache/result-cache.js';
import { RunContext } from './context.js';
import { dependencyResolver, hasDependencies } from './futures/dependencies.js';
import { currentGroupSignal } from './futures/group-scope.js';
import { installItemDependencies } from './futures/item-dependencies.js';
import { TaskFuture } from './futures/task-future.js';
import type { ItemResult } from './item-result.js';
import { assertMapArgument, Unmapped, zipArguments } from './map-arguments.js';
import { assertItems, createRun, type MapInput, PARALLEL_OPTION_NAMES, type ParallelOptions } from './parallel-map.js';
import { holdsAtCreation } from './policies/limit-scope.js';
import { hasPolicies, POLICY_OPTIONS, type Policies, resolvePolicies } from './policies/task-policies.js';
import { assertRunName, formatRunName, templateParameters } from './run-name.js';
import { assertRunner, remoteFunction } from './runners/runner.js';
import { CallRun, isPlainCall, subscribeCall } from './task-call.js';
import { TASK_DEFINITION, type TaskDefinition, type TaskFunction, type TaskOptions } from './task-definition.js';
import { taskIdentity } from './task-identity.js';
import { isObservableLike } from './task-output.js';
import type { Task } from './task-types.js';
import { assertBoolean, assertFunction, assertOptions, assertString, describe, nearestName } from './validate.js';

const TASK_OPTIONS = [
  'name',
  'runName',
  'parameterNames',
  'waitFor',
  'onEvent',
  'runner',
  'sequential',
  'cache',
  ...POLICY_OPTIONS,
] as const;

/** Checks a task's options, at `task()` and `.with()`. @internal */
export function checkTaskOptions(where: string, options: unknown): TaskOptions {
  const checked = assertOptions<TaskOptions>(where, options, TASK_OPTIONS) ?? {};
  assertString(where, 'name', checked.name);
  assertRunName(where, checked.runName, checked.parameterNames);
  if (checked.onEvent !== undefined) assertFunction(where, 'onEvent', checked.onEvent);
  assertRunner(where, checked.runner);
  assertBoolean(where, 'sequential', checked.sequential);
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

/** The methods every task shares, named as they are called (`map`, not `value`) in stack frames. */
const sharedMethods: ThisType<AnyTask> = {
  with(this: AnyTask, options: TaskOptions) {
    const definition = this[TASK_DEFINITION];
    const where = `${this.name}.with`;
    const overrides = checkTaskOptions(where, options);
    // Policies left alone are inherited as they are: the new task shares the old one's rate limiter.
    const policies = resolvePolicies(where, overrides, definition.policies);
    return makeTask(where, definition.local, { ...definition.options, ...overrides }, policies);
  },
  forward(this: AnyTask, ...args: unknown[]) {
    return this[TASK_DEFINITION].local.apply(new RunContext(this.name, undefined, 1), args);
  },
  map(this: AnyTask, ...args: unknown[]) {
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
  submit(this: AnyTask, ...args: unknown[]) {
    const definition = this[TASK_DEFINITION];
    let runName: string;
    try {
      runName = formatRunName(definition.options.runName, definition.name, definition.parameters, args);
    } catch (error) {
      // A `runName` function that throws fails the future, as it would fail a call.
      return new TaskFuture(definition.name, definition.name).fail(error);
    }
    const future = new TaskFuture(definition.name, runName);
    if (isPlainCall(definition, args, undefined)) {
      return future.runDirectly(definition.fn, new RunContext(definition.name, undefined, 1), args);
    }
    return future.follow(
      (markRunning, calls) =>
        new Observable<unknown>((subscriber) => subscribeCall(definition, args, subscriber, markRunning, calls)),
    );
  },
  starmap(this: AnyTask, tuples: MapInput<unknown[]>, options?: ParallelOptions) {
    assertItems(`${this.name}.starmap`, tuples);
    return createRun(`${this.name}.starmap`, this, tuples, true, options);
  },
  stream(this: AnyTask, items: MapInput<unknown>, options?: ParallelOptions) {
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
};

/** The methods every task shares; each task function gets this as its prototype, so no method is made per task. */
const taskMethods: ThisType<AnyTask> = Object.create(Function.prototype, {
  options: {
    get(this: AnyTask) {
      return this[TASK_DEFINITION].options;
    },
  },
  ...Object.fromEntries(Object.entries(sharedMethods).map(([name, value]) => [name, { value }])),
});

/** An argument `task.map` iterates: any Iterable or AsyncIterable but a string. */
function isMappable(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (Symbol.iterator in value || Symbol.asyncIterator in value);
}

/**
 * A trailing plain object of `task.map` is its options when every key is an option's name or a misspelling of one
 * (`concurency`), which the options check then names; any other object is an argument (wrap an argument that looks
 * like options in `unmapped`).
 */
function isOptionsArgument(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || isMappable(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  // A plain object, also one made with a null prototype or in another realm (vm, an iframe).
  if (prototype !== null && Object.getPrototypeOf(prototype) !== null) return false;
  const keys = Object.keys(value);
  return keys.every((key) => OPTION_NAMES.includes(key) || nearestName(key, OPTION_NAMES) !== undefined);
}

const OPTION_NAMES: readonly string[] = PARALLEL_OPTION_NAMES;

/** Makes the callable task: a function whose prototype holds the shared methods. @internal */
export function makeTask(
  where: string,
  fn: TaskFunction<unknown[]>,
  options: TaskOptions,
  policies: Policies,
): AnyTask {
  // Runs and futures exist from now on: maps look for them among their items.
  installItemDependencies(dependencyResolver);
  const name = options.name ?? (fn.name || 'anonymous');
  const parameters = templateParameters(where, fn, options.runName, options.parameterNames);
  const cache = ResultCache.of(name, options.cache, taskIdentity(name, fn));
  const definition: TaskDefinition = {
    fn: options.runner === undefined ? fn : remoteFunction(options.runner, name),
    name,
    options: Object.freeze(options),
    policies,
    parameters,
    local: fn,
    cache,
    plain:
      !hasPolicies(policies) &&
      cache === undefined &&
      options.onEvent === undefined &&
      options.waitFor === undefined &&
      typeof options.runName !== 'function',
  };
  const callable = (...args: unknown[]) => new CallRun(definition, args, holdsAtCreation(), currentGroupSignal());
  Object.setPrototypeOf(callable, taskMethods);
  Object.defineProperties(callable, {
    name: { value: name },
    [TASK_DEFINITION]: { value: definition },
  });
  return callable as unknown as AnyTask;
}
