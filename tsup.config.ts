import { copyFileSync, mkdirSync } from 'node:fs';
import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';

/**
 * The CommonJS build has no top-level await: there each optional peer (`src/peers/piscina.ts`, …) is swapped for its
 * `.cjs.ts` twin, which `require`s the package (see src/peers/optional-peer.ts).
 */
const requirePeers: Plugin = {
  name: 'require-peers',
  setup(build) {
    // tsup builds CommonJS as ESM and converts it after, so the format is told by tsup's own define.
    if (build.initialOptions.define?.TSUP_FORMAT !== '"cjs"') return;
    build.onResolve({ filter: /\/peers\/(piscina|bullmq|ioredis|lmdb)\.js$/ }, (args) => ({
      path: `${args.resolveDir}/${args.path.replace(/\.js$/, '.cjs.ts')}`,
    }));
  },
};

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'operators/index': 'operators/index.ts',
    'worker/index': 'worker/index.ts',
    'bullmq/index': 'bullmq/index.ts',
    'lmdb/index': 'lmdb/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  // One copy of shared code (error classes, the engine) for every entry point, in both formats.
  splitting: true,
  // Rollup turns the split ESM chunks into CommonJS. Without it tsup uses sucrase, which rewrites every class with
  // fields into an anonymous `_class` expression, so errors, runs and stack frames showed `_class11`.
  treeshake: true,
  // `import.meta.url` in the CommonJS build, for the worker pool to find its thread script.
  shims: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  esbuildPlugins: [requirePeers],
  external: ['rxjs', 'piscina', 'bullmq', 'ioredis', 'lmdb'],
  async onSuccess() {
    // The script worker threads run is plain JavaScript, shipped beside the worker entry point (ESM) and beside the
    // shared chunks, where the CommonJS build's `import.meta.url` shim points.
    mkdirSync('dist/worker', { recursive: true });
    copyFileSync('src/workers/worker-entry.mjs', 'dist/worker/worker-entry.mjs');
    copyFileSync('src/workers/worker-entry.mjs', 'dist/worker-entry.mjs');
  },
});
