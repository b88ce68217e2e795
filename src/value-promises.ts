import { EmptyError, type Observable, type Unsubscribable } from 'rxjs';
import { assertOptions, assertSignal, describe } from './validate.js';

/**
 * Options of {@link firstValue} and {@link lastValue}.
 *
 * @example
 * ```ts
 * import { of } from 'rxjs';
 * import { firstValue, type ValueOptions } from 'rxtask';
 *
 * const options: ValueOptions<string> = { signal: AbortSignal.timeout(1_000), defaultValue: 'none' };
 * console.log(await firstValue(of<string>(), options)); // 'none'
 * ```
 */
export interface ValueOptions<D> {
  /** Rejects with `signal.reason` when it aborts, and unsubscribes from the source. */
  signal?: AbortSignal;
  /** Resolved instead of rejecting with RxJS's `EmptyError` when the source completes without a value. */
  defaultValue?: D;
}

const VALUE_OPTIONS = ['signal', 'defaultValue'] as const;

/**
 * Subscribes to `source` and resolves its first value, then unsubscribes. RxJS's `firstValueFrom` with an AbortSignal
 * (rxjs#6442): aborting rejects with the signal's reason and unsubscribes, and an already-aborted signal rejects at
 * once without subscribing.
 *
 * @example
 * ```ts
 * import { interval } from 'rxjs';
 * import { firstValue } from 'rxtask';
 *
 * const first = await firstValue(interval(10), { signal: AbortSignal.timeout(1_000) });
 * console.log(first); // 0
 * ```
 */
export function firstValue<T, D = never>(source: Observable<T>, options?: ValueOptions<D>): Promise<T | D> {
  return settleFrom('firstValue', source, options, true);
}

/**
 * Subscribes to `source` and resolves the last value it emitted when it completes. RxJS's `lastValueFrom` with an
 * AbortSignal: aborting rejects with the signal's reason and unsubscribes.
 *
 * @example
 * ```ts
 * import { of } from 'rxjs';
 * import { lastValue } from 'rxtask';
 *
 * console.log(await lastValue(of(1, 2, 3))); // 3
 * ```
 */
export function lastValue<T, D = never>(source: Observable<T>, options?: ValueOptions<D>): Promise<T | D> {
  return settleFrom('lastValue', source, options, false);
}

function settleFrom<T, D>(
  where: string,
  source: Observable<T>,
  options: ValueOptions<D> | undefined,
  first: boolean,
): Promise<T | D> {
  if (source === null || typeof source !== 'object' || typeof source.subscribe !== 'function') {
    throw new TypeError(`${where}: \`source\` must be an Observable, got ${describe(source)}`);
  }
  const checked = assertOptions<ValueOptions<D>>(where, options, VALUE_OPTIONS);
  assertSignal(where, 'signal', checked?.signal);
  const signal = checked?.signal;
  const hasDefault = checked !== undefined && 'defaultValue' in checked;

  return new Promise<T | D>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    let subscription: Unsubscribable | undefined;
    let settled = false;
    let hasValue = false;
    let latest: T | undefined;
    const onAbort = () => finish(() => reject(signal?.reason));
    function finish(settle: () => void) {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      subscription?.unsubscribe();
      settle();
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    subscription = source.subscribe({
      next(value) {
        if (first) {
          finish(() => resolve(value));
        } else {
          hasValue = true;
          latest = value;
        }
      },
      error: (error: unknown) => finish(() => reject(error)),
      complete: () =>
        finish(() => {
          if (hasValue) resolve(latest as T);
          else if (hasDefault) resolve(checked.defaultValue as D);
          else reject(new EmptyError());
        }),
    });
    // The source may have settled synchronously, before `subscription` was assigned.
    if (settled) subscription.unsubscribe();
  });
}
