/**
 * RxJS operators for any Observable: `mapParallel` (a capped `mergeMap` whose failures are results), `retryBackoff`,
 * `timeoutEach` and `rateLimit`, the same policies a task takes as options.
 *
 * @module rxtask/operators
 */
export { mapParallel } from './map-parallel.js';
export { rateLimit } from './rate-limit.js';
export { type RetryBackoffOptions, retryBackoff } from './retry-backoff.js';
export { timeoutEach } from './timeout-each.js';
