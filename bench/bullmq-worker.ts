// A worker process for the distributed bench: `node --import tsx bullmq-worker.ts <redis port> <concurrency>`. It
// serves a no-op task through rxtask and runs the same no-op as a hand-written BullMQ worker, at the same concurrency.
import { Worker } from 'bullmq';
import { serve } from '../bullmq/index.js';
import { task } from '../src/index.js';

const [port, concurrency] = process.argv.slice(2).map(Number);
const connection = { host: '127.0.0.1', port };
const noop = task(async (x: number) => x, { name: 'noop' });
const server = serve([noop], { connection, queue: 'bench', concurrency });
const raw = new Worker('bench-raw', async (job) => job.data.x as number, {
  connection: { ...connection, maxRetriesPerRequest: null },
  concurrency,
});
await Promise.all([server.ready(), raw.waitUntilReady()]);
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  Promise.all([server.close(), raw.close()]).then(() => process.exit(0));
});
