import { BufferOverflowError, NonRetryableError, NotStartedError, TimeoutError, UpstreamError } from './errors.js';

/**
 * How an error crosses a boundary (a worker thread, a BullMQ job) and is rebuilt on the other side: its class when it
 * is a standard one, its name, message, stack, cause (itself encoded when an error) and own properties such as `code`.
 * The worker threads' script (`workers/worker-entry.mjs`, plain JavaScript) encodes in the same shape.
 *
 * Decoding treats what it is given as data: it never sets a prototype (properties are defined, not assigned, so a
 * `__proto__` key stays an ordinary property) and never runs code. @internal
 */

/** Marks an encoded error among plain values. */
export const ERROR_KEY = '__rxtaskWorkerError__';

/** An error as plain data. @internal */
export interface EncodedError {
  readonly [ERROR_KEY]: true;
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly cause?: unknown;
  readonly [property: string]: unknown;
}

/** The classes an error is rebuilt as, by name: the standard ones and rxtask's own. Any other name is an `Error`. */
const KNOWN_CLASSES: Record<string, { prototype: Error }> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  NonRetryableError,
  TimeoutError,
  NotStartedError,
  UpstreamError,
  BufferOverflowError,
};

/** True for what `encodeError` makes. */
export function isEncodedError(value: unknown): value is EncodedError {
  return value !== null && typeof value === 'object' && (value as Record<string, unknown>)[ERROR_KEY] === true;
}

/**
 * Encodes an error (or any thrown value) as plain data. With `toJson`, every part is made JSON-safe (a property JSON
 * cannot carry becomes its string form), for a wire that speaks JSON.
 */
export function encodeError(error: unknown, toJson = false): EncodedError {
  const plain = (value: unknown) => (toJson ? jsonSafe(value) : value);
  if (!(error instanceof Error)) {
    return { [ERROR_KEY]: true, name: 'Error', message: String(error), value: plain(error) };
  }
  const encoded: Record<string, unknown> = {
    [ERROR_KEY]: true,
    name: String(error.name),
    message: String(error.message),
    stack: error.stack,
  };
  if ('cause' in error)
    encoded.cause = error.cause instanceof Error ? encodeError(error.cause, toJson) : plain(error.cause);
  for (const key of Object.keys(error)) if (!(key in encoded)) encoded[key] = plain((error as never)[key]);
  return encoded as EncodedError;
}

/** Rebuilds an error from `encodeError`'s data. */
export function decodeError(encoded: EncodedError): Error {
  const { name, message, stack, cause, value, [ERROR_KEY]: _marker, ...properties } = encoded;
  if (value !== undefined && name === 'Error' && stack === undefined) {
    // A thrown non-error comes back as the value itself, as it was thrown.
    return value as Error;
  }
  const decodedCause = isEncodedError(cause) ? decodeError(cause) : cause;
  const rebuilt =
    cause === undefined ? new Error(String(message)) : new Error(String(message), { cause: decodedCause });
  // The class comes from a fixed list, by name: data never chooses a prototype of its own.
  const known = Object.hasOwn(KNOWN_CLASSES, String(name)) ? KNOWN_CLASSES[String(name)] : Error;
  if (known !== Error) Object.setPrototypeOf(rebuilt, known.prototype);
  Object.defineProperty(rebuilt, 'name', { value: String(name), configurable: true, writable: true });
  if (typeof stack === 'string') rebuilt.stack = stack;
  for (const key of Object.keys(properties)) {
    Object.defineProperty(rebuilt, key, {
      value: properties[key],
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }
  return rebuilt;
}

/** A value JSON carries as it is, else its string form. */
function jsonSafe(value: unknown): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(JSON.stringify(value)) as unknown;
  } catch {
    return String(value);
  }
}
