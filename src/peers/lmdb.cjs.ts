import { requirePeer } from './optional-peer.js';

/** LMDB, for `rxtask/lmdb`: the CommonJS build's twin of lmdb.ts. @internal */
export const lmdb: Pick<typeof import('lmdb'), 'open'> = requirePeer('lmdb', () => require('lmdb'), {
  entry: 'rxtask/lmdb',
  install: 'lmdb',
});
