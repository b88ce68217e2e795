import { assertSynchronousResult, watchCallbackResult } from '../callback-result.js';
import { isCancellation, NonRetryableError } from '../errors.js';
import {
  assertDuration,
  assertFunction,
  assertNonNegative,
  assertOptions,
  assertPositiveInteger,
  describe,
} from '../validate.js';

/**
 * How a retried delay is randomized; a number `f` in [0, 1] spreads it uniformly over ±f of itself.
 *
 * @example
 * ```ts
 * import type { Jitter, RetryOptions } from 'rxtask';
 *
 * const jitter: Jitter = 0.2; // ±20% around each delay
 * const retry: RetryOptions = { attempts: 4, backoff: 500, jitter };
 * console.log(retry.jitter); // 0.2
 * ```
 */
export type Jitter = 'full' | 'equal' | 'none' | number;

/**
 * What `onRetry` is told before each retry.
 *
 * @example
 * ```ts
 * import { type RetryEvent, task } from 'rxtask';
 *
 * const log: RetryEvent[] = [];
 * let calls = 0;
 * const flaky = task(async () => (++calls < 2 ? Promise.reject(new Error('503')) : 'ok'), {
 *   retry: { attempts: 2, backoff: 1, onRetry: (event) => log.push(event) },
 * });
 * await flaky();
 * console.log(log[0].attempt, (log[0].error as Error).message); // 1 '503'
 * ```
 */
export interface RetryEvent {
  /** The error the attempt failed with. */
  readonly error: unknown;
  /** The attempt that failed (1 is the first). */
  readonly attempt: number;
  /** How long until the next attempt, in milliseconds. */
  readonly delayMs: number;
}

/**
 * Retry with exponential backoff: the `retry` option of tasks and maps, and the `retryBackoff` operator.
 *
 * `attempts` counts every attempt, the first included: `attempts: 3` is one try and two retries, what Prefect's
 * `retries=2` and Flyte's `retries=2` mean. Cancellation is never retried; a per-attempt timeout is, by default.
 *
 * @example
 * ```ts
 * import { parseRetryAfter, type RetryOptions, task } from 'rxtask';
 *
 * const retry: RetryOptions = {
 *   attempts: 5, // the first included: four retries
 *   backoff: 200,
 *   maxDelay: 10_000,
 *   retryIf: (error) => !(error instanceof TypeError),
 *   retryAfter: (error) => parseRetryAfter((error as { retryAfter?: string }).retryAfter),
 * };
 * console.log(await task(async () => 'ok', { retry })()); // 'ok'
 * ```
 */
export interface RetryOptions {
  /** Total attempts, the first included. Default `3`. */
  attempts?: number;
  /** The delay before the first retry, in milliseconds. Default `1000`. */
  backoff?: number;
  /** Each retry waits `factor` times longer than the one before. Default `2`. */
  factor?: number;
  /** The longest delay between attempts, in milliseconds (`Infinity` for no cap). Default `30_000`. */
  maxDelay?: number;
  /**
   * Randomizes each delay so many clients do not retry in step: `'full'` (default: uniform in [0, delay], AWS's "full
   * jitter"), `'equal'` (uniform in [delay/2, delay]), `'none'`, or a factor `f` in [0, 1] (uniform in delay × [1−f, 1+f]).
   */
  jitter?: Jitter;
  /** Retry only when this returns true (it is not asked about cancellations or a `NonRetryableError`). */
  retryIf?: (error: unknown, attempt: number) => boolean;
  /**
   * A server-mandated wait for this error, in milliseconds, or `undefined` to use the backoff: it replaces the backoff
   * (no jitter, no `maxDelay`) and pauses the task's rate limiter. See {@link parseRetryAfter} for HTTP's header.
   */
  retryAfter?: (error: unknown) => number | undefined;
  /**
   * The longest server wait honoured, in milliseconds (`Infinity` for no cap). Default `60_000`. A longer wait is not
   * waited out: the item fails with its error at once, and the rate limiter is not paused (as got's `maxRetryAfter`).
   */
  maxRetryAfter?: number;
  /** Called before each retry. */
  onRetry?: (event: RetryEvent) => void;
}

const RETRY_OPTIONS = [
  'attempts',
  'backoff',
  'factor',
  'maxDelay',
  'jitter',
  'retryIf',
  'retryAfter',
  'maxRetryAfter',
  'onRetry',
] as const;

/** The decision after a failed attempt: stop with this error, or retry after this many milliseconds. @internal */
export type RetryDecision =
  | { retry: false; error: unknown; serverWaitMs: number | undefined }
  | { retry: true; delayMs: number; serverWaitMs: number | undefined };

/** Checked, normalized retry options, and the retry decision. @internal */
export class RetryPolicy {
  readonly attempts: number;
  private readonly backoff: number;
  private readonly factor: number;
  private readonly maxDelay: number;
  private readonly maxRetryAfter: number;
  private readonly jitter: Jitter;
  private readonly options: RetryOptions;

