import type { CacheStore } from '../cache/memory-store.js';
import { CheckpointError } from '../errors.js';
import { assertJsonValue } from '../json-value.js';
import { isPromiseLike } from '../task-output.js';

/** What a checkpoint knows of an item: done before (with its value), or not. @internal */
export type Restored = { readonly done: true; readonly value: unknown } | { readonly done: false };

/** A run's checkpoint, on a file or in a store. @internal */
export interface RunCheckpoint {
  /** The keys of this run's items: a second item with one of them is an error, not a silent overwrite. */
  readonly seen: Set<string | number>;
  /** Whether an earlier run finished the item: at once from a file, or a Promise from a store. */
  lookUp(key: string | number): Restored | Promise<Restored>;
  /** Records a success; a value the checkpoint cannot hold unchanged throws here, at once. */
  record(key: string | number, value: unknown): void;
  close(): void;
}

const NOT_DONE: Restored = { done: false };

/** A checkpoint keeps values as JSON: one JSON would change is a CheckpointError naming the item. @internal */
export function assertCheckpointValue(where: string, key: string | number, value: unknown): void {
  try {
    assertJsonValue(where, value, `the result of item ${JSON.stringify(key)} cannot be stored in the checkpoint`);
  } catch (error) {
    throw new CheckpointError((error as Error).message, { cause: error });
  }
}

/**
 * A checkpoint in a store with Keyv's interface (a Redis, a database): one entry per finished item, under a prefix
 * that holds the task's identity and `checkpointVersion`, so another task or version finds nothing of this one.
 * @internal
 */
export class StoreCheckpoint implements RunCheckpoint {
  readonly seen = new Set<string | number>();
  private readonly prefix: string;

  constructor(
    private readonly store: CacheStore,
    identity: string,
    version: string | number | undefined,
    private readonly where: string,
    /** Each write as it starts: the run's result waits for it, and a failed write fails the run. */
    private readonly track: (written: PromiseLike<unknown>) => void,
  ) {
    this.prefix = `rxtask-checkpoint:${identity}@${version === undefined ? '' : String(version)}:`;
  }

  lookUp(key: string | number): Promise<Restored> {
    return Promise.resolve(this.store.get(this.prefix + JSON.stringify(key))).then(
      (entry) => {
        if (entry === undefined || entry === null) return NOT_DONE;
        if (typeof entry === 'object' && 'v' in entry) return { done: true, value: (entry as { v: unknown }).v };
        throw new CheckpointError(
          `${this.where}: the checkpoint store holds something else for item ${JSON.stringify(key)}`,
        );
      },
      (error: unknown) => {
        throw new CheckpointError(`${this.where}: the checkpoint store could not be read`, { cause: error });
      },
    );
  }

  record(key: string | number, value: unknown): void {
    assertCheckpointValue(this.where, key, value);
    const written = this.store.set(this.prefix + JSON.stringify(key), { v: value === undefined ? null : value });
    if (isPromiseLike(written)) this.track(written);
  }

  close(): void {}
}
