import { requirePeer } from './optional-peer.js';

/** BullMQ, for `rxtask/bullmq`: the CommonJS build's twin of bullmq.ts. @internal */
export const bullmq: typeof import('bullmq') = requirePeer('bullmq', () => require('bullmq'), {
  entry: 'rxtask/bullmq',
  install: 'bullmq ioredis',
});
