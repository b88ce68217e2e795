import type * as fs from 'node:fs';

/**
 * Node's `fs`, found through `process.getBuiltinModule` so browser bundles never import it; `undefined` where there
 * is none. @internal
 */
export const nodeFs = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:fs') as typeof fs | undefined;
