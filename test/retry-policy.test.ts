import { afterEach, describe, expect, it, vi } from 'vitest';
import { NonRetryableError, parseRetryAfter, TimeoutError } from '../src/index.js';
import { RetryPolicy } from '../src/policies/retry-policy.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('RetryPolicy', () => {
  it('backs off exponentially from `backoff` by `factor`, capped at `maxDelay`', () => {
    const policy = new RetryPolicy('test', { attempts: 10, backoff: 100, factor: 3, maxDelay: 2_000, jitter: 'none' });
    expect([1, 2, 3, 4, 5].map((attempt) => policy.backoffDelay(attempt))).toEqual([100, 300, 900, 2_000, 2_000]);
  });

  it('uses full jitter by default: uniform in [0, delay]', () => {
    const policy = new RetryPolicy('test', { backoff: 1_000 });
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    expect(policy.backoffDelay(2)).toBe(500);
  });

  it('supports equal jitter and a jitter factor', () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    expect(new RetryPolicy('test', { backoff: 1_000, jitter: 'equal' }).backoffDelay(1)).toBe(1_000);
    expect(new RetryPolicy('test', { backoff: 1_000, jitter: 0.5 }).backoffDelay(1)).toBe(1_500);
    vi.spyOn(Math, 'random').mockReturnValue(0);
    expect(new RetryPolicy('test', { backoff: 1_000, jitter: 'equal' }).backoffDelay(1)).toBe(500);
    expect(new RetryPolicy('test', { backoff: 1_000, jitter: 0.5 }).backoffDelay(1)).toBe(500);
  });

  it('counts `attempts` with the first one: attempts 3 is two retries', () => {
    const policy = new RetryPolicy('test', { attempts: 3, jitter: 'none', backoff: 10 });
    const error = new Error('x');
    expect(policy.decide(error, 1)).toMatchObject({ retry: true, delayMs: 10 });
    expect(policy.decide(error, 2)).toMatchObject({ retry: true, delayMs: 20 });
    expect(policy.decide(error, 3)).toEqual({ retry: false, error, serverWaitMs: undefined });
  });

  it('never retries a cancellation or a NonRetryableError, and retries a timeout', () => {
    const policy = new RetryPolicy('test', { attempts: 5 });
    expect(policy.decide(new DOMException('stop', 'AbortError'), 1).retry).toBe(false);
    expect(policy.decide(new NonRetryableError('no'), 1).retry).toBe(false);
    expect(policy.decide(new TimeoutError('slow', 10), 1).retry).toBe(true);
  });

  it('asks retryIf with the error and attempt', () => {
    const retryIf = vi.fn((error: unknown) => (error as Error).message === 'again');
    const policy = new RetryPolicy('test', { retryIf });
    expect(policy.decide(new Error('again'), 1).retry).toBe(true);
    expect(policy.decide(new Error('stop'), 2).retry).toBe(false);
    expect(retryIf).toHaveBeenLastCalledWith(new Error('stop'), 2);
  });

  it("lets a server's wait replace the backoff, with no jitter or cap", () => {
    const policy = new RetryPolicy('test', { maxDelay: 100, retryAfter: () => 5_000 });
    expect(policy.decide(new Error('429'), 1)).toMatchObject({ retry: true, delayMs: 5_000, serverWaitMs: 5_000 });
  });

  it("does not wait out a server's wait above maxRetryAfter (a minute by default), nor pass it on to the limiter", () => {
    const error = new Error('429');
    const byDefault = new RetryPolicy('test', { retryAfter: () => 60_001 });
    expect(byDefault.decide(error, 1)).toEqual({ retry: false, error, serverWaitMs: undefined });
    expect(new RetryPolicy('test', { retryAfter: () => 60_000 }).decide(error, 1)).toMatchObject({ retry: true });
    const raised = new RetryPolicy('test', { maxRetryAfter: Number.POSITIVE_INFINITY, retryAfter: () => 86_400_000 });
    expect(raised.decide(error, 1)).toMatchObject({ retry: true, delayMs: 86_400_000 });
    const capped = new RetryPolicy('test', { maxRetryAfter: 10, retryAfter: () => 11 });
    expect(capped.decide(error, 1).retry).toBe(false);
    expect(() => new RetryPolicy('test', { maxRetryAfter: -1 })).toThrow(
      new RangeError('test: `retry.maxRetryAfter` must be a number of ms ≥ 0 (or Infinity), got -1'),
    );
    expect(() => new RetryPolicy('test', { maxRetryAfter: '1m' as never })).toThrow(TypeError);
  });

  it('tells onRetry before each retry, and ends retrying with a callback that throws', () => {
    const onRetry = vi.fn();
    const policy = new RetryPolicy('test', { attempts: 2, backoff: 7, jitter: 'none', onRetry });
    const error = new Error('x');
    policy.decide(error, 1);
    expect(onRetry).toHaveBeenCalledWith({ error, attempt: 1, delayMs: 7 });
    const broken = new RetryPolicy('test', {
      retryIf: () => {
        throw new Error('bad predicate');
      },
    });
    expect(broken.decide(error, 1)).toMatchObject({ retry: false, error: new Error('bad predicate') });
  });

  it('throws at construction for bad options, naming them', () => {
    expect(() => new RetryPolicy('task', { attempts: 0 })).toThrow(/`retry.attempts` must be a positive integer/);
    expect(() => new RetryPolicy('task', { attempts: 1.5 })).toThrow(RangeError);
    expect(() => new RetryPolicy('task', { backoff: -1 })).toThrow(/`retry.backoff`/);
    expect(() => new RetryPolicy('task', { backoff: Number.NaN })).toThrow(RangeError);
    expect(() => new RetryPolicy('task', { maxDelay: -5 })).toThrow(RangeError);
    expect(() => new RetryPolicy('task', { factor: 0.5 })).toThrow(/`retry.factor` must be at least 1/);
    expect(() => new RetryPolicy('task', { jitter: 2 })).toThrow(RangeError);
    expect(() => new RetryPolicy('task', { jitter: 'some' as never })).toThrow(TypeError);
    expect(() => new RetryPolicy('task', { onRetry: 'log' as never })).toThrow(/`retry.onRetry` must be a function/);
    expect(() => new RetryPolicy('task', { tries: 3 } as never)).toThrow(/unknown option `tries`/);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter(' 0 ')).toBe(0);
    expect(parseRetryAfter('1.5')).toBe(1_500);
  });

  it('reads an HTTP date relative to now, and a past date as no wait', () => {
    const now = Date.parse('2026-11-21T10:00:00Z');
    expect(parseRetryAfter('Sat, 21 Nov 2026 10:01:30 GMT', now)).toBe(90_000);
    expect(parseRetryAfter('Sat, 21 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });

  it('gives undefined for a missing or malformed header', () => {
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('-5')).toBeUndefined();
    expect(parseRetryAfter('')).toBeUndefined();
  });
});
