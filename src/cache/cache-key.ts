import { hashText } from '../task-identity.js';
import { describe } from '../validate.js';

/**
 * The part of a cache key that comes from a call's arguments: a stable text of them (the key order of plain objects
 * does not matter), hashed. A value that has no stable text (a function, a symbol, an instance of a class other than
 * Date) is a TypeError naming the argument, rather than a key that silently collides. @internal
 */
export function argumentsKey(where: string, args: readonly unknown[]): string {
  return hashText(args.map((arg, position) => stableText(arg, `argument ${position + 1}`, where, new Set())).join(','));
}

function stableText(value: unknown, path: string, where: string, seen: Set<unknown>): string {
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
      if (value instanceof Date) return `D${value.toISOString()}`;
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
