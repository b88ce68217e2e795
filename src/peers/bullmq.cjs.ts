import { requirePeer } from './optional-peer.js';

/** BullMQ, for `rxtask/bullmq`: the CommonJS build's twin of bullmq.ts. @internal */
export const bullmq: Pick<typeof import('bullmq'), 'Job' | 'Queue' | 'QueueEvents' | 'Worker'> = requirePeer(
  'bullmq',
  () => require('bullmq'),
  {
    entry: 'rxtask/bullmq',
    install: 'bullmq ioredis',
  },
);
