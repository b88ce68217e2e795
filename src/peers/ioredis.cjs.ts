import { requirePeer } from './optional-peer.js';

/** ioredis, for `rxtask/bullmq`: the CommonJS build's twin of ioredis.ts. @internal */
export const ioredis: Pick<typeof import('ioredis'), 'Redis'> = requirePeer('ioredis', () => require('ioredis'), {
  entry: 'rxtask/bullmq',
  install: 'bullmq ioredis',
});
