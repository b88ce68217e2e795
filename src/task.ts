import type { Subscriber } from 'rxjs';
import { RunContext, type TaskContext } from './context.js';
import { cancellationReason } from './errors.js';
import { deliverOutput, type TaskResult } from './task-output.js';
import { TaskRun } from './task-run.js';
import { assertFunction, assertOptions, assertString } from './validate.js';

/** Options of {@link task}; `.with()` overrides them. */
export interface TaskOptions {
  /** Shown in events and errors, and read by the function as `this.name`. Defaults to the function's name. */
  name?: string;
}

const TASK_OPTIONS = ['name'] as const;

/**
 * Any function a task can wrap: sync, async, or returning an Observable. Its context arrives as `this`.
 * (The default `never[]` parameters let TypeScript infer each parameter, default values included, from the function.)
 */
export type TaskFunction<A extends unknown[] = never[], Output = unknown> = (this: TaskContext, ...args: A) => Output;

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
  /** Returns a lazy run of the function with these arguments: nothing runs until it is subscribed or awaited. */
  (...args: A): TaskRun<R>;
  /** The task's name: `options.name`, else the function's name, else `'anonymous'`. */
  readonly name: string;
  /** The options this task was made with. */
  readonly options: Readonly<TaskOptions>;
  /** Returns a new task with these options laid over this one's (Flyte's `override`, Prefect's `with_options`). */
  with(options: TaskOptions): Task<A, R, Output>;
  /** Calls the function directly and returns what it returns: no laziness, no policies, no events (Flyte's `forward`). */
  forward(...args: A): Output;
}

interface TaskInternals {
  readonly fn: TaskFunction<unknown[]>;
  readonly options: Readonly<TaskOptions>;
  readonly name: string;
}

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
 *   if (this.signal.aborted) throw this.signal.reason;
 *   return x * 2;
 * });
 * console.log(await slowDouble(21)); // 42
 * ```
 */
export function task<F extends TaskFunction>(fn: F, options?: TaskOptions): TaskOf<F> {
  assertFunction('task', 'fn', fn);
  const checked = checkTaskOptions('task', options);
  return makeTask(fn as unknown as TaskFunction<unknown[]>, { ...checked }) as unknown as TaskOf<F>;
}

/** The {@link Task} that wraps a function of type `F`. */
export type TaskOf<F extends TaskFunction> = Task<Parameters<F>, TaskResult<ReturnType<F>>, ReturnType<F>>;

function checkTaskOptions(where: string, options: unknown): TaskOptions {
  const checked = assertOptions<TaskOptions>(where, options, TASK_OPTIONS) ?? {};
  assertString(where, 'name', checked.name);
  return checked;
}

/** The methods every task shares; each task function gets this as its prototype, so no method is made per task. */
const taskMethods = Object.create(Function.prototype, {
  with: {
    value(this: Task<unknown[], unknown> & TaskInternals, options: TaskOptions) {
      const overrides = checkTaskOptions(`${this.name}.with`, options);
      return makeTask(this.fn, { ...this.options, ...overrides });
    },
  },
  forward: {
    value(this: Task<unknown[], unknown> & TaskInternals, ...args: unknown[]) {
      return this.fn.apply(new RunContext(this.name, undefined, 1), args);
    },
  },
});

function makeTask(fn: TaskFunction<unknown[]>, options: TaskOptions): Task<unknown[], unknown> {
  const name = options.name ?? (fn.name || 'anonymous');
  const callable = (...args: unknown[]) =>
    new TaskRun<unknown>((subscriber) => subscribeTask(fn, args, name, subscriber));
  Object.setPrototypeOf(callable, taskMethods);
  Object.defineProperties(callable, {
    name: { value: name },
    fn: { value: fn },
    options: { value: Object.freeze(options) },
  });
  return callable as unknown as Task<unknown[], unknown>;
}

/** One run of `fn`: its own context, aborted only if the subscriber leaves before the output settles. */
function subscribeTask(
  fn: TaskFunction<unknown[]>,
  args: unknown[],
  name: string,
  subscriber: Subscriber<unknown>,
): () => void {
  const context = new RunContext(name, undefined, 1);
  let settled = false;
  let inner: { unsubscribe(): void } | undefined;
  try {
    inner = deliverOutput(fn.apply(context, args), subscriber, () => {
      settled = true;
    });
  } catch (error) {
    settled = true;
    subscriber.error(error);
  }
  return () => {
    if (!settled) context.abort(cancellationReason());
    inner?.unsubscribe();
  };
}

/** True for the functions {@link task} returns. */
export function isTask(value: unknown): value is Task<unknown[], unknown> {
  return typeof value === 'function' && Object.getPrototypeOf(value) === taskMethods;
}
