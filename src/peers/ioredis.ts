import { importPeer } from './optional-peer.js';

/** ioredis, for `rxtask/bullmq` (see optional-peer.ts for why it is loaded this way). @internal */
export const ioredis: Pick<typeof import('ioredis'), 'Redis'> = await importPeer('ioredis', () => import('ioredis'), {
  entry: 'rxtask/bullmq',
  install: 'bullmq ioredis',
});
