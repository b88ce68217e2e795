/**
 * `npm run demo`: a few hundred fetch-like jobs with varied latency, a share of flaky failures, a few that hang and a
 * few permanent 404s, run through rxtask with a rate limit, retries and a per-attempt timeout. More jobs are in flight
 * than the rate limit lets start, so the limit binds: the progress shows the start rate against the limit and how many
 * attempts waited for their turn. A live progress bar (cli-progress) when stdout is a terminal, plain progress lines
 * otherwise (CI); then a summary table, or JSON with `--json`. Ctrl-C cancels the run; a second Ctrl-C exits at once.
 *
 *   npm run demo -- --items 500 --concurrency 32 --rate 200
 *   npm run demo -- --help
 *
 * With `--checkpoint FILE`, each page fetched is recorded in FILE as the run goes: stop the demo with Ctrl-C and run
 * the same command again, and it finishes only what was left.
 *
 *   npm run demo -- --checkpoint demo.checkpoint
 */
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import {
  NonRetryableError,
  NotStartedError,
  type ParallelResult,
  type RunEvent,
  type TaskContext,
  task,
} from '../src/index.js';

// ---- Flags ----------------------------------------------------------------------------------------------------

const DEFAULTS = { items: 300, concurrency: 64, rate: 150 };

const HELP = `Usage: npm run demo -- [flags]

Runs fetch-like jobs through rxtask with retries, a per-attempt timeout and a shared rate limit.

  --items N          jobs to run (default ${DEFAULTS.items})
  --concurrency N    jobs in flight at most (default ${DEFAULTS.concurrency})
  --rate N           attempts started per second at most (default ${DEFAULTS.rate})
  --checkpoint FILE  record finished pages in FILE; run again to finish only what was left (default: none)
  --json             print the summary as JSON instead of progress and a table (default: off)
  -h, --help         print this help and exit

Ctrl-C cancels the run (exit code 130); a second Ctrl-C exits at once.`;

/** A mistake on the command line: one line on stderr, no stack trace, exit code 2. */
function usageError(message: string): never {
  process.stderr.write(`demo: ${message} (try --help)\n`);
  process.exit(2);
}

/** One line from parseArgs' error: `unknown flag --foo`, `option '--items <value>' argument missing`, …. */
function describeFlagError(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) return undefined;
  // Node's own text may run over several lines and sentences: its first is the one line a user needs.
  const message = (error as Error).message.split('\n')[0].split('. ')[0].replace(/\.$/, '');
  const flag = /'(.+?)'/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag !== undefined) return `unknown flag ${flag}`;
  return message.charAt(0).toLowerCase() + message.slice(1);
}

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) usageError(`--${flag} must be a positive integer, got '${text}'`);
  return value;
}

