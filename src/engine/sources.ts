import type { Observable } from 'rxjs';
import { BufferOverflowError } from '../errors.js';
import { Queue } from '../queue.js';
import { UpstreamSubscriber } from '../upstream-subscriber.js';
import type { FunctionTracker } from './function-tracker.js';

/** `pull()` found no item yet; the source calls its `wake` callback when one arrives or it ends. @internal */
export const PENDING: unique symbol = Symbol('pending');
/** `pull()` found the source exhausted. @internal */
export const EXHAUSTED: unique symbol = Symbol('exhausted');

/**
 * Where a parallel map's items come from. The engine pulls one item each time a slot is free, so a lazy source is read
 * no faster than the tasks run. @internal
 */
export interface ItemSource<T> {
  /** How many items there are, when that is known up front (arrays, Sets, Maps); else `undefined`. */
  readonly size: number | undefined;
  /** True when pulling runs no user code (an array, a buffered Observable); an iterator's `next()` is user code. */
  readonly pure?: boolean;
  /** Begins reading; `wake` is called when a pending pull can be retried, `fail` when the source itself fails. */
  open(wake: () => void, fail: (error: unknown) => void): void;
  /** The next item, if one is ready. Never throws: a source that fails reports it through `fail` and ends. */
  pull(): T | typeof PENDING | typeof EXHAUSTED;
  /** How many items are known but not yet pulled: they are marked as not started when a run ends early. */
  remaining(): number;
  /** Stops reading and releases the source (an iterator's `return()`, an unsubscribe). Lets go of the input; what of the user's it leaves pending (an async `next()`, a `return()`) goes to `calls`. */
  close(calls?: FunctionTracker): void;
}

/** Items of an array-like, by index: no iterator protocol on the hot path. */
export class ArraySource<T> implements ItemSource<T> {
  readonly pure = true;
  private next = 0;
  readonly size: number;

  constructor(private readonly items: ArrayLike<T>) {
    this.size = items.length;
  }

  open(): void {}

  pull(): T | typeof EXHAUSTED {
    return this.next < this.items.length ? this.items[this.next++] : EXHAUSTED;
  }

  remaining(): number {
    return this.items.length - this.next;
  }

  close(): void {}
}

/** Any Iterable, read one `next()` per free slot: a generator of 1e9 items is never materialized. */
export class IteratorSource<T> implements ItemSource<T> {
  private iterator: Iterator<T> | undefined = undefined;
  private fail: (error: unknown) => void = noop;
  private done = false;
  private pulled = 0;

  constructor(
    private readonly iterable: Iterable<T>,
    readonly size: number | undefined,
  ) {}

  open(_wake: () => void, fail: (error: unknown) => void): void {
    this.fail = fail;
    this.iterator = checkedIterator(this.iterable[Symbol.iterator](), 'Symbol.iterator');
  }

  pull(): T | typeof PENDING | typeof EXHAUSTED {
    if (this.done) return EXHAUSTED;
    let step: IteratorResult<T>;
    let done: boolean | undefined;
    try {
      step = (this.iterator as Iterator<T>).next();
      if (!isIteratorResult(step)) throw notAResult('an iterator', step);
      done = step.done;
    } catch (error) {
      // An iterator that throws (or breaks the protocol) is finished; it fails the run.
      this.done = true;
      this.fail(error);
      return PENDING;
    }
    if (done) {
      this.done = true;
      return EXHAUSTED;
    }
    this.pulled += 1;
    return step.value;
  }

  remaining(): number {
    return this.size === undefined ? 0 : Math.max(0, this.size - this.pulled);
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    // A cleanup that throws (a generator's `finally`) must not escape: the run settles as it would have.
    try {
      this.iterator?.return?.();
    } catch {}
  }
}

/** An AsyncIterable, with one `next()` outstanding at a time (not every async iterator allows more). */
export class AsyncIteratorSource<T> implements ItemSource<T> {
  readonly size = undefined;
  private iterator: AsyncIterator<T> | undefined = undefined;
  private wake: () => void = noop;
  private fail: (error: unknown) => void = noop;
  private waiting = false;
  private hasItem = false;
  private item: T | undefined = undefined;
  private done = false;
  /** The `next()` being waited for. */
  private pending: Promise<IteratorResult<T>> | undefined = undefined;
  private readonly onStep = (step: IteratorResult<T>) => {
    this.waiting = false;
    this.pending = undefined;
    if (this.done) return;
    let done: boolean | undefined;
    try {
      if (!isIteratorResult(step)) throw notAResult('an async iterator', step);
      done = step.done;
    } catch (error) {
      this.onError(error);
      return;
    }
    if (done) this.done = true;
    else {
      this.hasItem = true;
      this.item = step.value;
    }
    this.wake();
  };
  private readonly onError = (error: unknown) => {
    this.waiting = false;
    this.pending = undefined;
    if (this.done) return;
    this.done = true;
    this.fail(error);
  };

