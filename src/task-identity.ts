import type * as crypto from 'node:crypto';
import { nodeBuiltin } from './node-builtin.js';

const nodeCrypto = nodeBuiltin<typeof crypto>('node:crypto');

/**
 * A task's identity for what outlives a process (a checkpoint, a result cache): its name and a digest of its
 * function's source, so a changed function does not reuse results of the old one. A bound or native function has no
 * source to tell it by (every one reads `[native code]`): `undefined`, and the caller asks for an explicit key.
 * @internal
 */
export function taskIdentity(name: string, fn: (...args: never[]) => unknown): string | undefined {
  const source = Function.prototype.toString.call(fn);
  if (source.includes('[native code]')) return undefined;
  return `${name}#${digest(source)}`;
}

/**
 * A collision-resistant digest of the text: SHA-256 where Node's crypto is there. Elsewhere (browsers) the text
 * itself, which no two different texts share. @internal
 */
export function digest(text: string): string {
  return nodeCrypto === undefined ? text : nodeCrypto.createHash('sha256').update(text).digest('base64url');
}
