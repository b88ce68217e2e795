import { Queue } from '../queue.js';
import { assertPositiveInteger, assertString, describe } from '../validate.js';
import { Waiter } from './waiter.js';

const registry = new Map<string, ConcurrencyLimit>();

/**
 * At most `limit` tasks running at once across every task, map and run given it: Prefect's tag concurrency limits.
 * Give the same instance (or the same name, see {@link ConcurrencyLimit.named}) as the `concurrencyLimit` option of
 * tasks and maps; each attempt holds a permit while it runs, and waiters go first come, first served.
 *
 * A task's children borrow the permits their ancestors hold, so a task that waits on children under the same limit
 * never deadlocks: the parent's permit covers its whole family. (In Node this follows the code across `await`; in a
 * browser only children started before the parent's first `await` borrow.)
 *
 * @example
 * ```ts
 * import { ConcurrencyLimit, parallelMap, task } from 'rxtask';
 *
 * const database = ConcurrencyLimit.named('database', 2);
 * let running = 0;
 * let peak = 0;
 * const query = task(
 *   async (n: number) => {
 *     peak = Math.max(peak, ++running);
 *     await new Promise((resolve) => setTimeout(resolve, 5));
 *     running -= 1;
 *     return n;
 *   },
 *   { concurrencyLimit: database },
 * );
 * await Promise.all([parallelMap(query, [1, 2, 3]), parallelMap(query, [4, 5, 6])]);
 * console.log(peak); // 2
 * ```
 */
export class ConcurrencyLimit {
  /** Permits in all. */
  readonly limit: number;
  /** The limit's name, when it has one. */
  readonly name: string | undefined;
  private inUse = 0;
  private readonly waiters = new Queue<Waiter>();
  private live = 0;
  private granting = false;

  constructor(limit: number, name?: string) {
    assertPositiveInteger('ConcurrencyLimit', 'limit', limit, false);
    if (limit === undefined) throw new TypeError('ConcurrencyLimit: `limit` is required');
    assertString('ConcurrencyLimit', 'name', name);
    this.limit = limit;
    this.name = name;
  }

  /**
   * The limit registered under `name`, made with `limit` permits on first use. Asking again with a different `limit`
   * is a RangeError: one name, one budget.
   */
  static named(name: string, limit?: number): ConcurrencyLimit {
    return namedLimit(name, limit);
  }

  /** Permits held now. */
  get active(): number {
    return this.inUse;
  }

  /** Tasks waiting for a permit. */
  get waiting(): number {
    return this.live;
  }

  /** Calls `grant` with a permit: at once (returning `undefined`) when one is free, else in turn. @internal */
  acquire(grant: () => void): Waiter | undefined {
    if (this.tryAcquire()) {
      grant();
      return undefined;
    }
    const waiter = new Waiter(this, grant);
    this.waiters.push(waiter);
    this.live += 1;
    return waiter;
  }

  /** Takes a permit if one is free and nobody waits before; false otherwise. @internal */
  tryAcquire(): boolean {
    if (this.inUse >= this.limit || this.live > 0) return false;
    this.inUse += 1;
    return true;
  }

  /**
   * Gives a permit back; the longest waiter gets it. A task granted here that ends at once releases inside this loop,
   * which goes on granting instead of recursing. @internal
   */
  release(): void {
    this.inUse -= 1;
    if (this.granting) return;
    this.granting = true;
    try {
      while (this.inUse < this.limit) {
        const waiter = this.waiters.shift();
        if (waiter === undefined) return;
        if (waiter.cancelled) continue;
        waiter.cancelled = true;
        this.live -= 1;
        this.inUse += 1;
        waiter.grant();
      }
    } finally {
      this.granting = false;
    }
  }

  /** @internal */
  withdraw(waiter: Waiter): void {
    if (waiter.cancelled) return;
    waiter.cancelled = true;
    this.live -= 1;
  }
}

/**
 * `ConcurrencyLimit.named`, outside the class: a class that names itself in its body is renamed `_ConcurrencyLimit`
 * by esbuild's bundler, and a static method called detached has no `this`.
 */
function namedLimit(name: string, limit: number | undefined): ConcurrencyLimit {
  if (typeof name !== 'string')
    throw new TypeError(`ConcurrencyLimit.named: \`name\` must be a string, got ${describe(name)}`);
  assertPositiveInteger('ConcurrencyLimit.named', 'limit', limit, false);
  const existing = registry.get(name);
  if (existing !== undefined) {
    if (limit !== undefined && limit !== existing.limit) {
      const permits = (count: number) => `${count} ${count === 1 ? 'permit' : 'permits'}`;
      throw new RangeError(`ConcurrencyLimit.named: '${name}' has ${permits(existing.limit)}, not ${limit}`);
    }
    return existing;
  }
  if (limit === undefined)
    throw new TypeError(`ConcurrencyLimit.named: no limit named '${name}' yet; give its \`limit\``);
  const created = new ConcurrencyLimit(limit, name);
  registry.set(name, created);
  return created;
}
