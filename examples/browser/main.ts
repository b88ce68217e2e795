/**
 * The browser demo: a parallel map whose results stream into the page as they complete, with a progress bar and a
 * Cancel button that aborts the requests in flight; the items it stopped are listed and counted as cancelled. Built
 * with Vite (`npm run demo:browser`); `npm run test:e2e` drives it in Chromium (test-e2e/browser-demo.test.ts).
 */
import { type ItemResult, NotStartedError, parallelMap, type TaskContext, task } from 'rxtask';

const ITEMS = 40;

/** A stand-in for fetch: 50–400 ms of latency, cancelled through the task's AbortSignal; one in eight fails. */
const fetchItem = task(function fetchItem(this: TaskContext, id: number) {
  const latency = 50 + ((id * 7919) % 351);
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => (id % 8 === 5 ? reject(new Error(`item ${id}: HTTP 503`)) : resolve(`item ${id}`)),
      latency,
    );
    this.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(this.signal.reason);
    });
  });
});

type Outcome = 'succeeded' | 'failed' | 'cancelled';

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const start = element<HTMLButtonElement>('start');
const cancel = element<HTMLButtonElement>('cancel');
const status = element<HTMLSpanElement>('status');
const progress = element<HTMLProgressElement>('progress');
const done = element<HTMLSpanElement>('done');
const total = element<HTMLSpanElement>('total');
const results = element<HTMLUListElement>('results');
const counters: Record<Outcome, HTMLSpanElement> = {
  succeeded: element('succeeded'),
  failed: element('failed'),
  cancelled: element('cancelled'),
};
/** Aborts the run in progress, if any. */
let running: AbortController | undefined;

function showCounts(tally: Record<Outcome, number>): void {
  for (const outcome of Object.keys(counters) as Outcome[]) counters[outcome].textContent = String(tally[outcome]);
}

/** A Cancel fails the items it stopped with the signal's reason (in flight) or a NotStartedError (still queued). */
function outcomeOf(item: ItemResult<string>, signal: AbortSignal): Outcome {
  if (item.ok) return 'succeeded';
  return item.error === signal.reason || item.error instanceof NotStartedError ? 'cancelled' : 'failed';
}

function labelOf(item: ItemResult<string>, outcome: Outcome): string {
  if (item.ok) return item.value;
  if (outcome === 'failed') return String((item.error as Error).message);
  return `item ${item.index}: cancelled ${item.error instanceof NotStartedError ? 'before it started' : 'while running'}`;
}

// The progress count reads 0 / 40 before the first run.
total.textContent = String(ITEMS);

start.addEventListener('click', () => {
  const run = new AbortController();
  const tally: Record<Outcome, number> = { succeeded: 0, failed: 0, cancelled: 0 };
  running = run;
  results.replaceChildren();
  progress.value = 0;
  done.textContent = '0';
  showCounts(tally);
  status.textContent = 'running';
  start.disabled = true;
  cancel.disabled = false;
  const ids = Array.from({ length: ITEMS }, (_, id) => id);
  parallelMap(fetchItem, ids, {
    concurrency: 4,
    signal: run.signal,
    onProgress(finished, of) {
      progress.value = Math.round((finished / of) * 100);
      done.textContent = String(finished);
      total.textContent = String(of);
    },
  }).subscribe({
    next(item) {
      const outcome = outcomeOf(item, run.signal);
      tally[outcome] += 1;
      showCounts(tally);
      const entry = document.createElement('li');
      entry.className = outcome;
      entry.textContent = labelOf(item, outcome);
      results.append(entry);
    },
    complete() {
      status.textContent = run.signal.aborted ? 'cancelled' : 'completed';
      start.disabled = false;
      cancel.disabled = true;
    },
  });
});

cancel.addEventListener('click', () => {
  // Aborting the run's signal aborts every request in flight and starts no new one; the run then reports each item
  // it stopped, so every item is listed once.
  running?.abort();
  status.textContent = 'cancelled';
  start.disabled = false;
  cancel.disabled = true;
});
