import { describe } from '../validate.js';

/**
 * A starmap item as the function's argument list: an array (or array-like). Any other item is that item's own
 * TypeError, named for what it is, instead of V8's `CreateListFromArrayLike` message. @internal
 */
export function asArguments(item: unknown): unknown[] {
  if (Array.isArray(item)) return item;
  if (typeof item === 'object' && item !== null && typeof (item as { length?: unknown }).length === 'number') {
    return item as unknown[];
  }
  throw new TypeError(`starmap: each item must be an array of arguments, got ${describe(item)}`);
}
