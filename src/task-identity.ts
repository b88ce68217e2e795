/**
 * A task's identity for what outlives a process (a checkpoint, a result cache): its name and a hash of its function's
 * source, so a changed function does not reuse results of the old one. Whitespace aside: reformatting the code is not
 * a change of the function. @internal
 */
export function taskIdentity(name: string, fn: (...args: never[]) => unknown): string {
  return `${name}#${hashText(Function.prototype.toString.call(fn).replace(/\s+/g, ''))}`;
}

/**
 * FNV-1a over the text's UTF-16 code units, twice with different offsets (64 bits in all), in base 36: stable across
 * processes, and fast on a hot path (a cache key per call); not a security measure. @internal
 */
export function hashText(text: string): string {
  let low = 0x811c9dc5;
  let high = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    low = Math.imul(low ^ unit, 0x01000193);
    high = Math.imul(high ^ unit, 0x01000193) ^ (low >>> 15);
  }
  return (high >>> 0).toString(36) + (low >>> 0).toString(36).padStart(7, '0');
}
