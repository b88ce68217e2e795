export {
  type AsyncIterableOptions,
  BufferOverflowError,
  type OverflowPolicy,
  toAsyncIterable,
} from './async-iterable.js';
export { type TaskContext, withContext } from './context.js';
export { type Awaitable, type GatherOptions, type GatherSettled, type GatherValues, gather } from './gather.js';
export { isTask, type Task, type TaskFunction, type TaskOf, type TaskOptions, task } from './task.js';
export type { TaskResult } from './task-output.js';
export { TaskRun } from './task-run.js';
export { firstValue, lastValue, type ValueOptions } from './value-promises.js';
