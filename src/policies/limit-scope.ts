import type { ConcurrencyLimit } from './concurrency-limit.js';

/**
 * Which concurrency limits the code running now holds, through its task and every task above it. A task's children
 * borrow a limit their ancestor holds instead of queueing for it, which is how a task waiting on its own children
 * never deadlocks. In Node the set follows the code across `await` (AsyncLocalStorage); where that is missing
 * (browsers), only the synchronous part of a task's function sees it. @internal
 */

type HeldLimits = ReadonlySet<ConcurrencyLimit>;

interface Storage {
  getStore(): HeldLimits | undefined;
  run<R>(store: HeldLimits, fn: () => R): R;
}

const nodeProcess = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
const asyncHooks = nodeProcess?.getBuiltinModule?.('node:async_hooks') as
  | { AsyncLocalStorage: new () => Storage }
  | undefined;
const storage: Storage | undefined = asyncHooks ? new asyncHooks.AsyncLocalStorage() : undefined;
let heldNow: HeldLimits | undefined;

export function heldLimits(): HeldLimits | undefined {
  return storage?.getStore() ?? heldNow;
}

/** Runs `fn` as code that holds `held`. */
export function runHolding<R>(held: HeldLimits, fn: () => R): R {
  if (storage !== undefined) return storage.run(held, fn);
  const previous = heldNow;
  heldNow = held;
  try {
    return fn();
  } finally {
    heldNow = previous;
  }
}
