import type { Unsubscribable } from 'rxjs';
import type { DependencyResolver } from '../engine/engine-types.js';
import type { FunctionTracker } from '../engine/function-tracker.js';
import { UpstreamError } from '../errors.js';
import { Queue } from '../queue.js';
import { TaskRun } from '../task-run.js';
import { lastValue } from '../value-promises.js';
import { TaskFuture } from './task-future.js';

/**
 * A dependency whose failure is passed in as its value instead of failing the task; see {@link allowFailure}.
 *
 * @example
 * ```ts
 * import { AllowFailure, allowFailure, task } from 'rxtask';
 *
 * const wrapped = allowFailure(task(async () => 1).submit());
 * console.log(wrapped instanceof AllowFailure); // true
 * ```
 */
export class AllowFailure<T> {
  constructor(
    /** The future or run depended on. */
    readonly upstream: T,
  ) {}
}

/**
 * Lets a task start even if this dependency failed: the error is passed in where the value would be (Prefect's
 * `allow_failure`). Works for arguments and for `waitFor`.
 *
 * @example
 * ```ts
 * import { allowFailure, task } from 'rxtask';
 *
 * const flaky = task(async () => { throw new Error('down'); });
 * const report = task((outcome: unknown) => (outcome instanceof Error ? `failed: ${outcome.message}` : 'ok'));
 * console.log(await report.submit(allowFailure(flaky.submit()))); // 'failed: down'
 * ```
 */
export function allowFailure<T>(upstream: T): AllowFailure<T> {
  return new AllowFailure(upstream);
}

type Dependency = TaskFuture<unknown> | TaskRun<unknown>;

function isDependency(value: unknown): value is Dependency {
  return value instanceof TaskFuture || value instanceof TaskRun;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** True for an argument that is itself a future, a TaskRun or `allowFailure(…)`. @internal */
export function isDependencyArgument(value: unknown): boolean {
  return value instanceof TaskFuture || value instanceof TaskRun || value instanceof AllowFailure;
}

/**
 * How a map waits for the futures and runs its items hold: at the top level of an item, or of an argument tuple
 * (starmap, zipped arguments). Deeper ones are not looked for, to keep the check per item O(1). @internal
 */
export function dependencyResolver(spread: boolean): DependencyResolver {
  return {
    needs: (item: object) =>
      spread ? Array.isArray(item) && item.some(isDependencyArgument) : isDependencyArgument(item),
    resolve: (item: unknown, ready: (item: unknown) => void, fail: (error: unknown) => void, calls: FunctionTracker) =>
      resolveDependencies(
        spread ? (item as unknown[]) : [item],
        [],
        (resolved) => ready(spread ? resolved : resolved[0]),
        fail,
        calls,
      ),
  };
}

/** True when the arguments hold a future, a TaskRun or `allowFailure(…)`, at the top level or in arrays and plain objects. @internal */
export function hasDependencies(values: readonly unknown[]): boolean {
  // Most calls pass numbers and strings: only an object sends them down the deep look.
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === 'object' && value !== null) return holdsDependency(values);
  }
  return false;
}

function holdsDependency(values: readonly unknown[]): boolean {
  const seen = new Set<unknown>();
  const visit = (value: unknown): boolean => {
    if (isDependency(value) || value instanceof AllowFailure) return true;
    if (!Array.isArray(value) && !isPlainObject(value)) return false;
    if (seen.has(value)) return false;
    seen.add(value);
    return (Array.isArray(value) ? value : Object.values(value)).some(visit);
  };
  return values.some(visit);
}

/**
 * Waits for every dependency in `args` and `waitFor` (futures are awaited, TaskRuns are run), then calls `ready` with
 * the arguments, dependencies replaced by their values. The first failure not wrapped in `allowFailure` calls `fail`
 * with an UpstreamError instead. Returns how to stop waiting. @internal
 */
