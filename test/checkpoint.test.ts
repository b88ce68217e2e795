import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Keyv from 'keyv';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError, checkpointInfo, parallelMap, type RunEvent, type TaskContext, task } from '../src/index.js';

// Issue 16: checkpoint and resume of a long map.

const dir = mkdtempSync(join(tmpdir(), 'rxtask-checkpoint-'));
let files = 0;
const newPath = () => join(dir, `run-${++files}.checkpoint`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Lines of a checkpoint file after its header: the keys it records as done. */
function recordedKeys(path: string): unknown[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .slice(1)
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { k: unknown }).k);
}

describe('checkpoint', () => {
  it('a rerun restores what an earlier run finished and runs only the failed and unseen items', async () => {
    const path = newPath();
    const ran: number[] = [];
    let failOn = new Set([2, 5]);
    const square = task(
      async (x: number) => {
        ran.push(x);
        if (failOn.has(x)) throw new Error(`item ${x} failed`);
        return x * x;
      },
      { name: 'square' },
    );
    const input = [0, 1, 2, 3, 4, 5];
    const first = await parallelMap(square, input.slice(0, 4), { checkpoint: path });
    expect(first.failures().map((f) => f.index)).toEqual([2]);
    expect(statSync(path).mode & 0o777).toBe(0o600);

    ran.length = 0;
    failOn = new Set();
    const events: RunEvent[] = [];
    const progress: number[] = [];
    const second = await parallelMap(square, input, {
      checkpoint: path,
      onEvent: (event) => events.push(event),
      onProgress: (done) => progress.push(done),
    });
    expect(ran.sort()).toEqual([2, 4, 5]);
    expect(second.values()).toEqual([0, 1, 4, 9, 16, 25]);
    expect(second.itemResults().map((item) => item.attempts)).toEqual([0, 0, 1, 0, 1, 1]);
    expect(events.filter((e) => e.type === 'restored').map((e) => e.index)).toEqual([0, 1, 3]);
    expect(progress.at(-1)).toBe(6);
    expect(checkpointInfo(path)).toMatchObject({ task: 'square', completed: 6, checkpointVersion: null });

    ran.length = 0;
    await parallelMap(square, input, { checkpoint: path });
    expect(ran).toEqual([]);
  });

  it('is bound to the task and to checkpointVersion: anything else is a CheckpointError at the start', async () => {
    const path = newPath();
    const double = task(async (x: number) => x * 2, { name: 'double' });
    await parallelMap(double, [1, 2], { checkpoint: path, checkpointVersion: 'v1' });
    await expect(parallelMap(double, [1, 2], { checkpoint: path, checkpointVersion: 'v2' })).rejects.toBeInstanceOf(
      CheckpointError,
    );
    const changed = task(async (x: number) => x * 3, { name: 'double' });
    const ran: number[] = [];
    await expect(
      parallelMap(
        async (x: number) => {
          ran.push(x);
          return x;
        },
        [1],
        { checkpoint: path, checkpointVersion: 'v1' },
      ),
    ).rejects.toBeInstanceOf(CheckpointError);
    await expect(parallelMap(changed, [1, 2], { checkpoint: path, checkpointVersion: 'v1' })).rejects.toThrow(
      /another task/,
    );
    expect(ran).toEqual([]);
  });

  it('a foreign or corrupt file is a CheckpointError; a torn last line is ignored', async () => {
    const foreign = newPath();
    writeFileSync(foreign, 'hello\nworld\n');
    await expect(parallelMap(async (x: number) => x, [1], { checkpoint: foreign })).rejects.toBeInstanceOf(
      CheckpointError,
    );
    expect(() => checkpointInfo(foreign)).toThrow(CheckpointError);

    const path = newPath();
    const identity = task(async (x: number) => x, { name: 'identity' });
    await parallelMap(identity, [10, 20, 30], { checkpoint: path });
    appendFileSync(path, '{"k":2,"v":3'); // a write cut short: no newline
    const ran: number[] = [];
    const rerun = await parallelMap(identity.with({}), [10, 20, 30, 40], {
      checkpoint: path,
      onEvent: (event) => event.type === 'started' && ran.push(event.index as number),
    });
    expect(rerun.values()).toEqual([10, 20, 30, 40]);
    expect(ran).toEqual([3]);
    expect(recordedKeys(path).filter((k) => k === 3)).toHaveLength(1);

    const corrupt = newPath();
    await parallelMap(identity, [1], { checkpoint: corrupt });
    appendFileSync(corrupt, 'not json\n{"k":5,"v":5}\n');
    await expect(parallelMap(identity, [1], { checkpoint: corrupt })).rejects.toThrow(/corrupt at line 3/);
  });

  it('a result JSON cannot hold fails the run at its first write, with the item named', async () => {
    const path = newPath();
    const run = parallelMap(async (x: number) => (x === 1 ? 10n : x), [0, 1, 2], { checkpoint: path, concurrency: 1 });
    await expect(run).rejects.toThrow(CheckpointError);
    await expect(run).rejects.toThrow(/item 1/);
    const fn = parallelMap(async () => () => 1, [0], { checkpoint: newPath() });
    await expect(fn).rejects.toThrow(/cannot be stored in the checkpoint as JSON/);
  });

  it('keys items by checkpointKey when given, so a reordered input resumes by identity', async () => {
    const path = newPath();
    const ran: string[] = [];
    const upper = async function (this: TaskContext, word: string) {
      ran.push(word);
      return word.toUpperCase();
    };
    const byWord = { checkpoint: path, checkpointKey: (word: string) => word };
    await parallelMap(upper, ['a', 'b'], byWord);
    ran.length = 0;
    const result = await parallelMap(upper, ['c', 'b', 'a'], byWord);
    expect(result.values()).toEqual(['C', 'B', 'A']);
    expect(ran).toEqual(['c']);
    await expect(
      parallelMap(upper, ['a'], { checkpoint: newPath(), checkpointKey: () => true as never }),
    ).rejects.toThrow(TypeError);
    expect(() => parallelMap(upper, ['a'], { checkpointVersion: 1 })).toThrow(/need a `checkpoint`/);
    expect(() => parallelMap(upper, ['a'], { checkpoint: 5 as never })).toThrow(TypeError);
  });

  it('a process killed with SIGKILL mid-run leaves a checkpoint a rerun completes from, re-running nothing it records', async () => {
    const path = newPath();
    const fixture = join(__dirname, 'fixtures', 'checkpoint-crash.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, path, 'crash'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('halfway')) resolve();
        if (chunk.toString().includes('finished')) reject(new Error('the run finished before it was killed'));
      });
      child.on('error', reject);
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.on('exit', resolve));
    const recorded = new Set(recordedKeys(path));
    expect(recorded.size).toBeGreaterThan(0);
    expect(recorded.size).toBeLessThan(5_000);

    // The same program, run again: it completes from the checkpoint.
    const resumed = JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', fixture, path, 'resume'], { encoding: 'utf8' }),
    ) as { ran: number[]; ok: boolean; last: number };
    expect(resumed.ok).toBe(true);
    expect(resumed.last).toBe(4_999 * 4_999);
    expect(resumed.ran.filter((index) => recorded.has(index))).toEqual([]);
    expect(resumed.ran.length + recorded.size).toBe(5_000);
  }, 60_000);
});

