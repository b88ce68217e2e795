/**
 * The browser demo: a parallel map whose results stream into the page as they complete, with a progress bar and a
 * Cancel button that aborts the requests in flight. Built with Vite; `npm run test:browser` drives it in Chromium.
 */
import type { Subscription } from 'rxjs';
import { parallelMap, type TaskContext, task } from 'rxtask';

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

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const start = element<HTMLButtonElement>('start');
const cancel = element<HTMLButtonElement>('cancel');
const status = element<HTMLSpanElement>('status');
const progress = element<HTMLProgressElement>('progress');
const done = element<HTMLSpanElement>('done');
const total = element<HTMLSpanElement>('total');
const results = element<HTMLUListElement>('results');
let running: Subscription | undefined;

start.addEventListener('click', () => {
  results.replaceChildren();
  progress.value = 0;
  status.textContent = 'running';
  start.disabled = true;
  cancel.disabled = false;
  const ids = Array.from({ length: ITEMS }, (_, id) => id);
  running = parallelMap(fetchItem, ids, {
    concurrency: 4,
    onProgress(finished, of) {
      progress.value = Math.round((finished / of) * 100);
      done.textContent = String(finished);
      total.textContent = String(of);
    },
  }).subscribe({
    next(item) {
      const entry = document.createElement('li');
      entry.className = item.ok ? 'ok' : 'failed';
      entry.textContent = item.ok ? item.value : String((item.error as Error).message);
      results.append(entry);
    },
    complete() {
      status.textContent = 'completed';
      start.disabled = false;
      cancel.disabled = true;
    },
  });
});

cancel.addEventListener('click', () => {
  // Unsubscribing aborts every request in flight and starts no new one.
  running?.unsubscribe();
  status.textContent = 'cancelled';
  start.disabled = false;
  cancel.disabled = true;
});