export function resolveDependencies(
  args: readonly unknown[],
  waitFor: readonly unknown[],
  ready: (args: unknown[]) => void,
  fail: (error: unknown) => void,
  calls: FunctionTracker | undefined,
): Unsubscribable {
  const outcomes = new Map<Dependency, { ok: boolean; value: unknown }>();
  const pending: Dependency[] = [];
  const collect = (value: unknown, seen: Set<unknown>): void => {
    const target = value instanceof AllowFailure ? value.upstream : value;
    if (isDependency(target)) {
      if (!outcomes.has(target) && !pending.includes(target)) pending.push(target);
      return;
    }
    if (!Array.isArray(value) && !isPlainObject(value)) return;
    if (seen.has(value)) return;
    seen.add(value);
    for (const inner of Array.isArray(value) ? value : Object.values(value)) collect(inner, seen);
  };
  const seen = new Set<unknown>();
  for (const value of [...args, ...waitFor]) collect(value, seen);

  let stopped = false;
  const runs: AbortController[] = [];
  const stop = () => {
    stopped = true;
    for (const controller of runs) inTurn(() => controller.abort());
  };
  let remaining = pending.length;
  const settle = (dependency: Dependency, ok: boolean, value: unknown) => {
    if (stopped) return;
    outcomes.set(dependency, { ok, value });
    remaining -= 1;
    if (remaining > 0) return;
    const failed = firstUnallowedFailure([...args, ...waitFor], outcomes);
    stopped = true;
    if (failed !== undefined) fail(new UpstreamError(upstreamName(failed.dependency), failed.error));
    else ready(args.map((value) => substitute(value, outcomes)));
  };
  if (remaining === 0) {
    ready([...args]);
    return { unsubscribe: stop };
  }
  const onSettled = (dependency: Dependency, settled: Promise<unknown>) =>
    settled.then(
      (value) => settle(dependency, true, value),
      (error: unknown) => settle(dependency, false, error),
    );
  for (const dependency of pending) {
    if (dependency instanceof TaskFuture) {
      onSettled(dependency, Promise.resolve(dependency));
      continue;
    }
    const controller = new AbortController();
    runs.push(controller);
    // Running a TaskRun subscribes its own TaskRun arguments in turn: taken in turn, not nested, at any depth.
    // Its functions count as the dependent call's: whoever waits for that call to end waits for them too.
    const execution = calls === undefined ? dependency : dependency.trackedBy(calls.forDependency());
    inTurn(() => {
      if (!stopped) onSettled(dependency, lastValue(execution, { signal: controller.signal }));
    });
  }
  return { unsubscribe: stop };
}

/** Work queued by `inTurn` while an outer call runs its own. */
const turns = new Queue<() => void>();
let takingTurns = false;

/**
 * Runs `work` now, unless it was asked for by work already running here: then right after it, in the same loop. A
 * lazy chain `r = inc(r)` subscribes (and, cancelled, unsubscribes) each link from the one after it; taken in turn,
 * a chain of any length uses a constant depth of stack, as a chain of futures does.
 */
function inTurn(work: () => void): void {
  turns.push(work);
  if (takingTurns) return;
  takingTurns = true;
  try {
    for (let next = turns.shift(); next !== undefined; next = turns.shift()) next();
  } finally {
    takingTurns = false;
  }
}

function upstreamName(dependency: Dependency): string {
  return dependency instanceof TaskFuture ? dependency.runName : (dependency.taskName ?? 'anonymous');
}

/** The first dependency that failed and is not wrapped in `allowFailure`, searching as `collect` did. */
function firstUnallowedFailure(
  values: readonly unknown[],
  outcomes: Map<Dependency, { ok: boolean; value: unknown }>,
): { dependency: Dependency; error: unknown } | undefined {
  const seen = new Set<unknown>();
  const search = (value: unknown): { dependency: Dependency; error: unknown } | undefined => {
    if (value instanceof AllowFailure) return undefined;
    if (isDependency(value)) {
      const outcome = outcomes.get(value);
      return outcome !== undefined && !outcome.ok ? { dependency: value, error: outcome.value } : undefined;
    }
    if (!Array.isArray(value) && !isPlainObject(value)) return undefined;
    if (seen.has(value)) return undefined;
    seen.add(value);
    for (const inner of Array.isArray(value) ? value : Object.values(value)) {
      const found = search(inner);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  for (const value of values) {
    const found = search(value);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** A copy of `value` with every dependency replaced by its value (or, under `allowFailure`, its error). */
function substitute(value: unknown, outcomes: Map<Dependency, { ok: boolean; value: unknown }>): unknown {
  const target = value instanceof AllowFailure ? value.upstream : value;
  if (isDependency(target)) return outcomes.get(target)?.value;
  if (Array.isArray(value)) return value.map((inner) => substitute(inner, outcomes));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, substitute(inner, outcomes)]));
  }
  return value;
}
