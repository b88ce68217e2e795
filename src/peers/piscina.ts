import { importPeer } from './optional-peer.js';

/** Piscina, for `rxtask/worker` (see optional-peer.ts for why it is loaded this way). @internal */
export const piscina: Pick<typeof import('piscina'), 'Piscina'> = await importPeer('piscina', () => import('piscina'), {
  entry: 'rxtask/worker',
  install: 'piscina',
});
