import { CheckpointError } from '../errors.js';
import { nodeBuiltin } from '../node-builtin.js';
import { assertCheckpointValue, type Restored, type RunCheckpoint } from './store-checkpoint.js';

/**
 * A checkpoint on disk: one JSON line per record, appended as the run goes. The first line says what wrote it (the
 * task's identity and the user's `checkpointVersion`); each later line is one item that succeeded, `{"k":key,"v":value}`.
 *
 * Appending whole lines, in batches, with one `write` each, is what makes it safe: a process killed at any moment
 * (SIGKILL) leaves every line it wrote, and a machine that loses power can at worst tear the last line, which the
 * next run ignores. There is never one disk sync per item. @internal
 */

/** Node's `fs`; a checkpoint file needs it. */
const nodeFs = nodeBuiltin<typeof import('node:fs')>('node:fs');

const FORMAT = 'rxtask-checkpoint';
const FORMAT_VERSION = 1;
/** Records are written once this many are waiting, or after `FLUSH_MS`, whichever comes first. */
const BATCH = 256;
const FLUSH_MS = 200;

interface Header {
  readonly format: typeof FORMAT;
  readonly formatVersion: number;
  readonly task: string;
  readonly version: string | number | null;
  readonly createdAt: string;
}

/** What a checkpoint file holds, as `checkpointInfo` reports it. */
export interface CheckpointContents {
  readonly header: Header;
  readonly done: Map<string | number, unknown>;
  readonly sizeBytes: number;
  /** The bytes up to the end of the last whole line: what follows is a line the writer never finished. */
  readonly wholeBytes: number;
}

function fsOrThrow(where: string) {
  if (nodeFs === undefined) throw new TypeError(`${where}: a checkpoint file needs Node's file system`);
  return nodeFs;
}

/** Reads a checkpoint file: its header and its records. A torn last line is ignored; anything else wrong is an error. */
export function readCheckpoint(path: string, where: string): CheckpointContents | undefined {
  const fs = fsOrThrow(where);
  let stat: import('node:fs').Stats;
  try {
    stat = fs.lstatSync(path);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw new CheckpointError(`${where}: cannot read the checkpoint ${path}`, { cause: error });
  }
  if (stat.isSymbolicLink()) throw new CheckpointError(`${where}: the checkpoint ${path} is a symbolic link`);
  if (!stat.isFile()) throw new CheckpointError(`${where}: the checkpoint ${path} is not a file`);
  const text = fs.readFileSync(path, 'utf8');
  const lines = text.split('\n');
  // The text after the last newline is a line still being written when the writer stopped: not a record.
  const complete = lines.slice(0, -1);
  let header: Header;
  try {
    header = JSON.parse(complete[0] ?? '') as Header;
  } catch {
    throw new CheckpointError(`${where}: ${path} is not an rxtask checkpoint`);
  }
  if (header?.format !== FORMAT || header.formatVersion !== FORMAT_VERSION || typeof header.task !== 'string') {
    throw new CheckpointError(`${where}: ${path} is not an rxtask checkpoint (or one of another format)`);
  }
  const done = new Map<string | number, unknown>();
  for (let i = 1; i < complete.length; i++) {
    let record: { k?: unknown; v?: unknown };
    try {
      record = JSON.parse(complete[i]) as { k?: unknown; v?: unknown };
    } catch (error) {
      throw new CheckpointError(`${where}: the checkpoint ${path} is corrupt at line ${i + 1}`, { cause: error });
    }
    if (typeof record?.k !== 'string' && typeof record?.k !== 'number') {
      throw new CheckpointError(`${where}: the checkpoint ${path} is corrupt at line ${i + 1}`);
    }
    done.set(record.k, record.v);
  }
  const wholeBytes = Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1));
  return { header, done, sizeBytes: stat.size, wholeBytes };
}

/** The open checkpoint of one run: what it holds, and the records waiting to be appended. @internal */
export class CheckpointFile implements RunCheckpoint {
  private readonly pending: string[] = [];
  /** The keys of this run's items: a second item with one of them is an error, not a silent overwrite. */
  readonly seen = new Set<string | number>();
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;
  private fd: number | undefined;

  private constructor(
    private readonly path: string,
    private readonly where: string,
    fd: number,
    /** The items a run before this one finished: key → value. */
    readonly done: Map<string | number, unknown>,
  ) {
    this.fd = fd;
  }

  /**
   * Opens `path` for a run of the task `identity` at `version`: loads what an earlier run recorded, or creates the
   * file (mode 0600). A checkpoint of another task or version is a CheckpointError.
   */
  static open(path: string, identity: string, version: string | number | undefined, where: string): CheckpointFile {
    const fs = fsOrThrow(where);
    const existing = readCheckpoint(path, where);
    const wanted = version ?? null;
    if (existing !== undefined) {
      if (existing.header.task !== identity) {
        throw new CheckpointError(
          `${where}: the checkpoint ${path} was written for another task (${existing.header.task.split('#')[0]}, ` +
            'or a different version of its function): use another file, or delete it to start over',
        );
      }
      if (existing.header.version !== wanted) {
        throw new CheckpointError(
          `${where}: the checkpoint ${path} was written with checkpointVersion ${JSON.stringify(existing.header.version)}, ` +
            `not ${JSON.stringify(wanted)}`,
        );
      }
    }
    let fd: number;
    try {
      fd = fs.openSync(path, 'a', 0o600);
    } catch (error) {
      throw new CheckpointError(`${where}: cannot open the checkpoint ${path}`, { cause: error });
    }
    // `this`, not the class by name: a class that names itself in its body is renamed `_CheckpointFile` by esbuild's bundler.
    const file = new this(path, where, fd, existing?.done ?? new Map());
    if (existing === undefined) {
      const header: Header = {
        format: FORMAT,
        formatVersion: FORMAT_VERSION,
        task: identity,
        version: wanted,
        createdAt: new Date().toISOString(),
      };
      fs.writeSync(fd, `${JSON.stringify(header)}\n`);
    } else if (existing.wholeBytes < existing.sizeBytes) {
      // A torn last line (a write the machine lost power in): cut it off, so the next record starts a line.
      fs.ftruncateSync(fd, existing.wholeBytes);
    }
    return file;
  }

  lookUp(key: string | number): Restored {
    return this.done.has(key) ? { done: true, value: this.done.get(key) } : { done: false };
  }

  /** Records a success; written with the next batch. A value JSON cannot hold is an error here, at once. */
  record(key: string | number, value: unknown): void {
    assertCheckpointValue(this.where, key, value);
    const encoded = value === undefined ? undefined : JSON.stringify(value);
    const line = encoded === undefined ? `{"k":${JSON.stringify(key)}}` : `{"k":${JSON.stringify(key)},"v":${encoded}}`;
    this.pending.push(line);
    this.done.set(key, value);
    if (this.pending.length >= BATCH) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      // A pending flush never keeps the process alive: close() writes what is left.
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  /** Appends every waiting record, in one write. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || this.fd === undefined) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending.length = 0;
    (nodeFs as typeof import('node:fs')).writeSync(this.fd, text);
  }

  /** Writes what is left and closes the file. */
  close(): void {
    try {
      this.flush();
    } finally {
      if (this.fd !== undefined) (nodeFs as typeof import('node:fs')).closeSync(this.fd);
      this.fd = undefined;
    }
  }

  toString(): string {
    return this.path;
  }
}