/** The flags as parseArgs reads them (strict: an unknown flag or a missing value is a usage error). */
function readFlags(args: string[]) {
  try {
    return parseArgs({
      args,
      strict: true,
      options: {
        items: { type: 'string', default: String(DEFAULTS.items) },
        concurrency: { type: 'string', default: String(DEFAULTS.concurrency) },
        rate: { type: 'string', default: String(DEFAULTS.rate) },
        checkpoint: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    const message = describeFlagError(error);
    if (message === undefined) throw error;
    usageError(message);
  }
}

function parseFlags(args: string[]) {
  const values = readFlags(args);
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  return {
    itemCount: positiveInteger('items', values.items),
    concurrency: positiveInteger('concurrency', values.concurrency),
    ratePerSecond: positiveInteger('rate', values.rate),
    checkpoint: values.checkpoint,
    json: values.json,
  };
}

const flags = parseFlags(process.argv.slice(2));

// ---- The jobs -------------------------------------------------------------------------------------------------

/** A deterministic stand-in for randomness, so every run of the demo tells the same story. */
function noise(seed: number): number {
  const x = Math.sin(seed * 12.9898) * 43758.5453;
  return x - Math.floor(x);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts (as fetch does). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/**
 * The error for an HTTP status. A 4xx says the request itself is wrong, so asking again cannot help: it is a
 * NonRetryableError, which fails the item at once. 408 (timeout) and 429 (too many requests) are worth retrying.
 */
function httpError(status: number, page: number): Error {
  const message = `HTTP ${status} for page ${page}`;
  const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
  return permanent ? new NonRetryableError(message) : new Error(message);
}

interface Page {
  page: number;
  bytes: number;
}

/**
 * A stand-in for an HTTP GET: 20–400 ms of latency; one request in ten fails with a 503 on its first attempt; one in
 * thirty hangs on its first attempt until the per-attempt timeout aborts it; one page in a hundred is a 404.
 */
const fetchPage = task(
  async function fetchPage(this: TaskContext, page: number) {
    const roll = noise(page * 7 + this.attempt);
    if (this.attempt === 1 && noise(page) < 1 / 30) await sleep(60_000, this.signal);
    await sleep(20 + Math.round(380 * roll ** 2), this.signal);
    if (this.attempt === 1 && noise(page + 0.5) < 0.1) throw httpError(503, page);
    if (noise(page + 0.25) < 0.01) throw httpError(404, page);
    return { page, bytes: 1_000 + Math.round(9_000 * roll) } satisfies Page;
  },
  { retry: { attempts: 3, backoff: 100 }, timeout: 1_000, runName: 'GET /pages/{page}' },
);

// ---- What the run reports -------------------------------------------------------------------------------------

const startedAt = performance.now();
const secondsSoFar = () => (performance.now() - startedAt) / 1000;

/**
 * Counts from the run's events. An attempt's `started` comes after its rate-limit turn, so the gap between the moment
 * it could start (admitted, or its backoff over) and its `started` is the time it waited for the limiter.
 */
const stats = {
  retries: 0,
  failed: 0,
  restored: 0,
  attemptsStarted: 0,
  firstStartAt: 0,
  latestStartAt: 0,
  attemptsThatWaited: 0,
  limiterWaitMs: 0,
  readyAt: new Map<number | undefined, number>(),
};

function record(event: RunEvent): void {
  switch (event.type) {
    case 'queued':
      stats.readyAt.set(event.index, event.time);
      break;
    case 'retrying':
      stats.retries += 1;
      stats.readyAt.set(event.index, event.time + event.delayMs);
      break;
    case 'started': {
      stats.attemptsStarted += 1;
      if (stats.attemptsStarted === 1) stats.firstStartAt = event.time;
      stats.latestStartAt = event.time;
      const waitedMs = event.time - (stats.readyAt.get(event.index) ?? event.time);
      // Timers fire a millisecond or so late: a shorter gap is not a wait for the limiter.
      if (waitedMs >= 2) {
        stats.attemptsThatWaited += 1;
        stats.limiterWaitMs += waitedMs;
      }
      break;
    }
    case 'failed':
      stats.failed += 1;
      break;
    case 'restored':
      stats.restored += 1;
      break;
  }
}

/** Attempts started per second, from the first start to the latest: the rate the limit holds while it binds. */
function startRate(): string {
  const seconds = (stats.latestStartAt - stats.firstStartAt) / 1000;
  return seconds > 0 ? ((stats.attemptsStarted - 1) / seconds).toFixed(0) : '–';
}

// ---- Progress on the terminal ---------------------------------------------------------------------------------

const interactive = process.stdout.isTTY === true && !flags.json;
const bar = new SingleBar({
  format:
    ' {bar} {percentage}% | {value}/{total} | starts {startRate}/s (limit {limit}/s) | {waited} waited for the limiter | retries {retries} | failed {failed}',
  barCompleteChar: '█',
  barIncompleteChar: '░',
  hideCursor: true,
  stream: process.stdout,
});
const barFields = () => ({
  startRate: startRate(),
  limit: flags.ratePerSecond,
  waited: stats.attemptsThatWaited,
  retries: stats.retries,
  failed: stats.failed,
});
let lastTenthPrinted = -1;

function showProgress(done: number, total: number): void {
  if (flags.json) return;
  if (interactive) {
    bar.update(done, barFields());
    return;
  }
  const tenth = Math.floor((done / total) * 10);
  if (tenth <= lastTenthPrinted) return;
  lastTenthPrinted = tenth;
  console.log(
    `progress ${done}/${total} (${tenth * 10}%), starts ${startRate()}/s (limit ${flags.ratePerSecond}/s), ` +
      `${stats.attemptsThatWaited} waited for the limiter, retries ${stats.retries}, failed ${stats.failed}`,
  );
}

/** Stops the bar, which shows the cursor again. Safe to call twice, and when no bar was drawn. */
function restoreTerminal(): void {
  if (interactive) bar.stop();
}

// ---- The run --------------------------------------------------------------------------------------------------

// Ctrl-C cancels the run through its AbortSignal: what is in flight is aborted, nothing new starts, the checkpoint
// keeps what finished. A second Ctrl-C does not wait for that. Listening before the bar hides the cursor means no
// Ctrl-C can kill the process with the cursor hidden.
const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (!interrupt.signal.aborted) {
    interrupt.abort(new Error('cancelled with Ctrl-C'));
    return;
  }
  restoreTerminal();
  process.exit(130);
});

if (interactive) bar.start(flags.itemCount, 0, barFields());
let result: ParallelResult<Page>;
try {
  result = await fetchPage.map(
    Array.from({ length: flags.itemCount }, (_, page) => page),
    {
      concurrency: flags.concurrency,
      rateLimit: { limit: flags.ratePerSecond, interval: 'second' },
      onEvent(event) {
        record(event);
        if (event.type === 'progress') showProgress(event.done, event.total);
      },
      signal: interrupt.signal,
      checkpoint: flags.checkpoint,
    },
  );
} finally {
  restoreTerminal();
}

if (result.status === 'cancelled') {
  // Stopped by Ctrl-C: in flight when it came (failed with its reason), or never started.
  const cancelled = result
    .failures()
    .filter((item) => item.error === interrupt.signal.reason || item.error instanceof NotStartedError).length;
  console.log(`cancelled: ${result.total - cancelled} done, ${cancelled} cancelled`);
  if (flags.checkpoint !== undefined) console.log('run the same command again to finish what was left');
  process.exitCode = 130;
} else {
  printSummary(result);
}

// ---- The summary ----------------------------------------------------------------------------------------------

function printSummary(result: ParallelResult<Page>): void {
  const seconds = secondsSoFar();
  const items = result.itemResults();
  const durations = items.map((item) => item.durationMs).sort((a, b) => a - b);
  const percentile = (p: number) =>
    Math.round(durations[Math.min(durations.length - 1, Math.floor(p * durations.length))]);
  const byAttempts = new Map<number, number>();
  for (const item of items) byAttempts.set(item.attempts, (byAttempts.get(item.attempts) ?? 0) + 1);
  const bytes = result.successes().reduce((sum, item) => sum + item.value.bytes, 0);
  const failures = result.failures().map((item) => ({
    index: item.index,
    attempts: item.attempts,
    error: (item.error as Error).message,
    retryable: !(item.error instanceof NonRetryableError),
  }));
  const rateLimit = {
    limit: flags.ratePerSecond,
    attempts: stats.attemptsStarted,
    attemptsThatWaited: stats.attemptsThatWaited,
    meanWaitMs: Math.round(stats.limiterWaitMs / Math.max(1, stats.attemptsThatWaited)),
  };

  if (flags.json) {
    const succeeded = result.successes().length;
    const summary = {
      status: result.status,
      items: result.total,
      succeeded,
      seconds: Number(seconds.toFixed(2)),
      retries: stats.retries,
    };
    console.log(JSON.stringify({ ...summary, rateLimit, failures }, null, 2));
    return;
  }
  console.log(`\n${result.total} requests in ${seconds.toFixed(1)} s (status: ${result.status})`);
  if (flags.checkpoint !== undefined) {
    const fetchedNow = result.successes().length - stats.restored;
    console.log(
      `checkpoint ${flags.checkpoint}: ${stats.restored} pages restored from an earlier run, ${fetchedNow} fetched now`,
    );
  }
  console.table({
    succeeded: { value: result.successes().length },
    failed: { value: failures.length },
    retries: { value: stats.retries },
    'items by attempts': {
      value: [...byAttempts]
        .sort(([a], [b]) => a - b)
        .map(([attempts, count]) => `${count}×${attempts}`)
        .join(', '),
    },
    'duration p50 / p95 (ms)': { value: `${percentile(0.5)} / ${percentile(0.95)}` },
    'rate limit': {
      value: `${rateLimit.limit}/s: ${rateLimit.attemptsThatWaited} of ${rateLimit.attempts} attempts waited for a turn, ${rateLimit.meanWaitMs} ms on average`,
    },
    downloaded: { value: `${(bytes / 1024).toFixed(0)} KiB` },
  });
  for (const failure of failures.slice(0, 5)) {
    const attempts = failure.attempts === 1 ? '1 attempt' : `${failure.attempts} attempts`;
    const why = failure.retryable ? '' : ' (not retryable)';
    console.log(`  item ${failure.index} failed after ${attempts}${why}: ${failure.error}`);
  }
}