  constructor(private readonly iterable: AsyncIterable<T>) {}

  open(wake: () => void, fail: (error: unknown) => void): void {
    this.wake = wake;
    this.fail = fail;
    this.iterator = checkedIterator(this.iterable[Symbol.asyncIterator](), 'Symbol.asyncIterator');
  }

  pull(): T | typeof PENDING | typeof EXHAUSTED {
    if (this.hasItem) {
      const item = this.item as T;
      this.hasItem = false;
      this.item = undefined;
      return item;
    }
    if (this.done) return EXHAUSTED;
    if (!this.waiting) {
      this.waiting = true;
      try {
        const next = (this.iterator as AsyncIterator<T>).next();
        // As `for await` does, a `next()` that returns a plain object (not a Promise) is taken as its result.
        const pending = next instanceof Promise ? next : Promise.resolve(next);
        this.pending = pending;
        pending.then(this.onStep, this.onError);
      } catch (error) {
        this.onError(error);
      }
    }
    return PENDING;
  }

  remaining(): number {
    return this.hasItem ? 1 : 0;
  }

  close(calls?: FunctionTracker): void {
    if (this.done) return;
    this.done = true;
    // The input's code still running (a pending next(), then return()) is part of the run until it settles.
    if (this.pending !== undefined) calls?.waitFor(this.pending);
    // A generator's return() may throw, reject or run a finally that throws: none of it may escape.
    try {
      const closing = this.iterator?.return?.();
      if (closing !== undefined) {
        const settled = Promise.resolve(closing).then(noop, noop);
        calls?.waitFor(settled);
      }
    } catch {}
  }
}

/**
 * An Observable, which pushes: items that arrive while every slot is busy wait in a queue of at most `bufferSize`;
 * one more fails the run with a BufferOverflowError rather than lose an item silently.
 */
export class ObservableSource<T> implements ItemSource<T> {
  readonly pure = true;
  readonly size = undefined;
  private readonly buffer = new Queue<T>();
  private subscriber: UpstreamSubscriber<T> | undefined = undefined;
  private done = false;

  constructor(
    private readonly source: Observable<T>,
    private readonly bufferSize: number,
  ) {}

  open(wake: () => void, fail: (error: unknown) => void): void {
    // Made before the source is subscribed: closing the run closes it, and a synchronous source (from(bigArray),
    // range) that checks `subscriber.closed` stops in the middle of its loop.
    const subscriber = new UpstreamSubscriber<T>(undefined, {
      next: (item) => {
        if (this.buffer.length >= this.bufferSize) {
          subscriber.unsubscribe();
          fail(
            new BufferOverflowError(
              `mapParallel: more than ${this.bufferSize} items waited for a free slot (raise \`bufferSize\`, or give ` +
                'parallelMap an Iterable or AsyncIterable, which it reads only as slots free)',
            ),
          );
          return;
        }
        this.buffer.push(item);
        wake();
      },
      error: (error: unknown) => fail(error),
      complete: () => {
        this.done = true;
        wake();
      },
    });
    this.subscriber = subscriber;
    this.source.subscribe(subscriber);
  }

  remaining(): number {
    return this.buffer.length;
  }

  pull(): T | typeof PENDING | typeof EXHAUSTED {
    if (this.buffer.length > 0) return this.buffer.shift() as T;
    return this.done ? EXHAUSTED : PENDING;
  }

  close(): void {
    try {
      this.subscriber?.unsubscribe();
    } catch {
      // A source's teardown that throws must not keep the run from settling.
    }
  }
}

function noop(): void {}

function isIteratorResult(step: unknown): step is IteratorResult<unknown> {
  return (typeof step === 'object' && step !== null) || typeof step === 'function';
}

function notAResult(what: string, step: unknown): TypeError {
  const got = step === null ? 'null' : typeof step;
  return new TypeError(`parallelMap: ${what}'s next() must return an object like { value, done }, got ${got}`);
}

/** An `[Symbol.iterator]()` that returns no iterator is a clear TypeError, not a failure at the first `next()`. */
function checkedIterator<I>(iterator: I, method: string): I {
  if (typeof (iterator as { next?: unknown } | null)?.next !== 'function') {
    throw new TypeError(`parallelMap: the input's [${method}]() must return an iterator with a next() method`);
  }
  return iterator;
}
