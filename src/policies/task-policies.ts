import type { SchedulerLike } from 'rxjs';
import { describe } from '../validate.js';
import { ConcurrencyLimit } from './concurrency-limit.js';
import { RateLimiter, type RateLimitOptions } from './rate-limiter.js';
import { type RetryOptions, RetryPolicy } from './retry-policy.js';

/**
 * The resilience options shared by `task()` and every map: a task's are its defaults, a map's override them.
 *
 * @example
 * ```ts
 * import { type PolicyOptions, task } from 'rxtask';
 *
 * const resilient: PolicyOptions = { retry: { attempts: 3, backoff: 10 }, timeout: 5_000, rateLimit: { limit: 10, interval: 'second' } };
 * console.log(await task(async () => 'ok', resilient)()); // 'ok'
 * ```
 */
export interface PolicyOptions {
  /** Retry failed attempts with backoff; see {@link RetryOptions}. No retry by default. */
  retry?: RetryOptions;
  /**
   * The most one attempt may take, in milliseconds (`Infinity` for none): then its signal is aborted with a
   * `TimeoutError` and the attempt fails with it, to be retried or reported. No timeout by default.
   */
  timeout?: number;
  /**
   * Gates every attempt's start: a shared {@link RateLimiter}, or its options, which make a limiter of the task's own
   * (as a task option: shared by all its calls) or of the map's own (as a map option).
   */
  rateLimit?: RateLimiter | RateLimitOptions;
  /**
   * Holds a permit of a shared {@link ConcurrencyLimit} while each attempt runs, or of the limit registered under this
   * name with `ConcurrencyLimit.named` (Prefect's tag limits). Children borrow their ancestors' permits.
   */
  concurrencyLimit?: ConcurrencyLimit | string;
}

/** The option names above, for checking unknown keys. @internal */
export const POLICY_OPTIONS = ['retry', 'timeout', 'rateLimit', 'concurrencyLimit'] as const;

/** Policies ready for the engine. @internal */
export interface Policies {
  readonly retry: RetryPolicy | undefined;
  readonly timeout: number | undefined;
  readonly limiter: RateLimiter | undefined;
  readonly concurrency: ConcurrencyLimit | undefined;
}

export const NO_POLICIES: Policies = {
  retry: undefined,
  timeout: undefined,
  limiter: undefined,
  concurrency: undefined,
};

/**
 * Checks policy options and lays them over `inherited`: an option given here wins, one left out is inherited. A rate
 * limit given as options gets a limiter on `scheduler` unless it names its own. @internal
 */
export function resolvePolicies(
  where: string,
  options: PolicyOptions,
  inherited: Policies = NO_POLICIES,
  scheduler?: SchedulerLike,
): Policies {
  const { retry, timeout, rateLimit, concurrencyLimit } = options;
  if (retry !== undefined && (typeof retry !== 'object' || retry === null)) {
    throw new TypeError(`${where}: \`retry\` must be an object of retry options, got ${describe(retry)}`);
  }
  if (timeout !== undefined) {
    if (typeof timeout !== 'number')
      throw new TypeError(`${where}: \`timeout\` must be a number of ms, got ${describe(timeout)}`);
    if (!(timeout > 0))
      throw new RangeError(`${where}: \`timeout\` must be a positive number of ms, got ${String(timeout)}`);
  }
  if (rateLimit !== undefined && (typeof rateLimit !== 'object' || rateLimit === null)) {
    throw new TypeError(`${where}: \`rateLimit\` must be a RateLimiter or its options, got ${describe(rateLimit)}`);
  }
  if (
    concurrencyLimit !== undefined &&
    typeof concurrencyLimit !== 'string' &&
    !(concurrencyLimit instanceof ConcurrencyLimit)
  ) {
    throw new TypeError(
      `${where}: \`concurrencyLimit\` must be a ConcurrencyLimit or a limit's name, got ${describe(concurrencyLimit)}`,
    );
  }
  return {
    retry: retry === undefined ? inherited.retry : new RetryPolicy(where, retry),
    timeout: timeout === undefined ? inherited.timeout : timeout === Number.POSITIVE_INFINITY ? undefined : timeout,
    limiter:
      rateLimit === undefined
        ? inherited.limiter
        : rateLimit instanceof RateLimiter
          ? rateLimit
          : new RateLimiter({ scheduler, ...rateLimit }),
    concurrency:
      concurrencyLimit === undefined
        ? inherited.concurrency
        : typeof concurrencyLimit === 'string'
          ? ConcurrencyLimit.named(concurrencyLimit)
          : concurrencyLimit,
  };
}

/** True when any policy is set, so the engine takes its guarded path. @internal */
export function hasPolicies(policies: Policies): boolean {
  return (
    policies.retry !== undefined ||
    policies.timeout !== undefined ||
    policies.limiter !== undefined ||
    policies.concurrency !== undefined
  );
}
