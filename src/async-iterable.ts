import type { Observable } from 'rxjs';
import { BufferOverflowError } from './errors.js';
import { Queue } from './queue.js';
import { UpstreamSubscriber } from './upstream-subscriber.js';
import { assertOptions, assertPositiveInteger, describe } from './validate.js';

/**
 * What {@link toAsyncIterable} does when a source pushes faster than the loop pulls and the buffer is full.
 *
 * @example
 * ```ts
 * import { interval, take } from 'rxjs';
 * import { type OverflowPolicy, toAsyncIterable } from 'rxtask';
 *
 * const overflow: OverflowPolicy = 'drop-oldest'; // keep the latest values of a hot source
 * for await (const n of toAsyncIterable(interval(1).pipe(take(3)), { bufferSize: 8, overflow })) console.log(n);
 * ```
 */
export type OverflowPolicy = 'error' | 'drop-oldest' | 'drop-newest';

/**
 * Options of {@link toAsyncIterable}.
 *
 * @example
 * ```ts
 * import { of } from 'rxjs';
 * import { type AsyncIterableOptions, toAsyncIterable } from 'rxtask';
 *
 * const options: AsyncIterableOptions = { bufferSize: 10_000, overflow: 'error' };
 * for await (const n of toAsyncIterable(of(1, 2), options)) console.log(n); // 1, 2
 * ```
 */
export interface AsyncIterableOptions {
  /** How many values may wait for the loop. Default `1024`; `Infinity` never drops nor fails. */
  bufferSize?: number;
  /**
   * When the buffer is full: `'error'` (default) ends the iteration with a `BufferOverflowError` after the buffered
   * values, so nothing is lost silently; `'drop-oldest'` and `'drop-newest'` discard a value and go on.
   */
  overflow?: OverflowPolicy;
}

const ITERABLE_OPTIONS = ['bufferSize', 'overflow'] as const;
const POLICIES: readonly OverflowPolicy[] = ['error', 'drop-oldest', 'drop-newest'];

/**
 * Turns an Observable into an AsyncIterable for `for await`.
 *
 * Lazy sources get real backpressure: nothing is subscribed until the loop asks for the first value, so a TaskRun
 * does not start before it is iterated, and a source that is itself async-iterable (a `ParallelRun`, which admits new
 * work only as the loop pulls) is iterated directly. A hot source cannot be paused, so its values wait in a bounded
 * buffer (see {@link AsyncIterableOptions}). Leaving the loop early (`break`, `return`, a throw) unsubscribes.
 * Values buffered before an error are yielded before the error is thrown.
 *
 * @example
 * ```ts
 * import { interval, take } from 'rxjs';
 * import { toAsyncIterable } from 'rxtask';
 *
 * for await (const n of toAsyncIterable(interval(5).pipe(take(3)))) console.log(n); // 0, 1, 2
 * ```
 */
export function toAsyncIterable<T>(source: Observable<T>, options?: AsyncIterableOptions): AsyncIterable<T> {
  if (source === null || typeof source !== 'object' || typeof source.subscribe !== 'function') {
    throw new TypeError(`toAsyncIterable: \`source\` must be an Observable, got ${describe(source)}`);
  }
  const checked = assertOptions<AsyncIterableOptions>('toAsyncIterable', options, ITERABLE_OPTIONS) ?? {};
  assertPositiveInteger('toAsyncIterable', 'bufferSize', checked.bufferSize, true);
  if (checked.overflow !== undefined && !POLICIES.includes(checked.overflow)) {
    throw new TypeError(
      `toAsyncIterable: \`overflow\` must be one of ${POLICIES.join(', ')}, got ${describe(checked.overflow)}`,
    );
  }
  const own = (source as Partial<AsyncIterable<T>>)[Symbol.asyncIterator];
  if (typeof own === 'function') return { [Symbol.asyncIterator]: () => own.call(source) };
  const bufferSize = checked.bufferSize ?? 1024;
  const overflow = checked.overflow ?? 'error';
  return { [Symbol.asyncIterator]: () => new ObservableIterator(source, bufferSize, overflow) };
}

/** An iterator over an Observable's values through a bounded buffer, ignoring any async iterator of its own. @internal */
export function observableIterator<T>(
  source: Observable<T>,
  bufferSize: number,
  overflow: OverflowPolicy,
): AsyncIterator<T> {
  return new ObservableIterator(source, bufferSize, overflow);
}

type Waiter<T> = { resolve(result: IteratorResult<T>): void; reject(error: unknown): void };

class ObservableIterator<T> implements AsyncIterator<T> {
  private readonly buffer = new Queue<T>();
  private readonly waiters = new Queue<Waiter<T>>();
  private subscriber: UpstreamSubscriber<T> | undefined = undefined;
  private started = false;
  private ended = false;
  private failed = false;
  private failure: unknown = undefined;

  constructor(
    private readonly source: Observable<T>,
    private readonly bufferSize: number,
    private readonly overflow: OverflowPolicy,
  ) {}

  next(): Promise<IteratorResult<T>> {
    if (!this.started) this.start();
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift() as T, done: false });
    if (this.failed) {
      this.failed = false;
      this.ended = true;
      return Promise.reject(this.failure);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.stop();
    return Promise.resolve({ value: undefined, done: true });
  }

  private start(): void {
    this.started = true;
    // Made before the source is subscribed, so an overflow or a `return()` closes it at once: a synchronous source
    // that checks `subscriber.closed` stops in the middle of its loop.
    this.subscriber = new UpstreamSubscriber<T>(undefined, {
      next: (value) => this.push(value),
      error: (error: unknown) => this.fail(error),
      complete: () => this.finish(),
    });
    this.source.subscribe(this.subscriber);
  }

  private push(value: T): void {
    if (this.ended || this.failed) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve({ value, done: false });
      return;
    }
    if (this.buffer.length < this.bufferSize) {
      this.buffer.push(value);
    } else if (this.overflow === 'drop-oldest') {
      this.buffer.shift();
      this.buffer.push(value);
    } else if (this.overflow === 'error') {
      this.subscriber?.unsubscribe();
      this.fail(
        new BufferOverflowError(
          `toAsyncIterable: more than ${this.bufferSize} values waited for the loop (raise \`bufferSize\` or choose an \`overflow\` policy)`,
        ),
      );
    }
  }

  private fail(error: unknown): void {
    if (this.ended || this.failed) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.ended = true;
      waiter.reject(error);
      this.drainWaiters();
      return;
    }
    this.failed = true;
    this.failure = error;
  }

  private finish(): void {
    if (this.ended || this.failed) return;
    this.ended = true;
    this.drainWaiters();
  }

  private stop(): void {
    this.ended = true;
    this.failed = false;
    this.buffer.clear();
    this.subscriber?.unsubscribe();
    this.drainWaiters();
  }

  private drainWaiters(): void {
    for (let waiter = this.waiters.shift(); waiter !== undefined; waiter = this.waiters.shift()) {
      waiter.resolve({ value: undefined, done: true });
    }
  }
}
