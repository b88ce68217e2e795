import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type StaticSite, serveFolder } from './support/chromium.js';

/**
 * End to end: builds the typedoc site (typedoc.json, as `npm run docs` does) into a temporary directory, serves it on
 * loopback and reads it in Debian's Chromium through playwright-core (never a downloaded browser), as a user would.
 * Full-page screenshots of the landing page and a guide are left in `$TMPDIR/rxtask-docs-site/` to look at.
 */
const root = resolve(__dirname, '..');
const shots = join(tmpdir(), 'rxtask-docs-site');
const modules = ['rxtask', 'rxtask/operators', 'rxtask/worker', 'rxtask/bullmq', 'rxtask/lmdb'];
const guides = [
  'Getting started',
  'Concepts',
  'Parallel map',
  'Resilience',
  'Futures and task groups',
  'Events',
  'Runners',
  'Cache and checkpoints',
  'Performance',
  'Migrating',
  'Seed examples',
];

let out: string;
let site: StaticSite;
let browser: Browser;
let url: string;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'rxtask-docs-'));
  mkdirSync(shots, { recursive: true });
  // `npm run docs` as it is: typedoc.json's treatWarningsAsErrors fails the build on a broken link, a missing image or
  // an unresolved {@link}.
  const typedoc = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
  await promisify(execFile)(process.execPath, [typedoc, '--out', out], { cwd: root }).catch(
    (error: { stdout?: string; stderr?: string }) => {
      throw new Error(`typedoc failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    },
  );
  site = await serveFolder(out);
  url = site.url;
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

/** Opens a page of the site and waits for typedoc's script to show it and fill in the navigation. */
async function open(path: string, reuse?: Page): Promise<Page> {
  const page = reuse ?? (await browser.newPage({ viewport: { width: 1280, height: 900 } }));
  const response = await page.goto(new URL(path, url).href);
  expect(response?.status(), path).toBe(200);
  await page.waitForFunction(() => document.body.style.display !== 'none');
  await page.waitForSelector('#tsd-nav-container a');
  return page;
}

const text = (page: Page, selector: string) => page.locator(selector).allInnerTexts();
const content = '.col-content';

describe('the typedoc site in Chromium', () => {
  it('opens on a landing page for users: what rxtask is, how to install it, an example, the guides', async () => {
    const page = await open('index.html');
    expect(await page.title()).toBe('rxtask');
    expect(await text(page, `${content} h1`)).toEqual(['rxtask']);
    expect(await page.locator(content).innerText()).toContain('Run many tasks at once, on RxJS.');
    const code = await text(page, `${content} pre > code`);
    expect(code[0]).toContain('npm install /path/to/rxtask-0.1.0.tgz rxjs');
    expect(code[1]).toContain("import { task } from 'rxtask';");
    expect(code[1]).toContain('getUser.map(ids, { concurrency: 2 })');
    expect(code[1].trim().split('\n').length).toBeLessThanOrEqual(15);
    // The guides and the module pages, linked from the page itself.
    const links = await page
      .locator(`${content} a`)
      .evaluateAll((anchors) => anchors.map((a) => [a.textContent, (a as HTMLAnchorElement).href]));
    const linked = new Map(links as [string, string][]);
    expect(linked.get('Resilience')).toBe(new URL('documents/Resilience.html', url).href);
    expect(linked.get('rxtask/operators')).toBe(new URL('modules/rxtask_operators.html', url).href);
    await page.screenshot({ path: join(shots, 'landing.png'), fullPage: true });
    await page.close();
  });

  it('lists the guides, then the modules by their import paths, in the navigation', async () => {
    const page = await open('index.html');
    const entries = await text(page, '#tsd-nav-container > li > a, #tsd-nav-container > li > details > summary a');
    expect(entries.map((entry) => entry.trim())).toEqual([...guides, ...modules]);
    await page.close();
  });

  it('titles each module page by its import path', async () => {
    const page = await open('index.html');
    for (const name of modules) {
      // The link's accessible name includes its icon's label.
      await page
        .locator('#tsd-nav-container')
        .getByRole('link', { name: `Module ${name}`, exact: true })
        .click();
      await page.waitForURL(new URL(`modules/${name.replace('/', '_')}.html`, url).href);
      expect(await text(page, `${content} h1`)).toEqual([`Module ${name}`]);
    }
    await page.close();
  });

  it('reaches a guide from the landing page, and the guides link to each other', async () => {
    const page = await open('index.html');
    await page.locator(content).getByRole('link', { name: 'Resilience', exact: true }).click();
    await page.waitForURL(/documents\/Resilience\.html$/);
    await page.waitForFunction(() => document.body.style.display !== 'none');
    expect(await text(page, `${content} h1`)).toEqual(['Resilience: retry, timeout, rate limit']);
    expect(await text(page, `${content} h2`)).toContain('Retry');
    await page.screenshot({ path: join(shots, 'resilience.png'), fullPage: true });
    await page.close();

    const start = await open('documents/Getting_started.html');
    await start.locator(content).getByRole('link', { name: 'parallel map', exact: true }).click();
    await start.waitForURL(/documents\/Parallel_map\.html$/);
    expect(await text(start, `${content} h1`)).toEqual(['Parallel map']);
    await start.close();
  });

  it('has no broken link or image on the landing page and in the guides', async () => {
    const pages = ['index.html', ...guides.map((guide) => `documents/${guide.replaceAll(' ', '_')}.html`)];
    const broken: string[] = [];
    for (const path of pages) {
      const page = new URL(path, url);
      const html = await (await fetch(page)).text();
      const body = html.slice(html.indexOf('class="col-content"'), html.indexOf('class="col-sidebar"'));
      const targets = [...body.matchAll(/(?:href|src)="([^"#]+)/g)].map(([, target]) => new URL(target, page).href);
      for (const target of new Set(targets)) {
        if (!target.startsWith(url)) continue;
        // A link to a Markdown file typedoc did not render is copied raw: a guide missing from projectDocuments.
        if (target.endsWith('.md')) broken.push(`${path} → ${target}: not a page`);
        const response = await fetch(target);
        if (response.status !== 200) broken.push(`${path} → ${target}: ${response.status}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('shows the performance chart', async () => {
    const page = await open('documents/Performance.html');
    const chart = page.locator(`${content} img[alt^="µs per item"]`);
    await chart.scrollIntoViewIfNeeded();
    await page.waitForFunction(() => Array.from(document.images).every((image) => image.complete));
    expect(await chart.evaluate((image) => (image as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    expect((await chart.boundingBox())?.height).toBeGreaterThan(100);
    await page.close();
  });

  it('shows an overloaded function’s description once, not once per signature', async () => {
    const overloaded = [
      ['functions/rxtask.parallelMap.html', 'Runs fn over every item with at most concurrency running at once', 2],
      ['functions/rxtask.gather.html', 'Runs every argument at once and resolves their values', 3],
      ['functions/rxtask.taskGroup.html', 'Structured concurrency, as in Python', 2],
      ['functions/rxtask_operators.mapParallel.html', 'Runs a task for every value of the source', 2],
    ] as const;
    let page: Page | undefined;
    for (const [path, description, signatures] of overloaded) {
      page = await open(path, page);
      expect(await page.locator(`${content} .tsd-signature`).count(), path).toBe(signatures);
      const comments = await text(page, `${content} .tsd-description > .tsd-comment`);
      expect(comments.filter((comment) => comment.includes(description)).length, path).toBe(1);
      const headings = await text(page, `${content} h4`);
      expect(headings.filter((heading) => heading.trim() === 'Example').length, path).toBe(1);
      if (path.endsWith('parallelMap.html'))
        await page.screenshot({ path: join(shots, 'parallelMap.png'), fullPage: true });
    }
    await page?.close();
  });
});
