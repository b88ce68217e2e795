import { describe } from './validate.js';

/**
 * A value passed whole to every call of a mapped task, as Prefect's `unmapped`.
 *
 * @example
 * ```ts
 * import { task, Unmapped, unmapped } from 'rxtask';
 *
 * const wrapped = unmapped([1, 2, 3]);
 * const sumWith = task((x: number, list: number[]) => x + list.length);
 * console.log(wrapped instanceof Unmapped, (await sumWith.map([10, 20], wrapped)).values()); // true [13, 23]
 * ```
 */
export class Unmapped<T> {
  constructor(
    /** The value every call receives. */
    readonly value: T,
  ) {}
}

/**
 * Marks an argument of `task.map` as the same for every item instead of one to iterate (Prefect's `unmapped`).
 *
 * @example
 * ```ts
 * import { task, unmapped } from 'rxtask';
 *
 * const scale = task((x: number, factor: number) => x * factor);
 * const result = await scale.map([1, 2, 3], unmapped(10));
 * console.log(result.values()); // [10, 20, 30]
 * ```
 */
export function unmapped<T>(value: T): Unmapped<T> {
  return new Unmapped(value);
}

/** What a map argument can be: something to iterate, or an unmapped value. @internal */
type MapArgument = Iterable<unknown> | AsyncIterable<unknown> | Unmapped<unknown>;

/**
 * Turns several map arguments into one input of argument tuples: mapped ones are zipped, unmapped ones repeated.
 * Sized inputs (arrays, Sets, Maps) of unequal length are a RangeError naming them; unsized ones stop with the
 * shortest, as Python's `zip`. @internal
 */
export function zipArguments(
  where: string,
  args: readonly MapArgument[],
): Iterable<unknown[]> | AsyncIterable<unknown[]> {
  const mapped = args.flatMap((arg, position) => (arg instanceof Unmapped ? [] : [{ arg, position }]));
  if (mapped.length === 0) {
    throw new TypeError(
      `${where}: give at least one Iterable or AsyncIterable to map over; every argument is unmapped`,
    );
  }
  const sized = mapped
    .map(({ arg, position }) => ({ position, size: sizeOf(arg) }))
    .filter((entry): entry is { position: number; size: number } => entry.size !== undefined);
  const mismatch = sized.find((entry) => entry.size !== sized[0].size);
  if (mismatch !== undefined) {
    throw new RangeError(
      `${where}: argument ${sized[0].position + 1} has ${sized[0].size} items but argument ${mismatch.position + 1} has ${mismatch.size}`,
    );
  }
  // As `for await` does, an argument with both protocols is read through Symbol.asyncIterator.
  const isAsync = mapped.some(
    ({ arg }) => Symbol.asyncIterator in (arg as object) || !(Symbol.iterator in (arg as object)),
  );
  if (isAsync) return zipAsync(args);
  const syncArgs = args as readonly (Iterable<unknown> | Unmapped<unknown>)[];
  // Every mapped argument sized: so is the zip, and a cancelled map reports the items it never started.
  return sized.length === mapped.length && sized.length > 0
    ? new SizedZip(sized[0].size, () => zipSync(syncArgs))
    : zipSync(syncArgs);
}

function* zipSync(args: readonly (Iterable<unknown> | Unmapped<unknown>)[]): Generator<unknown[]> {
  const iterators = args.map((arg) => (arg instanceof Unmapped ? undefined : arg[Symbol.iterator]()));
  try {
    for (;;) {
      const tuple = new Array<unknown>(args.length);
      for (let i = 0; i < args.length; i++) {
        const iterator = iterators[i];
        if (iterator === undefined) {
          tuple[i] = (args[i] as Unmapped<unknown>).value;
          continue;
        }
        const step = iterator.next();
        if (step.done) return;
        tuple[i] = step.value;
      }
      yield tuple;
    }
  } finally {
    for (const iterator of iterators) iterator?.return?.();
  }
}

async function* zipAsync(args: readonly MapArgument[]): AsyncGenerator<unknown[]> {
  const iterators = args.map((arg) => {
    if (arg instanceof Unmapped) return undefined;
    return Symbol.asyncIterator in arg
      ? (arg as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (arg as Iterable<unknown>)[Symbol.iterator]();
  });
  try {
    for (;;) {
      const tuple = new Array<unknown>(args.length);
      for (let i = 0; i < args.length; i++) {
        const iterator = iterators[i];
        if (iterator === undefined) {
          tuple[i] = (args[i] as Unmapped<unknown>).value;
          continue;
        }
        const step = await iterator.next();
        if (step.done) return;
        tuple[i] = step.value;
      }
      yield tuple;
    }
  } finally {
    for (const iterator of iterators) await iterator?.return?.();
  }
}

/** The length of an array-like, or the size of a Set or Map; `undefined` when it is only known by iterating. @internal */
export function sizeOf(items: unknown): number | undefined {
  if (Array.isArray(items) || ArrayBuffer.isView(items)) return (items as ArrayLike<unknown>).length;
  if (items instanceof SizedZip) return items.size;
  if (items instanceof Set || items instanceof Map) return items.size;
  return undefined;
}

/** Checks that a map argument can be iterated. @internal */
export function assertMapArgument(where: string, position: number, arg: unknown): void {
  if (arg instanceof Unmapped) return;
  const iterable =
    arg !== null &&
    (typeof arg === 'object' || typeof arg === 'string') &&
    (Symbol.iterator in Object(arg) || Symbol.asyncIterator in Object(arg));
  if (!iterable) {
    throw new TypeError(
      `${where}: argument ${position + 1} must be an Iterable, an AsyncIterable or unmapped(value), got ${describe(arg)}`,
    );
  }
}

/** The zip of sized arguments: iterable once per run, of a known size. @internal */
class SizedZip implements Iterable<unknown[]> {
  constructor(
    readonly size: number,
    private readonly zip: () => Iterator<unknown[]>,
  ) {}

  [Symbol.iterator](): Iterator<unknown[]> {
    return this.zip();
  }
}
