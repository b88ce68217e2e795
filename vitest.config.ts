import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every core runs test files (vitest leaves one to itself by default, which on two cores runs them one by one),
    // on threads, which start faster than processes.
    pool: 'threads',
    maxWorkers: availableParallelism(),
    // An unhandled rejection or uncaught exception anywhere fails the run (vitest's default, stated on purpose).
    dangerouslyIgnoreUnhandledErrors: false,
    setupFiles: ['test/support/setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
    testTimeout: 20_000,
  },
});
