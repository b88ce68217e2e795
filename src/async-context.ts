import { nodeBuiltin } from './node-builtin.js';

/**
 * Node's AsyncLocalStorage, found through `process.getBuiltinModule` so that browser bundles never import a Node
 * module; `undefined` where there is none (browsers). @internal
 */
export interface ContextStorage<T> {
  getStore(): T | undefined;
  run<R>(store: T, fn: () => R): R;
}

interface AsyncHooks {
  AsyncLocalStorage: { new <T>(): ContextStorage<T>; snapshot?(): <R>(fn: () => R) => R };
}

const asyncHooks = nodeBuiltin<AsyncHooks>('node:async_hooks');

/** A new AsyncLocalStorage, or `undefined` where async context is not available. @internal */
export function contextStorage<T>(): ContextStorage<T> | undefined {
  return asyncHooks === undefined ? undefined : new asyncHooks.AsyncLocalStorage<T>();
}

/**
 * The async context of the code running now, to run a continuation in later; where there is no AsyncLocalStorage,
 * continuations run as they are. @internal
 */
export function captureContext(): <R>(fn: () => R) => R {
  return asyncHooks?.AsyncLocalStorage.snapshot?.() ?? runAsIs;
}

function runAsIs<R>(fn: () => R): R {
  return fn();
}
