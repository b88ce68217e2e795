/**
 * The rxtask the bench measures: the build users install (`npm run bench` builds it first), typed by its sources.
 * tsx's transform of the sources runs slower than the shipped code, so measuring them would misstate every path.
 */
export const rxtask: typeof import('../src/index.js') = await import(new URL('../dist/index.js', import.meta.url).href);

/** `rxtask/worker`, from the same build. */
export const rxtaskWorker: typeof import('../worker/index.js') = await import(
  new URL('../dist/worker/index.js', import.meta.url).href
);
