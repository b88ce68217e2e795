/** Argument checks shared by every entry point: each throws at the call and names the option and the value. @internal */

/** A short, readable rendering of a bad value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value)} (string)`;
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') {
    const constructorName = (value as object).constructor?.name ?? 'Object';
    return Array.isArray(value) ? `an array` : `an object (${constructorName})`;
  }
  return `${String(value)} (${typeof value})`;
}

export function assertFunction(where: string, option: string, value: unknown): void {
  if (typeof value !== 'function') {
    throw new TypeError(`${where}: \`${option}\` must be a function, got ${describe(value)}`);
  }
}

/** Accepts `undefined` or a plain object whose keys are all known; returns it typed. */
export function assertOptions<T extends object>(
  where: string,
  value: unknown,
  known: readonly string[],
): T | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${where}: \`options\` must be an object, got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const near = nearestName(key, known);
      const hint = near === undefined ? `known options: ${known.join(', ')}` : `did you mean \`${near}\`?`;
      throw new TypeError(`${where}: unknown option \`${key}\` (${hint})`);
    }
  }
  return value as T;
}

/**
 * The name among `names` that `key` misspells: at most two letters added, dropped or changed (one for names under
 * seven letters), or `undefined`.
 */
export function nearestName(key: string, names: readonly string[]): string | undefined {
  let nearest: string | undefined;
  let nearestDistance = Number.POSITIVE_INFINITY;
  for (const name of names) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (distance < nearestDistance && distance <= (name.length < 7 ? 1 : 2)) {
      nearest = name;
      nearestDistance = distance;
    }
  }
  return nearest;
}

/** Levenshtein's distance: the fewest letters added, dropped or changed to turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const changed = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, changed));
    }
    previous = current;
  }
  return previous[b.length];
}

export function assertString(where: string, option: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'string') {
    throw new TypeError(`${where}: \`${option}\` must be a string, got ${describe(value)}`);
  }
}

export function assertBoolean(where: string, option: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new TypeError(`${where}: \`${option}\` must be a boolean, got ${describe(value)}`);
  }
}

export function assertSignal(where: string, option: string, value: unknown): void {
  if (
    value !== undefined &&
    !(
      typeof value === 'object' &&
      value !== null &&
      typeof (value as AbortSignal).aborted === 'boolean' &&
      typeof (value as AbortSignal).addEventListener === 'function' &&
      typeof (value as AbortSignal).removeEventListener === 'function'
    )
  ) {
    throw new TypeError(`${where}: \`${option}\` must be an AbortSignal, got ${describe(value)}`);
  }
}

/** A positive integer, or `Infinity` when `allowInfinity`. */
export function assertPositiveInteger(where: string, option: string, value: unknown, allowInfinity: boolean): void {
  if (value === undefined) return;
  if (typeof value !== 'number') {
    throw new TypeError(`${where}: \`${option}\` must be a number, got ${describe(value)}`);
  }
  const ok = (allowInfinity && value === Number.POSITIVE_INFINITY) || (Number.isInteger(value) && value >= 1);
  if (!ok) {
    const expected = allowInfinity ? 'a positive integer or Infinity' : 'a positive integer';
    throw new RangeError(`${where}: \`${option}\` must be ${expected}, got ${String(value)}`);
  }
}

/** A finite number ≥ 0. */
export function assertNonNegative(where: string, option: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number') {
    throw new TypeError(`${where}: \`${option}\` must be a number, got ${describe(value)}`);
  }
  if (!(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(`${where}: \`${option}\` must be a finite number ≥ 0, got ${String(value)}`);
  }
}

/** A number of milliseconds ≥ 0, or `Infinity` for never. */
export function assertDuration(where: string, option: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number') {
    throw new TypeError(`${where}: \`${option}\` must be a number of ms, got ${describe(value)}`);
  }
  if (!(value >= 0)) {
    throw new RangeError(`${where}: \`${option}\` must be a number of ms ≥ 0 (or Infinity), got ${String(value)}`);
  }
}

/** An RxJS SchedulerLike: something with `now()` and `schedule()`. */
export function assertScheduler(where: string, option: string, value: unknown): void {
  if (value === undefined) return;
  const ok =
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { now?: unknown }).now === 'function' &&
    typeof (value as { schedule?: unknown }).schedule === 'function';
  if (!ok) throw new TypeError(`${where}: \`${option}\` must be an RxJS SchedulerLike, got ${describe(value)}`);
}
