// The dashboard page in a real browser (Debian's Chromium through playwright-core), over a
// real Pool carrying proxied traffic to backends on 127.0.0.1, the dashboard mounted under
// /lb/. Fails, does not skip, when Chromium is missing.
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  ADMIN_TOKEN,
  HOSTILE_ID,
  launchChromium,
  type PageRecord,
  type Rig,
  record,
  startRig,
} from './page-support.js';

// What the page's globals look like to the functions run in it (the project type-checks
// without the DOM library).
interface Element {
  readonly id: string;
  getAttribute(name: string): string | null;
}
declare const document: { readonly activeElement: Element | null; readonly body: Element };
declare const window: Record<string, unknown>;
declare const sessionStorage: { getItem(key: string): string | null };
declare function getComputedStyle(element: Element): { readonly backgroundColor: string };
type HTMLCanvasElement = { toDataURL(): string };

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function open(rig: Rig, options: BrowserContextOptions = {}, url = rig.pageUrl) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  onTestFinished(() => context.close());
  const page = await context.newPage();
  const log = record(page);
  await page.goto(url);
  await expect
    .poll(() => page.locator('table.endpoints tbody tr').count())
    .toBe(rig.ids.length + 1);
  return { page, log, context };
}

/** Nothing outside the dashboard's own mount point, no console error, no script error. */
function expectClean(rig: Rig, log: PageRecord, allowedConsoleErrors: RegExp[] = []): void {
  expect(log.requests.length).toBeGreaterThan(5);
  const mount = `${rig.origin}/lb`;
  expect(log.requests.filter((url) => url !== mount && !url.startsWith(`${mount}/`))).toEqual([]);
  expect(log.consoleErrors.filter((m) => !allowedConsoleErrors.some((a) => a.test(m)))).toEqual([]);
  expect(log.pageErrors).toEqual([]);
  expect(log.dialogs).toEqual([]);
}

const COLUMN = {
  state: 1,
  weight: 2,
  share: 3,
  rate: 4,
  errors: 5,
  p50: 6,
  p99: 7,
  inflight: 8,
  retries: 9,
  check: 10,
};

const row = (page: Page, id: string) =>
  page.locator('table.endpoints tbody tr', { has: page.getByText(id, { exact: true }) });

const cell = (page: Page, id: string, column: number) =>
  row(page, id).locator('td').nth(column).textContent();

const number = (text: string | null): number => Number.parseFloat(text ?? '');

const focused = (page: Page) =>
  page.evaluate(
    () => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.id,
  );

