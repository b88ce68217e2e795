/**
 * What a browser app pays for an import: esbuild bundles it minified with rxjs external, and the result is gzipped at
 * level 9. rxtask is measured from its build (`dist`), as an app would get it from npm.
 */
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export interface BundleRow {
  readonly name: string;
  readonly gzipBytes: number;
  /** What the goal allows, in bytes. */
  readonly goal: number | undefined;
}

const IMPORTS: readonly { name: string; source: string; goal?: number }[] = [
  { name: 'rxtask `import { parallelMap }`', source: "export { parallelMap } from 'rxtask';", goal: 6_000 },
  { name: 'rxtask `import { task }`', source: "export { task } from 'rxtask';", goal: 7_000 },
  { name: 'rxtask, everything', source: "export * from 'rxtask';", goal: 14_000 },
  { name: 'p-map', source: "export { default } from 'p-map';" },
  { name: 'p-limit', source: "export { default } from 'p-limit';" },
];

async function gzipSize(source: string): Promise<number> {
  const result = await build({
    stdin: { contents: source, resolveDir: new URL('..', import.meta.url).pathname, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    external: ['rxjs', 'rxjs/*'],
    alias: { rxtask: new URL('../dist/index.js', import.meta.url).pathname },
    write: false,
    logLevel: 'silent',
  });
  return gzipSync(result.outputFiles[0].contents, { level: 9 }).length;
}

export async function bundleSizes(): Promise<BundleRow[]> {
  const rows: BundleRow[] = [];
  for (const entry of IMPORTS)
    rows.push({ name: entry.name, gzipBytes: await gzipSize(entry.source), goal: entry.goal });
  return rows;
}
