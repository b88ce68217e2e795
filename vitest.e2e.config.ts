import { defineConfig } from 'vitest/config';

// End-to-end tests against real parts: the packed tarball in a project of its own, the demo in a terminal, the browser
// demo and the API site in Debian's Chromium, the BullMQ runner on Debian's Redis.
// `npm run test:e2e` (needs `chromium` and `redis-server` on the PATH).
export default defineConfig({
  test: {
    include: ['test-e2e/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
