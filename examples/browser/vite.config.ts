import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

/** At logLevel 'warn' Vite keeps its banner to itself: say where the page is, once the dev server listens. */
const printAddress: Plugin = {
  name: 'rxtask-demo:print-address',
  configureServer({ httpServer }) {
    httpServer?.once('listening', () => {
      const { port } = httpServer.address() as AddressInfo;
      console.log(`\n  rxtask browser demo: open http://localhost:${port}/ (Ctrl-C stops the server)\n`);
    });
  },
};

// The demo imports 'rxtask' as a user would; here that name points at the library's source.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: { alias: { rxtask: fileURLToPath(new URL('../../src/index.ts', import.meta.url)) } },
  build: { outDir: 'dist', emptyOutDir: true },
  logLevel: 'warn',
  plugins: [printAddress],
});
