import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/** Where a test's Redis listens. */
export const redisAt = (port: number) => ({ host: '127.0.0.1', port });

/** A free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((found) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as { port: number };
      server.close(() => found(free));
    });
  });
}

/** Starts Debian's redis-server without persistence and waits until it answers. */
export async function startRedis(on: number): Promise<ChildProcess> {
  let binary: string;
  try {
    binary = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('redis-server is not on the PATH: install Debian’s package with `apt-get install -y redis-server`');
  }
  const args = ['--port', String(on), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const server = spawn(binary, [...args, '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const client = new Redis({ ...redisAt(on), lazyConnect: true, retryStrategy: () => null });
    client.on('error', () => {}); // refused until the server listens
    const answered = await client.connect().then(
      () => client.ping(),
      () => undefined,
    );
    client.disconnect();
    if (answered === 'PONG') break;
    await new Promise((wait) => setTimeout(wait, 25));
  }
  return server;
}
