import { vi } from 'vitest';

/** Runs `body` under fake timers, advancing them until it settles, so orderings by delay are exact. */
export async function inVirtualTime<T>(body: () => Promise<T>): Promise<T> {
  vi.useFakeTimers();
  const pending = body();
  let settled = false;
  pending.then(
    () => (settled = true),
    () => (settled = true),
  );
  try {
    while (!settled) await vi.advanceTimersByTimeAsync(1);
    return await pending;
  } finally {
    vi.useRealTimers();
  }
}
