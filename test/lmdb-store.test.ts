import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lmdbStore } from '../lmdb/index.js';
import { task } from '../src/index.js';

// Issue 16: the on-disk store the docs show for "keep results across runs".

const dir = mkdtempSync(join(tmpdir(), 'rxtask-lmdb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The same task, as each run of a program defines it again. */
function squareTask(store: ReturnType<typeof lmdbStore>, calls: number[]) {
  return task(
    async (x: number) => {
      calls.push(x);
      return { square: x * x };
    },
    { name: 'square', cache: { store } },
  );
}

describe('lmdbStore', () => {
  it('keeps results on disk: a store opened again (a new run of the program) answers without running', async () => {
    const path = join(dir, 'results.lmdb');
    const calls: number[] = [];
    const first = lmdbStore({ path });
    expect(await squareTask(first, calls)(12)).toEqual({ square: 144 });
    await first.close();

    const second = lmdbStore({ path });
    expect(await squareTask(second, calls)(12)).toEqual({ square: 144 });
    expect(calls).toEqual([12]);
    await second.close();
  });

  it('answers a call made right after the first, while the write is still on its way to disk', async () => {
    const store = lmdbStore({ path: join(dir, 'at-once.lmdb') });
    const calls: number[] = [];
    const square = squareTask(store, calls);
    expect(await square(3)).toEqual({ square: 9 });
    expect(await square(3)).toEqual({ square: 9 });
    const later = await square.map([4, 3]);
    expect(later.itemResults().map((item) => item.attempts)).toEqual([1, 0]);
    expect(calls).toEqual([3, 4]);
    await store.close();
  });

  it('honours ttl, deletes, and refuses bad options', async () => {
    const store = lmdbStore({ path: join(dir, 'ttl.lmdb') });
    await store.set('k', 1, -1);
    expect(store.get('k')).toBeUndefined();
    await store.set('k', 2);
    expect(store.get('k')).toBe(2);
    await store.delete('k');
    expect(store.get('k')).toBeUndefined();
    await store.close();
    expect(() => lmdbStore({} as never)).toThrow(/path/);
    expect(() => lmdbStore({ path: 5 } as never)).toThrow(TypeError);
  });
});