describe('checkpoint after outside review', () => {
  it('two items with one checkpoint key fail the run; a value JSON would change is refused', async () => {
    const upper = async (word: string) => word.toUpperCase();
    await expect(
      parallelMap(upper, ['apple', 'avocado'], { checkpoint: newPath(), checkpointKey: (word: string) => word[0] }),
    ).rejects.toThrow(/two items have the checkpoint key "a"/);
    for (const value of [new Map([[1, 2]]), Number.NaN, [undefined]]) {
      await expect(parallelMap(async () => value, [1], { checkpoint: newPath() })).rejects.toBeInstanceOf(
        CheckpointError,
      );
    }
  });
});

describe('a checkpoint in a store with Keyv’s interface', () => {
  it('a rerun restores from the store; another version finds nothing there', async () => {
    const store = new Keyv();
    const ran: number[] = [];
    let failOn = new Set([1]);
    const triple = task(
      async (x: number) => {
        ran.push(x);
        if (failOn.has(x)) throw new Error('no');
        return x * 3;
      },
      { name: 'triple' },
    );
    await parallelMap(triple, [0, 1, 2], { checkpoint: store });
    ran.length = 0;
    failOn = new Set();
    const events: string[] = [];
    const rerun = await parallelMap(triple, [0, 1, 2], {
      checkpoint: store,
      onEvent: (event) => event.type === 'restored' && events.push(String(event.index)),
    });
    expect(rerun.values()).toEqual([0, 3, 6]);
    expect(ran).toEqual([1]);
    expect(events).toEqual(['0', '2']);
    ran.length = 0;
    await parallelMap(triple, [0, 1, 2], { checkpoint: store, checkpointVersion: 2 });
    expect(ran.sort()).toEqual([0, 1, 2]);
    expect(() => parallelMap(triple, [0], { checkpoint: {} as never })).toThrow(/Keyv/);
  });
});

describe('a checkpoint store’s writes (second outside review)', () => {
  it('an awaited map resolves only once its records are written, and a failed write fails it', async () => {
    const entries = new Map<string, unknown>();
    let pending = 0;
    const slowStore = {
      get: async (key: string) => entries.get(key),
      set: async (key: string, value: unknown) => {
        pending += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
        entries.set(key, value);
        pending -= 1;
        return true;
      },
      delete: async (key: string) => entries.delete(key),
    };
    const result = await parallelMap(async (x: number) => x, [1, 2, 3], { checkpoint: slowStore });
    expect(result.ok).toBe(true);
    expect(pending).toBe(0);
    expect(entries.size).toBe(3);
    const failingStore = {
      ...slowStore,
      get: async () => undefined, // nothing recorded: the item runs, and its write fails
      set: async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        throw new Error('store down');
      },
    };
    await expect(parallelMap(async (x: number) => x, [1], { checkpoint: failingStore })).rejects.toThrow('store down');
    const unreadable = { ...slowStore, get: async () => Promise.reject(new Error('get down')) };
    await expect(parallelMap(async (x: number) => x, [1], { checkpoint: unreadable })).rejects.toBeInstanceOf(
      CheckpointError,
    );
  });
});
