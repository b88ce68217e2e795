import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type StaticSite, serveFolder } from './support/chromium.js';

/**
 * End to end: builds examples/browser with Vite, serves it on loopback and drives it in Debian's Chromium through
 * playwright-core (never a downloaded browser).
 */
const root = resolve(__dirname, '..');
const demo = join(root, 'examples', 'browser');
const dist = join(demo, 'dist');

let site: StaticSite;
let browser: Browser;
let url: string;

beforeAll(async () => {
  await build({ configFile: join(demo, 'vite.config.ts'), logLevel: 'silent' });
  site = await serveFolder(dist);
  url = site.url;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
});

async function open(): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(url);
  return page;
}

const count = (page: Page, selector: string) => page.locator(selector).count();

/** The counts the page shows: items that succeeded, failed and were cancelled. */
const shownCounts = (page: Page) =>
  page.evaluate(() => {
    const shown = (id: string) => Number(document.getElementById(id)?.textContent);
    return { succeeded: shown('succeeded'), failed: shown('failed'), cancelled: shown('cancelled') };
  });

describe('the browser demo in Chromium', () => {
  it('shows the progress count, 0 / 40, before the run starts', async () => {
    const page = await open();
    expect(await page.textContent('#status')).toBe('idle');
    expect(await page.evaluate(() => document.getElementById('done')?.parentElement?.textContent)).toBe('0 / 40 done');
    expect(await shownCounts(page)).toEqual({ succeeded: 0, failed: 0, cancelled: 0 });
    await page.close();
  });

  it('shows results as they arrive, before the run finishes, and reaches 100%', async () => {
    const page = await open();
    await page.click('#start');
    await page.waitForSelector('#results li');
    // The first results are on the page while the run is still going.
    expect(await page.textContent('#status')).toBe('running');
    expect(await page.evaluate(() => (document.getElementById('progress') as HTMLProgressElement).value)).toBeLessThan(
      100,
    );
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'completed', undefined, {
      timeout: 20_000,
    });
    expect(await page.evaluate(() => (document.getElementById('progress') as HTMLProgressElement).value)).toBe(100);
    expect(await count(page, '#results li')).toBe(40);
    expect(await count(page, '#results li.failed')).toBe(5);
    expect(await shownCounts(page)).toEqual({ succeeded: 35, failed: 5, cancelled: 0 });
    await page.close();
  });

  it('stops new results when Cancel is pressed, and lists and counts the items it stopped as cancelled', async () => {
    const page = await open();
    await page.click('#start');
    await page.waitForFunction(() => document.querySelectorAll('#results li').length >= 3);
    await page.click('#cancel');
    expect(await page.textContent('#status')).toBe('cancelled');
    const finished = '#results li.succeeded, #results li.failed';
    const finishedAtCancel = await count(page, finished);
    await page.waitForTimeout(1_500); // longer than any request: a request still running would have answered
    expect(await count(page, finished)).toBe(finishedAtCancel);
    expect(finishedAtCancel).toBeLessThan(40);
    // Every item the Cancel stopped is listed once, marked as cancelled, and counted.
    const cancelled = page.locator('#results li.cancelled');
    expect(await cancelled.count()).toBe(40 - finishedAtCancel);
    for (const text of await cancelled.allTextContents()) expect(text).toMatch(/^item \d+: cancelled /);
    const shown = await shownCounts(page);
    expect(shown.cancelled).toBe(40 - finishedAtCancel);
    expect(shown.succeeded).toBe(await count(page, '#results li.succeeded'));
    expect(shown.succeeded + shown.failed + shown.cancelled).toBe(40);
    await page.close();
  });
});

describe('rxtask in Chromium, where there is no async context', () => {
  it('lends a parent’s permit to the children started in its synchronous part, and task groups outlive their children', async () => {
    const bundle = await build({
      configFile: false,
      logLevel: 'silent',
      build: {
        write: false,
        target: 'esnext',
        lib: { entry: join(__dirname, 'fixtures', 'browser-cases.ts'), formats: ['iife'], name: 'browserCases' },
      },
    });
    const [{ output }] = bundle as { output: { code?: string }[] }[];
    const page = await browser.newPage();
    await page.goto(url);
    await page.addScriptTag({ content: output[0].code });
    const results = await page.evaluate(() =>
      (globalThis as unknown as { rxtaskCases(): Promise<unknown> }).rxtaskCases(),
    );
    expect(results).toEqual({
      borrowing: {
        values: [
          [2, 4, 6],
          [20, 22, 24],
        ],
        peak: 1,
        active: 0,
      },
      group: { log: ['stubborn ended, aborted: true', 'group settled'], outcome: ['root cause'] },
      disposing: { ended: true },
    });
    await page.close();
  });
});
