import { requirePeer } from './optional-peer.js';

/** Piscina, for `rxtask/worker`: the CommonJS build's twin of piscina.ts. @internal */
export const piscina: Pick<typeof import('piscina'), 'Piscina'> = requirePeer('piscina', () => require('piscina'), {
  entry: 'rxtask/worker',
  install: 'piscina',
});
