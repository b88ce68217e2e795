import { importPeer } from './optional-peer.js';

/** BullMQ, for `rxtask/bullmq` (see optional-peer.ts for why it is loaded this way). @internal */
export const bullmq: Pick<typeof import('bullmq'), 'Job' | 'Queue' | 'QueueEvents' | 'Worker'> = await importPeer(
  'bullmq',
  () => import('bullmq'),
  {
    entry: 'rxtask/bullmq',
    install: 'bullmq ioredis',
  },
);
