import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The demo imports 'rxtask' as a user would; here that name points at the library's source.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: { alias: { rxtask: fileURLToPath(new URL('../../src/index.ts', import.meta.url)) } },
  build: { outDir: 'dist', emptyOutDir: true },
  logLevel: 'warn',
});