describe('the dashboard page', () => {
  it('renders every endpoint and updates live, without a reload, while traffic flows', async () => {
    const rig = await startRig();
    // The bare mount point redirects to the page (its relative URLs need the slash).
    const { page, log } = await open(rig, {}, rig.pageUrl.slice(0, -1));
    expect(page.url()).toBe(rig.pageUrl);

    // Each pool in its own section, in the order given.
    expect(await page.locator('.pool h2').allTextContents()).toEqual(['app', 'db']);
    const app = page.locator('.pool').nth(0);
    expect(await app.locator('.endpoint-id').allTextContents()).toEqual(rig.ids);
    expect(await page.locator('.pool').nth(1).locator('.endpoint-id').allTextContents()).toEqual([
      'db-1',
    ]);
    // The hostile id is text: no element was made of it and no script ran (no dialog).
    expect(await page.locator('img').count()).toBe(0);
    expect(await row(page, HOSTILE_ID).count()).toBe(1);
    expect(await page.locator('table.endpoints tbody .state').allTextContents()).toEqual(
      [...rig.ids, 'db-1'].map(() => 'healthy'),
    );

    // Figures arrive: rates, shares, latency percentiles, in flight, weight.
    await expect
      .poll(async () => number(await cell(page, 'fast', COLUMN.rate)), { timeout: 15_000 })
      .toBeGreaterThan(0);
    await expect
      .poll(async () => number(await cell(page, 'slow', COLUMN.p99)), { timeout: 15_000 })
      .toBeGreaterThan(0);
    const shares = await Promise.all(rig.ids.map((id) => cell(page, id, COLUMN.share)));
    const total = shares.map(number).reduce((a, b) => a + b, 0);
    expect(total, shares.join(' ')).toBeGreaterThan(95);
    expect(total, shares.join(' ')).toBeLessThan(105);
    expect(await cell(page, 'medium', COLUMN.weight)).toBe('1.0');
    expect(await cell(page, 'medium', COLUMN.errors)).toBe('0 %');
    expect(await cell(page, 'medium', COLUMN.inflight)).toMatch(/^\d+$/);
    // Retries per second need two snapshots.
    await expect.poll(() => cell(page, 'medium', COLUMN.retries)).toMatch(/^\d+\.\d$/);
    for (const id of rig.ids) expect(await cell(page, id, COLUMN.check)).toMatch(/^ok [\d.]+ ms$/);
    expect(await app.locator('.totals').textContent()).toMatch(/4 of 4 eligible · [\d.]+ req\/s/);
    await expect.poll(() => page.locator('#connection').getAttribute('data-state')).toBe('live');

    // Live: the time, the figures and both charts change with no navigation.
    await page.evaluate(() => {
      window.marker = 42;
    });
    const charts = app.locator('.uplot canvas');
    expect(await charts.count()).toBe(2);
    expect(await page.locator('.uplot canvas').count()).toBe(4);
    const before = {
      updated: await page.locator('#updated').textContent(),
      share: await charts.nth(0).evaluate((c: HTMLCanvasElement) => c.toDataURL()),
      latency: await charts.nth(1).evaluate((c: HTMLCanvasElement) => c.toDataURL()),
      answered: rig.answered(),
    };
    await expect
      .poll(() => page.locator('#updated').textContent(), { timeout: 5_000 })
      .not.toBe(before.updated);
    await expect
      .poll(() => charts.nth(0).evaluate((c: HTMLCanvasElement) => c.toDataURL()))
      .not.toBe(before.share);
    await expect
      .poll(() => charts.nth(1).evaluate((c: HTMLCanvasElement) => c.toDataURL()))
      .not.toBe(before.latency);
    expect(rig.answered()).toBeGreaterThan(before.answered);
    expect(await page.evaluate(() => window.marker)).toBe(42);

    // Retries the pool counts (here by execute(): each first attempt fails) are listed with
    // the changes, where they went, and counted per endpoint.
    for (let i = 0; i < 4; i++) {
      await rig.pool.execute(
        async (_endpoint, { attempt }) => {
          if (attempt === 1) throw new Error('first attempt fails');
        },
        { attempts: 2, backoff: false },
      );
    }
    const retries = app.locator('.events li[data-kind="retry"]').first();
    await retries.waitFor({ timeout: 3_000 });
    expect(await retries.textContent()).toMatch(/\d+ retr(y|ies)went to .+ \d+/);

    // Both colour schemes: dark follows prefers-color-scheme, and the charts are redrawn.
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const light = await background();
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await background();
    expect(dark).not.toBe(light);
    const luminance = (rgb: string) =>
      (rgb.match(/\d+/g) ?? []).slice(0, 3).reduce((a, b) => a + Number(b), 0);
    expect(luminance(dark)).toBeLessThan(luminance(light));
    expect(await page.locator('.uplot canvas').count()).toBe(4);

    expectClean(rig, log);
  });

  it('shows a state change within two seconds, with its reason, and reconnects by itself', async () => {
    const rig = await startRig();
    const { page, log } = await open(rig);
    await expect.poll(() => page.locator('#connection').getAttribute('data-state')).toBe('live');

    rig.pool.setHealth('slow', false);
    await row(page, 'slow').locator('.state', { hasText: 'unhealthy' }).waitFor({ timeout: 2_000 });
    const entry = page.locator('.events li').first();
    expect(await entry.textContent()).toMatch(/slow\s*healthy\s*→\s*unhealthy/);
    expect(await entry.locator('.why').textContent()).toBe(
      'failed its health checks (health-check)',
    );
    expect(await row(page, 'slow').getAttribute('data-state')).toBe('unhealthy');

    // A change in the other pool is listed there, not here.
    rig.db.disable('db-1');
    const db = page.locator('.pool').nth(1);
    await db.locator('.events li', { hasText: 'db-1' }).waitFor({ timeout: 2_000 });
    expect(
      await page.locator('.pool').nth(0).locator('.events li', { hasText: 'db-1' }).count(),
    ).toBe(0);
    expect(await row(page, 'db-1').getAttribute('data-state')).toBe('disabled');

    // A change on the hostile id is listed as text too.
    rig.pool.disable(HOSTILE_ID);
    await row(page, HOSTILE_ID)
      .locator('.state', { hasText: 'disabled' })
      .waitFor({ timeout: 2_000 });
    expect(await page.locator('.events li .who').first().textContent()).toBe(HOSTILE_ID);
    expect(await page.locator('img').count()).toBe(0);

    // The connection drops: the indicator says so, the page reconnects by itself, and
    // changes show again.
    rig.dropConnections();
    await expect
      .poll(() => page.locator('#connection').getAttribute('data-state'), { timeout: 5_000 })
      .toBe('reconnecting');
    await expect
      .poll(() => page.locator('#connection').getAttribute('data-state'), { timeout: 10_000 })
      .toBe('live');
    rig.pool.setHealth('slow', true);
    await row(page, 'slow').locator('.state', { hasText: 'healthy' }).waitFor({ timeout: 2_000 });
    expect(await page.locator('.events li').first().textContent()).toMatch(
      /slow\s*unhealthy\s*→\s*healthy/,
    );

    // The dashboard closes: its streams end and new ones are refused; the page says so.
    await rig.closeDashboard();
    await expect
      .poll(() => page.locator('#connection').getAttribute('data-state'), { timeout: 10_000 })
      .toBe('offline');
    expect(await page.locator('#connection').textContent()).toMatch(/offline: retrying in \d+ s/);

    // Chromium reports the stream cut under it and the refused one; nothing else.
    expectClean(rig, log, [/ERR_INCOMPLETE_CHUNKED_ENCODING/, /status of 503/]);
  });

  it('shows admin buttons only once a token is entered, reports a 401, and drains by keyboard', async () => {
    const rig = await startRig();
    const { page, log, context } = await open(rig);
    const actionButtons = page.getByRole('button', { name: /^(drain|disable|enable) / });
    expect(await actionButtons.count()).toBe(0);
    expect(await page.locator('th.actions').evaluateAll((ths) => ths.length)).toBe(2);
    for (const th of await page.locator('th.actions').all()) expect(await th.isHidden()).toBe(true);

    // Keyboard only: skip link, then the Admin button.
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('admin-open');
    await page.keyboard.press('Enter');
    expect(await focused(page)).toBe('admin-token');
    await page.keyboard.type('not-the-token');
    await page.keyboard.press('Enter');
    expect(await actionButtons.count()).toBe((rig.ids.length + 1) * 2); // drain and disable each

    // A wrong token: the server answers 401, the page says so and forgets the token.
    await page.getByRole('button', { name: 'drain medium' }).click();
    await page.locator('#notice', { hasText: '401' }).waitFor({ timeout: 5_000 });
    expect(rig.pool.get('medium')?.state).toBe('healthy');
    expect(await actionButtons.count()).toBe(0);
    expect(await focused(page)).toBe('admin-token');

    // The right one, then the first action button is the next stop of the Tab key.
    await page.keyboard.type(ADMIN_TOKEN);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('drain fast');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('disable fast');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('drain medium');
    await page.keyboard.press('Enter');
    await row(page, 'medium')
      .locator('.state', { hasText: 'draining' })
      .waitFor({ timeout: 2_000 });
    expect(rig.pool.get('medium')?.state).toBe('draining');
    // The Drain button gave way to Enable, and the focus went with it.
    expect(await focused(page)).toBe('enable medium');
    expect(await page.locator('#notice').textContent()).toMatch(/drain: medium/);

    // Enable brings it back; the token lives in sessionStorage, never in a cookie.
    await page.getByRole('button', { name: 'enable medium' }).click();
    await row(page, 'medium').locator('.state', { hasText: 'healthy' }).waitFor({ timeout: 2_000 });
    expect(rig.pool.get('medium')?.state).toBe('healthy');
    expect(await context.cookies()).toEqual([]);
    expect(await page.evaluate(() => sessionStorage.getItem('switchyard.adminToken'))).toBe(
      ADMIN_TOKEN,
    );

    // Lock hides the buttons again.
    await page.getByRole('button', { name: 'Lock' }).click();
    expect(await actionButtons.count()).toBe(0);

    // Chromium reports the refused POST on the console; nothing else is allowed.
    expectClean(rig, log, [/status of 401 \(Unauthorized\)/]);
  });
});
