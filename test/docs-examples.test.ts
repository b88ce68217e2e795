import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Every ```ts block of the README, of docs/*.md and of the library's doc comments is type-checked and run, so the
// docs cannot rot; ```js file=NAME blocks are the modules they import.
const root = resolve(__dirname, '..');
const scratch = join(root, 'test', '.examples');

interface Example {
  readonly name: string;
  readonly file: string;
}

function collectExamples(): Example[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name));
  const examples: Example[] = [];
  for (const doc of ['README.md', ...docs]) {
    const text = readFileSync(join(root, doc), 'utf8');
    // A ```js block whose info string names a file (```js file=primes.js) is a module the examples import.
    for (const [, name, code] of text.matchAll(/```js file=(\S+)\n([\s\S]*?)```/g))
      writeFileSync(join(scratch, name), code);
    const blocks = [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);
    blocks.forEach((code, i) => {
      const file = join(scratch, `${doc.replace(/[/.]/g, '_')}_${i + 1}.ts`);
      writeFileSync(file, `${rewrite(code)}\nexport {};\n`);
      examples.push({ name: `${doc} block ${i + 1}`, file });
    });
  }
  // The @example of every doc comment in the library's source, but those that need a file or a server of the
  // reader's (marked `// Needs …` on their first line).
  for (const dir of ['src', 'operators', 'worker', 'bullmq', 'lmdb']) {
    for (const file of sourceFiles(join(root, dir))) {
      const text = readFileSync(file, 'utf8');
      const blocks = [...text.matchAll(/\* ```ts\n([\s\S]*?)\* ```/g)].map((match) =>
        match[1].replace(/^\s*\* ?/gm, ''),
      );
      blocks.forEach((code, i) => {
        if (code.startsWith('// Needs')) return;
        const name = `${relative(root, file)} example ${i + 1}`;
        const target = join(scratch, `${relative(root, file).replace(/[/.]/g, '_')}_${i + 1}.ts`);
        writeFileSync(target, `${rewrite(code)}\nexport {};\n`);
        examples.push({ name, file: target });
      });
    }
  }
  return examples;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

function rewrite(code: string): string {
  const toSource = (path: string) => relative(scratch, join(root, path)).replaceAll('\\', '/');
  return code
    .replaceAll("from 'rxtask/operators'", `from '${toSource('operators/index.js')}'`)
    .replaceAll("from 'rxtask/worker'", `from '${toSource('worker/index.js')}'`)
    .replaceAll("from 'rxtask/bullmq'", `from '${toSource('bullmq/index.js')}'`)
    .replaceAll("from 'rxtask/lmdb'", `from '${toSource('lmdb/index.js')}'`)
    .replaceAll("from 'rxtask'", `from '${toSource('src/index.js')}'`);
}

rmSync(scratch, { recursive: true, force: true });
mkdirSync(scratch, { recursive: true });
const examples = collectExamples();

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('documentation examples', () => {
  beforeAll(() => {
    vi.spyOn(console, 'log').mockImplementation(() => {});
  });

  it('type-check', () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = [
      '--noEmit',
      '--strict',
      '--target',
      'es2022',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
    ];
    let errors = '';
    try {
      execFileSync('node', [tsc, ...args, '--skipLibCheck', '--types', 'node', ...examples.map((e) => e.file)], {
        cwd: root,
        encoding: 'utf8',
      });
    } catch (error) {
      errors = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(errors).toBe('');
  });

  it.each(examples)('$name runs', async ({ file }) => {
    await import(file);
  });
});
