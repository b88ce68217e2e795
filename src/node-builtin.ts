/**
 * A Node built-in module, found through `process.getBuiltinModule` so that browser bundles never import one;
 * `undefined` where there is none (browsers). @internal
 */
export function nodeBuiltin<M>(id: string): M | undefined {
  const nodeProcess = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return nodeProcess?.getBuiltinModule?.(id) as M | undefined;
}
