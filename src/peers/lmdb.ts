import { importPeer } from './optional-peer.js';

/** LMDB, for `rxtask/lmdb` (see optional-peer.ts for why it is loaded this way). @internal */
export const lmdb: Pick<typeof import('lmdb'), 'open'> = await importPeer('lmdb', () => import('lmdb'), {
  entry: 'rxtask/lmdb',
  install: 'lmdb',
});