  /**
   * @param prefix How error messages name the options: `retry.` for a task's or a map's `retry` option, nothing for
   *   the `retryBackoff` operator, whose options are its own.
   */
  constructor(
    private readonly where: string,
    options: RetryOptions,
    private readonly prefix = 'retry.',
  ) {
    const checked = assertOptions<RetryOptions>(where, options, RETRY_OPTIONS) ?? {};
    assertPositiveInteger(where, `${prefix}attempts`, checked.attempts, false);
    assertNonNegative(where, `${prefix}backoff`, checked.backoff);
    assertDuration(where, `${prefix}maxDelay`, checked.maxDelay);
    assertDuration(where, `${prefix}maxRetryAfter`, checked.maxRetryAfter);
    assertNonNegative(where, `${prefix}factor`, checked.factor);
    if (checked.factor !== undefined && checked.factor < 1) {
      throw new RangeError(`${where}: \`${prefix}factor\` must be at least 1, got ${checked.factor}`);
    }
    const jitter = checked.jitter ?? 'full';
    const validJitter =
      jitter === 'full' ||
      jitter === 'equal' ||
      jitter === 'none' ||
      (typeof jitter === 'number' && jitter >= 0 && jitter <= 1);
    if (!validJitter) {
      throw new (typeof jitter === 'number' ? RangeError : TypeError)(
        `${where}: \`${prefix}jitter\` must be 'full', 'equal', 'none' or a number in [0, 1], got ${describe(jitter)}`,
      );
    }
    for (const callback of ['retryIf', 'retryAfter', 'onRetry'] as const) {
      if (checked[callback] !== undefined) assertFunction(where, `${prefix}${callback}`, checked[callback]);
    }
    this.options = checked;
    this.attempts = checked.attempts ?? 3;
    this.backoff = checked.backoff ?? 1000;
    this.factor = checked.factor ?? 2;
    this.maxDelay = checked.maxDelay ?? 30_000;
    this.maxRetryAfter = checked.maxRetryAfter ?? 60_000;
    this.jitter = jitter;
  }

  /**
   * Decides what follows a failed attempt. A throwing `retryIf`, `retryAfter` or `onRetry` ends the retries with its
   * own error, and so does a `retryIf` or `retryAfter` that answers with a Promise or a wait that is not one. An async
   * `onRetry` is not waited for; its rejection goes to `onAsyncError`.
   */
  decide(error: unknown, attempt: number, onAsyncError: (error: unknown) => void = ignore): RetryDecision {
    let serverWaitMs: number | undefined;
    try {
      serverWaitMs = this.serverWait(error);
      // A server that asks for longer than the cap is not waited for, by this item or through the limiter.
      if (serverWaitMs !== undefined && serverWaitMs > this.maxRetryAfter) {
        return { retry: false, error, serverWaitMs: undefined };
      }
      const retryable =
        attempt < this.attempts &&
        !(error instanceof NonRetryableError) &&
        !isCancellation(error) &&
        (this.options.retryIf === undefined || this.retryIf(error, attempt));
      if (!retryable) return { retry: false, error, serverWaitMs };
      const delayMs = serverWaitMs ?? this.backoffDelay(attempt);
      watchCallbackResult(this.options.onRetry?.({ error, attempt, delayMs }), onAsyncError);
      return { retry: true, delayMs, serverWaitMs };
    } catch (callbackError) {
      return { retry: false, error: callbackError, serverWaitMs };
    }
  }

  private retryIf(error: unknown, attempt: number): boolean {
    const answer = this.options.retryIf?.(error, attempt);
    assertSynchronousResult(this.where, `${this.prefix}retryIf`, answer);
    return Boolean(answer);
  }

  /** The server's wait for this error, when `retryAfter` gives one: a finite number of ms ≥ 0, or `undefined`. */
  serverWait(error: unknown): number | undefined {
    const wait = this.options.retryAfter?.(error);
    assertSynchronousResult(this.where, `${this.prefix}retryAfter`, wait);
    if (wait === undefined || wait === null) return undefined;
    if (typeof wait !== 'number') {
      throw new TypeError(
        `${this.where}: \`${this.prefix}retryAfter\` must return a number of ms or undefined, got ${describe(wait)}`,
      );
    }
    if (!(wait >= 0) || !Number.isFinite(wait)) {
      throw new RangeError(
        `${this.where}: \`${this.prefix}retryAfter\` must return a finite number of ms ≥ 0, got ${String(wait)}`,
      );
    }
    return wait;
  }

  /** The backoff before the attempt after `attempt`: `backoff × factor^(attempt−1)`, capped, then jittered. */
  backoffDelay(attempt: number): number {
    const base = Math.min(this.backoff * this.factor ** (attempt - 1), this.maxDelay);
    const jitter = this.jitter;
    if (jitter === 'none') return base;
    if (jitter === 'full') return Math.random() * base;
    if (jitter === 'equal') return base / 2 + (Math.random() * base) / 2;
    return Math.min(base * (1 - jitter + 2 * jitter * Math.random()), this.maxDelay);
  }
}

const ignore = () => {};

/**
 * Reads an HTTP `Retry-After` header in either of its forms, a number of seconds (`"120"`) or an HTTP date
 * (`"Wed, 21 Oct 2026 07:28:00 GMT"`), and returns the wait in milliseconds; `undefined` for a missing or malformed
 * header. A date in the past is a wait of 0.
 *
 * @example
 * ```ts
 * import { parseRetryAfter } from 'rxtask';
 *
 * console.log(parseRetryAfter('120')); // 120000
 * console.log(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('2015-10-21T07:27:00Z'))); // 60000
 * console.log(parseRetryAfter('soon')); // undefined
 * ```
 */
export function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (typeof header !== 'string') return undefined;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  // An HTTP date names its weekday and month in letters; a bare number or ISO string is not one.
  if (!/[a-z]/i.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
