import { importPeer } from './optional-peer.js';

/** Piscina, for `rxtask/worker` (see optional-peer.ts for why it is loaded this way). @internal */
export const piscina: typeof import('piscina') = await importPeer('piscina', () => import('piscina'), {
  entry: 'rxtask/worker',
  install: 'piscina',
});
