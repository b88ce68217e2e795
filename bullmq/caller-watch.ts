import type { Redis } from 'ioredis';
import type { RunContext } from '../src/context.js';
import { cancellationReason } from '../src/errors.js';
import type { QueueKeys } from './keys.js';

/** How long a worker remembers a cancellation it was told of, and trusts a caller's lease it has read. */
const REMEMBER_CANCEL_MS = 3_600_000;
const LEASE_CHECK_MS = 5_000;

/**
 * What a worker knows of the callers whose jobs it runs: which jobs they cancelled, and whether they are alive.
 *
 * Callers mark a cancelled job in Redis and announce it on a channel. The worker keeps every announcement it hears,
 * so a job cancelled before the worker started it (even after it was fetched) is skipped without a round trip, and a
 * running one is aborted. Announcements made while its subscription was down are lost, so after each (re)connect it
 * loads the marks from Redis, and until that is done it reads the mark before each job instead. A caller's lease is
 * read at most every 5 s per caller. @internal
 */
export class CallerWatch {
  private readonly cancelled = new Map<string, number>();
  private readonly leases = new Map<string, { alive: boolean; until: number }>();
  private readonly leaseReads = new Map<string, Promise<boolean>>();
  /** The jobs running here, so a cancel can reach them. */
  readonly running = new Map<string, { context: RunContext; cancelled: boolean }>();
  /** True while subscribed with every earlier mark loaded. */
  private synced = false;
  private syncing: Promise<void> | undefined = undefined;

  constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly keys: QueueKeys,
  ) {
    subscriber.on('message', (_channel, jobId: string) => this.heard(jobId));
    subscriber.on('close', () => {
      this.synced = false;
    });
    subscriber.on('ready', () => {
      this.sync().catch(noop);
    });
  }

  /** Subscribes and loads the marks made while it was not listening. */
  sync(): Promise<void> {
    this.syncing ??= (async () => {
      try {
        this.synced = false;
        await this.subscriber.subscribe(this.keys.cancelChannel);
        let cursor = '0';
        do {
          const prefix = this.keys.cancelled('');
          const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
          const [next, found] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
          for (const key of found) this.remember(key.slice(prefix.length));
          cursor = next;
        } while (cursor !== '0');
        this.synced = true;
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  /** Whether the job may start now: not cancelled, and its caller alive. */
  async mayStart(jobId: string, caller: string): Promise<'ok' | 'cancelled' | 'gone'> {
    if (this.cancelled.has(jobId)) return 'cancelled';
    if (!this.synced) {
      const [mark, lease] = await this.redis.mget(this.keys.cancelled(jobId), this.keys.lease(caller));
      if (mark !== null) return 'cancelled';
      return lease === null ? 'gone' : 'ok';
    }
    return (await this.callerAlive(caller)) ? 'ok' : 'gone';
  }

  private callerAlive(caller: string): Promise<boolean> {
    const known = this.leases.get(caller);
    if (known !== undefined && Date.now() < known.until) return Promise.resolve(known.alive);
    let reading = this.leaseReads.get(caller);
    if (reading === undefined) {
      reading = this.redis.exists(this.keys.lease(caller)).then(
        (found) => {
          this.leaseReads.delete(caller);
          const alive = found === 1;
          if (this.leases.size > 10_000) this.leases.clear();
          this.leases.set(caller, { alive, until: Date.now() + LEASE_CHECK_MS });
          return alive;
        },
        (error: unknown) => {
          this.leaseReads.delete(caller);
          throw error;
        },
      );
      this.leaseReads.set(caller, reading);
    }
    return reading;
  }

  private heard(jobId: string): void {
    this.remember(jobId);
    const job = this.running.get(jobId);
    if (job === undefined) return;
    job.cancelled = true;
    job.context.abort(cancellationReason('The job was cancelled by its caller'));
  }

  private remember(jobId: string): void {
    const now = Date.now();
    if (this.cancelled.size > 100_000) {
      for (const [id, until] of this.cancelled) if (until < now) this.cancelled.delete(id);
    }
    this.cancelled.set(jobId, now + REMEMBER_CANCEL_MS);
  }
}

function noop(): void {}
