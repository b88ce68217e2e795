import { defineConfig } from 'vitest/config';

// The end-to-end test of the browser demo, in Debian's Chromium: `npm run test:browser`.
export default defineConfig({
  test: {
    include: ['test-browser/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
