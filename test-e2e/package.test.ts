import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';

// Packs the library as npm would publish it, unpacks it into an empty project and uses it from every module system.
const root = resolve(__dirname, '..');
let project: string;

function run(file: string, args: string[]): string {
  return execFileSync(file, args, { cwd: project, encoding: 'utf8' });
}

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'rxtask-pack-'));
  // `npm pack` builds first (the `prepack` script), as it does for a user packing a clone.
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', project], {
    cwd: root,
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop() as string;
  const installed = join(project, 'node_modules', 'rxtask');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['xzf', join(project, tarball), '-C', installed, '--strip-components=1']);
  // The peer dependency and the type-checker come from this checkout; nothing is downloaded.
  symlinkSync(join(root, 'node_modules', 'rxjs'), join(project, 'node_modules', 'rxjs'));
  symlinkSync(join(root, 'node_modules', '@types'), join(project, 'node_modules', '@types'));
  symlinkSync(join(root, 'node_modules', 'piscina'), join(project, 'node_modules', 'piscina'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
}, 60_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('ships the build, the guides and the package files', () => {
    const files = readdirSync(join(project, 'node_modules', 'rxtask')).sort();
    expect(files).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'dist', 'docs', 'package.json']);
    // The guides the README links to, with their image; not the API site.
    const docs = readdirSync(join(project, 'node_modules', 'rxtask', 'docs'));
    expect(docs).toEqual(expect.arrayContaining(['getting-started.md', 'resilience.md', 'performance.svg']));
    expect(docs).not.toContain('api');
  });

  it('works from ESM, with the operators subpath', () => {
    writeFileSync(
      join(project, 'esm.mjs'),
      `import { task, gather } from 'rxtask';
       import * as operators from 'rxtask/operators';
       const double = task(async (x) => x * 2);
       console.log(JSON.stringify(await gather(double(1), double(2))), typeof operators);`,
    );
    expect(run('node', ['esm.mjs']).trim()).toBe('[2,4] object');
  });

  it('works from CommonJS, with the operators subpath', () => {
    writeFileSync(
      join(project, 'cjs.cjs'),
      `const { task, gather } = require('rxtask');
       const operators = require('rxtask/operators');
       const double = task(async (x) => x * 2);
       gather(double(3)).then((v) => console.log(JSON.stringify(v), typeof operators));`,
    );
    expect(run('node', ['cjs.cjs']).trim()).toBe('[6] object');
  });

  it('keeps class names in the CommonJS build, so errors and runs log as themselves (issue 18)', () => {
    writeFileSync(
      join(project, 'names.cjs'),
      `const { TimeoutError, TaskRun, ParallelRun, RateLimiter, task } = require('rxtask');
       const error = new TimeoutError('too slow', 5, 'fetch');
       console.log([TimeoutError.name, TaskRun.name, ParallelRun.name, RateLimiter.name, error.name,
         String(error), task(() => 1)().constructor.name].join(' '));`,
    );
    expect(run('node', ['names.cjs']).trim()).toBe(
      'TimeoutError TaskRun ParallelRun RateLimiter TimeoutError TimeoutError: too slow CallRun',
    );
    // Every class each entry point exports is named as it is exported, from both module systems.
    writeFileSync(
      join(project, 'exported.cjs'),
      `const entries = ['rxtask', 'rxtask/operators', 'rxtask/worker'];
       const misnamed = (module) => Object.entries(module)
         .filter(([name, value]) => typeof value === 'function' && /^class\\b/.test(Function.prototype.toString.call(value)) && value.name !== name)
         .map(([name, value]) => name + ' is ' + value.name);
       Promise.all(entries.map((entry) => import(entry))).then((esm) => {
         const cjs = entries.map((entry) => require(entry));
         console.log(JSON.stringify([...esm.flatMap(misnamed), ...cjs.flatMap(misnamed)]));
       });`,
    );
    expect(JSON.parse(run('node', ['exported.cjs']))).toEqual([]);
    // The library's own classes, in the stack frames of an error it raises.
    writeFileSync(
      join(project, 'frames.cjs'),
      `const { task } = require('rxtask');
       const slow = task(function slow() { return new Promise((resolve) => setTimeout(resolve, 1000)); }, { timeout: 1 });
       slow().catch((error) => console.log(error.stack));`,
    );
    const stack = run('node', ['frames.cjs']);
    expect(stack).toMatch(/^TimeoutError: slow timed out after 1 ms/);
    expect(stack).toContain('at AttemptGuard.timedOut');
    expect(stack).not.toMatch(/_class/);
  });

  it('fills run-name templates in a minified bundle, by given names and by position (issue 18)', async () => {
    writeFileSync(
      join(project, 'named.mjs'),
      `import { task } from 'rxtask';
       const byName = task(async (userId) => userId, { runName: 'fetch user {userId}', parameterNames: ['userId'] });
       const byPosition = task(async (userId) => userId, { runName: 'fetch user {0}' });
       console.log(byName.submit(3).runName + ' / ' + byPosition.submit(4).runName);`,
    );
    await build({
      entryPoints: [join(project, 'named.mjs')],
      outfile: join(project, 'named.min.mjs'),
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'node',
      external: ['rxjs'],
      logLevel: 'silent',
    });
    expect(readFileSync(join(project, 'named.min.mjs'), 'utf8')).not.toContain('userId=>');
    expect(run('node', ['named.min.mjs']).trim()).toBe('fetch user 3 / fetch user 4');
  });

  it('runs worker tasks from rxtask/worker, in ESM and CommonJS, from the built files', () => {
    writeFileSync(join(project, 'double.mjs'), 'export function double(x) { return x * 2; }');
    writeFileSync(
      join(project, 'worker.mjs'),
      `import { workerTask } from 'rxtask/worker';
       const double = workerTask(new URL('./double.mjs', import.meta.url), 'double');
       console.log(await double(21));
       await double.close();`,
    );
    expect(run('node', ['worker.mjs']).trim()).toBe('42');
    writeFileSync(
      join(project, 'worker.cjs'),
      `const { workerTask } = require('rxtask/worker');
       const { pathToFileURL } = require('node:url');
       const double = workerTask(pathToFileURL(__dirname + '/double.mjs'), 'double');
       double(4).then((v) => { console.log(v); return double.close(); });`,
    );
    expect(run('node', ['worker.cjs']).trim()).toBe('8');
  });

  it.each([
    ['rxtask/worker', 'piscina', 'piscina'],
    ['rxtask/bullmq', 'bullmq', 'bullmq ioredis'],
    ['rxtask/lmdb', 'lmdb', 'lmdb'],
  ])('says which package to install when %s is imported without %s, from ESM and CommonJS', (entry, peer, install) => {
    // A project of its own with rxtask and rxjs only, so no peer resolves from the project the others use.
    const bare = mkdtempSync(join(tmpdir(), 'rxtask-bare-'));
    onTestFinished(() => rmSync(bare, { recursive: true, force: true }));
    const installed = join(bare, 'node_modules', 'rxtask');
    mkdirSync(installed, { recursive: true });
    cpSync(join(project, 'node_modules', 'rxtask'), installed, { recursive: true });
    symlinkSync(join(root, 'node_modules', 'rxjs'), join(bare, 'node_modules', 'rxjs'));
    const message = `${entry} needs the package "${peer}", which is not installed: npm install ${install}`;
    const esm = `import('${entry}').then(() => console.log('loaded'), (error) => console.log(error.message));`;
    const cjs = `try { require('${entry}'); console.log('loaded'); } catch (error) { console.log(error.message); }`;
    writeFileSync(join(bare, 'esm.mjs'), esm);
    writeFileSync(join(bare, 'cjs.cjs'), cjs);
    const runHere = (file: string) => execFileSync('node', [file], { cwd: bare, encoding: 'utf8' }).trim();
    expect(runHere('esm.mjs')).toBe(message);
    expect(runHere('cjs.cjs')).toBe(message);
  });

  it.each([
    ['node16', 'node16', 'consumer.mts'],
    ['bundler', 'esnext', 'consumer.mts'],
    // TypeScript's default for `module: commonjs`, which reads no `exports`: subpaths resolve through `typesVersions`.
    ['node10', 'commonjs', 'consumer.ts'],
  ])('type-checks with moduleResolution %s', (moduleResolution, module, file) => {
    writeFileSync(
      join(project, file),
      `import { task, type TaskRun } from 'rxtask';
       import * as operators from 'rxtask/operators';
       import type { RetryBackoffOptions } from 'rxtask/operators';
       const toText = task(async (x: number) => String(x));
       const run: TaskRun<string> = toText(1);
       const retry: RetryBackoffOptions = { attempts: 2 };
       // @ts-expect-error a string is not a number
       toText('1');
       export { run, operators, retry };`,
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--module', module, '--moduleResolution', moduleResolution];
    expect(() => run('node', [tsc, ...args, '--types', 'node', file])).not.toThrow();
  });
});

describe('the package files', () => {
  it('agree with the lockfile, so `npm install` on a fresh clone leaves package-lock.json as it is', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const locked = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')).packages[''];
    for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'peerDependenciesMeta', 'engines']) {
      expect(locked[field], field).toEqual(manifest[field]);
    }
  });
});
