/**
 * Optional peer dependencies (piscina, bullmq, ioredis, lmdb) are loaded through `src/peers/*`, one module per
 * package, so a missing one is named with the command that installs it. A static `import` of a missing package fails
 * before any of our code runs, with Node's bare "Cannot find package"; so the ESM build imports each peer with a
 * top-level `await import()`, and the CommonJS build (which has no top-level await) `require`s it: tsup swaps in the
 * `.cjs.ts` twin of each peer module. @internal
 */

/** Where a peer is needed, for the message: the import path that needs it and the packages to install. */
export interface PeerUse {
  readonly entry: string;
  readonly install: string;
}

/** Loads a peer in the ESM build: `await importPeer('piscina', () => import('piscina'), use)`. */
export function importPeer<T>(peer: string, load: () => Promise<T>, use: PeerUse): Promise<T> {
  return load().catch((error: unknown) => {
    throw peerLoadError(error, peer, use);
  });
}

/** Loads a peer in the CommonJS build: `requirePeer('piscina', () => require('piscina'), use)`. */
export function requirePeer<T>(peer: string, load: () => T, use: PeerUse): T {
  try {
    return load();
  } catch (error) {
    throw peerLoadError(error, peer, use);
  }
}

/** The error to throw for a peer that failed to load: a clear one when the package is not installed. */
function peerLoadError(error: unknown, peer: string, { entry, install }: PeerUse): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  const missing =
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    String((error as Error).message).includes(`'${peer}'`);
  if (!missing) return error;
  return new Error(`${entry} needs the package "${peer}", which is not installed: npm install ${install}`, {
    cause: error,
  });
}
