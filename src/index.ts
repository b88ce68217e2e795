/**
 * The core of rxtask: `task()` and its lazy runs, `parallelMap`, futures and task groups, `gather` and `wait`, rate
 * and concurrency limits, run events, the result cache and checkpoints, and the errors runs fail with.
 *
 * ```sh
 * npm install rxtask rxjs
 * ```
 *
 * @module rxtask
 */
export {
  type AsyncIterableOptions,
  type OverflowPolicy,
  toAsyncIterable,
} from './async-iterable.js';
export { type CacheStore, MemoryStore } from './cache/memory-store.js';
export type { CacheOptions } from './cache/result-cache.js';
export { type CheckpointInfo, checkpointInfo } from './checkpoint/checkpoint-info.js';
export { type TaskContext, withContext } from './context.js';
export type { RunStatus } from './engine/engine-types.js';
export {
  BufferOverflowError,
  CheckpointError,
  ItemError,
  NonRetryableError,
  NotStartedError,
  TimeoutError,
  UpstreamError,
} from './errors.js';
export { events$, type RunEvent, type RunEventBase, type RunEventType } from './events.js';
export { AllowFailure, allowFailure } from './futures/dependencies.js';
export { type FutureState, type FutureWaitOptions, TaskFuture } from './futures/task-future.js';
export { type TaskGroup, type TaskGroupOptions, taskGroup } from './futures/task-group.js';
export { AsCompleted, asCompleted, type WaitOptions, type WaitResult, wait } from './futures/wait.js';
export { type Awaitable, type GatherOptions, type GatherSettled, type GatherValues, gather } from './gather.js';
export type { ItemFailure, ItemResult, ItemSuccess } from './item-result.js';
export { Unmapped, unmapped } from './map-arguments.js';
export {
  DEFAULT_CONCURRENCY,
  type ItemFunction,
  type MapInput,
  type ParallelOptions,
  parallelMap,
} from './parallel-map.js';
export { ParallelResult } from './parallel-result.js';
export { ParallelRun } from './parallel-run.js';
export { ConcurrencyLimit } from './policies/concurrency-limit.js';
export { RateLimiter, type RateLimitOptions } from './policies/rate-limiter.js';
export { type Jitter, parseRetryAfter, type RetryEvent, type RetryOptions } from './policies/retry-policy.js';
export type { PolicyOptions } from './policies/task-policies.js';
export type { RunName } from './run-name.js';
export type { Runner, RunnerContext } from './runners/runner.js';
export {
  type BroadcastArguments,
  isTask,
  type MapArguments,
  type SubmitArguments,
  type Task,
  type TaskFunction,
  type TaskOf,
  type TaskOptions,
  task,
} from './task.js';
export type { TaskResult } from './task-output.js';
export { TaskRun } from './task-run.js';
export { firstValue, lastValue, type ValueOptions } from './value-promises.js';
