/**
 * A task's identity for what outlives a process (a checkpoint, a result cache): its name and a hash of its function's
 * source, so a changed function does not reuse results of the old one. Whitespace aside: reformatting the code is not
 * a change of the function. @internal
 */
export function taskIdentity(name: string, fn: (...args: never[]) => unknown): string {
  return `${name}#${hashText(Function.prototype.toString.call(fn).replace(/\s+/g, ''))}`;
}

/** FNV-1a over the text's UTF-16 code units, 52 bits, in base 36: stable across processes; not a security measure. @internal */
export function hashText(text: string): string {
  let hash = 0xcbf29ce484222325n & 0xfffffffffffffn;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * 0x100000001b3n) & 0xfffffffffffffn;
  }
  return hash.toString(36);
}
