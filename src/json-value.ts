import { describe } from './validate.js';

/** Deeper than this, a value is refused rather than walked (the stack is finite). */
const MAX_DEPTH = 1_000;

/**
 * Throws a TypeError (naming where in the value) unless `value` is JSON that comes back exactly as it went: plain
 * objects and arrays of strings, finite numbers (not -0), booleans and null. A Map, a Set, a Date, a class instance, a
 * function, a BigInt, NaN, `undefined` inside it, an array with holes or extra properties, symbol keys or a
 * null-prototype object would come back different, or not at all. `undefined` itself is allowed: stores wrap it.
 * @internal
 */
export function assertJsonValue(where: string, value: unknown, what: string): void {
  if (value === undefined) return;
  check(value, 'the value', 0);

  function check(inner: unknown, path: string, depth: number): void {
    if (inner === null || typeof inner === 'string' || typeof inner === 'boolean') return;
    if (typeof inner === 'number' && Number.isFinite(inner) && !Object.is(inner, -0)) return;
    if (typeof inner === 'object' && depth < MAX_DEPTH && Object.getOwnPropertySymbols(inner).length === 0) {
      if (Array.isArray(inner)) {
        if (Object.keys(inner).length === inner.length) {
          for (let i = 0; i < inner.length; i++) check(inner[i], `${path}[${i}]`, depth + 1);
          return;
        }
      } else if (Object.getPrototypeOf(inner) === Object.prototype) {
        for (const [key, item] of Object.entries(inner)) check(item, `${path}.${key}`, depth + 1);
        return;
      }
    }
    throw new TypeError(
      `${where}: ${what} as JSON without change: ${path} is ${depth >= MAX_DEPTH ? 'nested too deep' : describe(inner)}`,
    );
  }
}
