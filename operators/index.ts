export { mapParallel } from './map-parallel.js';
export { rateLimit } from './rate-limit.js';
export { type RetryBackoffOptions, retryBackoff } from './retry-backoff.js';
export { timeoutEach } from './timeout-each.js';
