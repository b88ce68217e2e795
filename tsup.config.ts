import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', 'operators/index': 'operators/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  // One copy of shared code (error classes, the engine) for both entry points, in both formats.
  splitting: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  external: ['rxjs'],
});
