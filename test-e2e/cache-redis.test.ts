import type { ChildProcess } from 'node:child_process';
import KeyvRedis from '@keyv/redis';
import Keyv from 'keyv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { task } from '../src/index.js';
import { freePort, startRedis } from './redis-server.js';

/** The result cache on a real Redis through Keyv's own adapter, as docs/cache-and-checkpoints.md shows. */
let redis: ChildProcess;
let url: string;

beforeAll(async () => {
  const port = await freePort();
  redis = await startRedis(port);
  url = `redis://127.0.0.1:${port}`;
}, 30_000);

afterAll(() => {
  redis?.kill();
});

describe('the result cache on Redis through @keyv/redis', () => {
  it('a second process (here: a second store on the same server) gets the stored result without running', async () => {
    let calls = 0;
    const makeTask = (store: Keyv) =>
      task(
        async (id: number) => {
          calls += 1;
          return { id, at: 'computed once' };
        },
        { name: 'fetchUser', cache: { store, ttl: 60_000 } },
      );
    const first = new Keyv(new KeyvRedis(url), { namespace: 'users' });
    const second = new Keyv(new KeyvRedis(url), { namespace: 'users' });
    try {
      expect(await makeTask(first)(1)).toEqual({ id: 1, at: 'computed once' });
      expect(await makeTask(second)(1)).toEqual({ id: 1, at: 'computed once' });
      expect(calls).toBe(1);
      // A value JSON would change is refused at its first write, rather than come back different.
      const map = task(async () => new Map([[1, 2]]), { cache: { store: first } });
      await expect(map()).rejects.toThrow(/cannot be stored/);
      const fn = task(async () => () => 1, { cache: { store: first } });
      await expect(fn()).rejects.toThrow(/cannot be stored/);
    } finally {
      await first.disconnect();
      await second.disconnect();
    }
  });
});
