import { digest } from '../task-identity.js';
import { describe } from '../validate.js';

/**
 * The part of a cache key that comes from a call's arguments: a stable text of them (the key order of plain objects
 * does not matter), hashed. A value that has no stable text (a function, a symbol, an instance of a class other than
 * Date) is a TypeError naming the argument, rather than a key that silently collides. @internal
 */
export function argumentsKey(where: string, args: readonly unknown[]): string {
  return digest(args.map((arg, position) => stableText(arg, `argument ${position + 1}`, where, new Set())).join(','));
}

/** Deeper than this, a value is refused rather than walked (the stack is finite). */
const MAX_DEPTH = 1_000;

function stableText(value: unknown, path: string, where: string, seen: Set<unknown>): string {
  if (seen.size > MAX_DEPTH) {
    throw new TypeError(`${where}: cache: ${path} is nested more than ${MAX_DEPTH} deep for a cache key`);
  }
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : `#${String(value)}`;
    case 'boolean':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'undefined':
      return 'u';
    case 'object': {
      if (value === null) return 'null';
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) break;
        return `D${value.toISOString()}`;
      }
      if (seen.has(value)) throw new TypeError(`${where}: cache: ${path} refers to itself, which no key can hold`);
      seen.add(value);
      try {
        if (Array.isArray(value)) {
          return `[${value.map((item, i) => stableText(item, `${path}[${i}]`, where, seen)).join(',')}]`;
        }
        const prototype = Object.getPrototypeOf(value);
        if (prototype === Object.prototype || prototype === null) {
          const keys = Object.keys(value).sort();
          const entries = keys.map(
            (key) =>
              `${JSON.stringify(key)}:${stableText((value as Record<string, unknown>)[key], `${path}.${key}`, where, seen)}`,
          );
          return `{${entries.join(',')}}`;
        }
      } finally {
        seen.delete(value);
      }
      break;
    }
    default:
      break;
  }
  throw new TypeError(
    `${where}: cache: ${path} (${describe(value)}) cannot be part of a cache key; give the task a \`cache.key\` function`,
  );
}
