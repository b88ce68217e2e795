import { assertString } from '../validate.js';
import { readCheckpoint } from './checkpoint-file.js';

/**
 * What {@link checkpointInfo} tells of a checkpoint file.
 *
 * @example
 * ```ts
 * import type { CheckpointInfo } from 'rxtask';
 *
 * const info: CheckpointInfo = {
 *   path: 'crawl.checkpoint',
 *   formatVersion: 1,
 *   checkpointVersion: null,
 *   task: 'crawl',
 *   completed: 120,
 *   sizeBytes: 4_096,
 *   createdAt: '2026-12-01T00:00:00.000Z',
 * };
 * console.log(info.completed); // 120
 * ```
 */
export interface CheckpointInfo {
  readonly path: string;
  /** The version of the file format. */
  readonly formatVersion: number;
  /** The `checkpointVersion` the run gave, or `null`. */
  readonly checkpointVersion: string | number | null;
  /** The name of the task that wrote it. */
  readonly task: string;
  /** How many items it records as done. */
  readonly completed: number;
  readonly sizeBytes: number;
  /** When the first run created it (ISO 8601). */
  readonly createdAt: string;
}

/**
 * Tells what a checkpoint file holds, without running anything: the task that wrote it, its `checkpointVersion`,
 * how many items are done, and its size. A file that is not a checkpoint is a `CheckpointError`; a missing one is
 * `undefined`.
 *
 * @example
 * ```ts
 * import { checkpointInfo, parallelMap } from 'rxtask';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 *
 * const path = join(mkdtempSync(join(tmpdir(), 'rxtask-')), 'squares.checkpoint');
 * await parallelMap(async (x: number) => x * x, [1, 2, 3], { checkpoint: path });
 * console.log(checkpointInfo(path)?.completed); // 3
 * ```
 */
export function checkpointInfo(path: string): CheckpointInfo | undefined {
  assertString('checkpointInfo', 'path', path);
  const contents = readCheckpoint(path, 'checkpointInfo');
  if (contents === undefined) return undefined;
  const { header, done, sizeBytes } = contents;
  return {
    path,
    formatVersion: header.formatVersion,
    checkpointVersion: header.version,
    task: header.task.split('#')[0],
    completed: done.size,
    sizeBytes,
    createdAt: header.createdAt,
  };
}
