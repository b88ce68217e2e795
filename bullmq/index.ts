/**
 * Run a task's attempts on BullMQ workers over Redis, with the same API as in-process runs. `serve` runs on the worker
 * machines; `bullmqRunner` is the `runner` option on the caller's side. Needs the optional peers `bullmq` and
 * `ioredis`.
 *
 * @module rxtask/bullmq
 */
export type { EncodedError, JobEnvelope, OutcomeEnvelope } from './envelope.js';
export type { BullmqOptions } from './keys.js';
export { type BullmqRunnerOptions, bullmqRunner } from './runner.js';
export { type ServeOptions, type Server, serve } from './serve.js';
