import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AxeResults } from 'axe-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Database } from '@app/common';
import { call, expectLedgerConsistent, grantTokens, idemKey, startApp, TestApp } from '../support/app.js';
import { generationEnv, waitFinished } from '../generation/support.js';

/** axe-core from node_modules, evaluated in the page (over the DevTools protocol, so the page's CSP stays as it is). */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** Besides every serious or critical finding, these once failed here and stay fixed. */
const AXE_ALSO_FAIL = ['page-has-heading-one', 'empty-table-header', 'scrollable-region-focusable', 'color-contrast'];

/** Longer than the 60 characters the generations table shows of a prompt. */
const PARTIAL_PROMPT = `[fake:partial=1] two views of ${'a very long harbour at night, '.repeat(4)}`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The few browser globals used in page callbacks (the tsconfig has no DOM lib: this is server code). */
interface Win {
  document: {
    querySelector(sel: string): { textContent: string | null; hasAttribute(name: string): boolean } | null;
    querySelectorAll(sel: string): { length: number };
    documentElement: { scrollWidth: number };
  };
  sessionStorage: { length: number };
  axe?: { run(context: unknown, options: unknown): Promise<AxeResults> };
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

describe('admin dashboard in a real browser', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let generationId: string;
  const pagesIds: string[] = [];
  let partialId: string;
  let keyedId: string;
  let failedId: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    t = await startApp(generationEnv());
    expect((await call(t, 'PUT', '/v1/wallets/dash_user')).status).toBe(201);
    const gen = await call(
      t,
      'POST',
      '/v1/image/generate',
      { model: 'models/openai/gpt-image', owner_id: 'dash_user', prompt: 'a lighthouse at dusk' },
      { idem: idemKey('dash-gen') },
    );
    expect(gen.status).toBe(202);
    generationId = gen.body.id;
    expect(await waitFinished(t, `/v1/generations/${generationId}`)).toMatchObject({ status: 'succeeded', tokens_used: '3.540' });
    // One priced by its dimensions: gpt-image-1 at low quality, 1536x1024, in a wallet of its own.
    expect((await call(t, 'PUT', '/v1/wallets/priced_wallet')).status).toBe(201);
    const keyed = await call(
      t,
      'POST',
      '/v1/image/generate',
      {
        model: 'models/openai/gpt-image',
        variant: 'gpt-image-1',
        owner_id: 'priced_wallet',
        prompt: 'a wide harbour',
        size: '1536x1024',
        quality: 'low',
      },
      { idem: idemKey('dash-keyed') },
    );
    expect(keyed.status).toBe(202);
    keyedId = keyed.body.id;
    expect(await waitFinished(t, `/v1/generations/${keyedId}`)).toMatchObject({ status: 'succeeded', tokens_used: '0.340' });

    // A wallet with more generations than a page: a batch of 21, one that delivered 1 of 2, one refused.
    expect((await call(t, 'PUT', '/v1/wallets/dash_pages')).status).toBe(201);
    await grantTokens(t, 'dash_pages', 200_000n);
    const batch = await call(
      t,
      'POST',
      '/v1/batches',
      { owner_id: 'dash_pages', variant: 'gpt-image-1-min', items: Array.from({ length: 21 }, (_, i) => ({ prompt: `batch item ${i}` })) },
      { idem: idemKey('dash-batch') },
    );
    expect(batch.status).toBe(202);
    expect(await waitFinished(t, `/v1/batches/${batch.body.id}`)).toMatchObject({ status: 'completed', succeeded: 21 });
    const one = async (prompt: string, n: number) => {
      const g = await call(
        t,
        'POST',
        '/v1/image/generate',
        { model: 'models/openai/gpt-image', owner_id: 'dash_pages', prompt, n },
        { idem: idemKey() },
      );
      expect(g.status).toBe(202);
      await waitFinished(t, `/v1/generations/${g.body.id}`);
      return g.body.id as string;
    };
    partialId = await one(PARTIAL_PROMPT, 2);
    failedId = await one('[fake:fail=content_policy] refused', 1);
    const all = await call(t, 'GET', '/v1/admin/wallets/dash_pages/generations?limit=200', undefined, { key: t.adminKey });
    pagesIds.push(...all.body.data.map((g: { id: string }) => g.id));
    expect(pagesIds).toHaveLength(23);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    // Script errors and CSP violations (reported as console errors) fail the suite.
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      // 4xx answers are expected here (a wrong key, a bad amount); anything else, CSP violations included, is not.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(`console: ${m.text()}`);
    });
  });

  afterAll(async () => {
    try {
      if (t) await expectLedgerConsistent(t);
    } finally {
      await browser?.close();
      await t?.close();
    }
  });

  /** Waits until the element's trimmed text equals (or, with a RegExp, matches) the expectation. */
  async function waitText(selector: string, expected: string | RegExp, timeout = 10_000): Promise<void> {
    const pattern = typeof expected === 'string' ? null : expected.source;
    try {
      await page.waitForFunction(
        ([sel, exact, re]) => {
          const text = (globalThis as unknown as Win).document.querySelector(sel)?.textContent?.trim() ?? null;
          return text !== null && (re ? new RegExp(re).test(text) : text === exact);
        },
        [selector, typeof expected === 'string' ? expected : '', pattern] as const,
        { timeout },
      );
    } catch (e) {
      const actual = await page
        .locator(selector)
        .first()
        .textContent({ timeout: 1000 })
        .catch(() => null);
      const alert = await page
        .locator('#alert')
        .textContent()
        .catch(() => null);
      throw new Error(
        `${selector}: expected ${String(expected)}, got ${JSON.stringify(actual)} (alert: ${JSON.stringify(alert)}); ${String(e)}`,
      );
    }
  }

  async function confirmDialog(fields: Record<string, string>): Promise<void> {
    await page.locator('#confirm-dialog[open]').waitFor();
    for (const [sel, value] of Object.entries(fields)) await page.fill(sel, value);
    await page.click('#confirm-ok');
    await page.locator('#confirm-dialog').waitFor({ state: 'hidden' });
  }

  it('serves the page and its assets with a strict CSP and security headers', async () => {
    const res = await fetch(`${t.baseUrl}/admin`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toBe(CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/admin/assets/app.js">');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline scripts
    expect(html).not.toMatch(/\son[a-z]+=/i); // no inline event handlers

    const js = await fetch(`${t.baseUrl}/admin/assets/app.js`);
    expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect(js.headers.get('content-security-policy')).toBe(CSP);
    const css = await fetch(`${t.baseUrl}/admin/assets/app.css`);
    expect([css.status, css.headers.get('content-type')]).toEqual([200, 'text/css; charset=utf-8']);
    for (const bad of ['index.html', 'nope.js', '..%2F..%2F..%2F..%2Fpackage.json', '%2E%2E%2Fdashboard.controller.ts']) {
      expect((await fetch(`${t.baseUrl}/admin/assets/${bad}`)).status).toBe(404);
    }
  });

  it('signs in, shows a refused amount under its field in the dialog, grants and refunds', async () => {
    await page.goto(`${t.baseUrl}/admin`);
    await page.locator('#api-key').waitFor();

    // A wrong key: the problem's detail is shown and the sign-in form stays.
    await page.fill('#api-key', 'tw_not_a_real_key_123');
    await page.click('#sign-in');
    await waitText('#alert-detail', /unknown or revoked/);
    expect(await page.locator('#view-sign-in').isVisible()).toBe(true);

    await page.fill('#api-key', t.adminKey);
    await page.click('#sign-in');
    await page.locator('#owner-search').waitFor();
    expect(await page.locator('#alert').isVisible()).toBe(false);
    await page.fill('#owner-search', 'dash_user');
    await page.press('#owner-search', 'Enter');
    await waitText('#wallet-available', '11.460');
    await waitText('#wallet-status', 'active');
    expect(await page.locator('[data-testid=bucket-row]').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid=transaction-row]').count()).toBeGreaterThan(0);
    expect(await page.locator(`[data-testid=generation-row][data-generation-id="${generationId}"]`).count()).toBe(1);

    // A bad amount goes to the API, whose field error is shown under the field, once, in the
    // dialog, which stays open with what was typed; nothing moves and no page alert appears.
    await page.click('#grant-open');
    await page.locator('#confirm-dialog[open]').waitFor();
    await page.fill('#confirm-amount', '1.0001');
    await page.fill('#confirm-reason', 'too precise');
    await page.click('#confirm-ok');
    await waitText('[data-testid=field-error][data-field=amount]', /^amount must have at most 3 decimal places$/);
    expect(await page.locator('#confirm-dialog').isVisible()).toBe(true);
    expect(await page.locator('#alert').isVisible()).toBe(false);
    expect(await page.getAttribute('#confirm-amount', 'aria-invalid')).toBe('true');
    expect(await page.inputValue('#confirm-reason')).toBe('too precise');
    const dialogText = (await page.locator('#confirm-dialog').textContent()) ?? '';
    expect(dialogText.split('at most 3 decimal places').length - 1).toBe(1);
    expect(await page.locator('#confirm-error').textContent()).toMatch(/^Request validation failed \(validation_error\)$/);
    expect(await page.locator('[data-testid=field-error][data-field=reason]').isVisible()).toBe(false);
    await waitText('#wallet-available', '11.460');

    // A reason is required before anything is sent; typing clears the field's error.
    await page.fill('#confirm-amount', '10');
    expect(await page.locator('[data-testid=field-error][data-field=amount]').isVisible()).toBe(false);
    await page.fill('#confirm-reason', '   ');
    await page.click('#confirm-ok');
    await waitText('#confirm-error', /required/);
    await waitText('[data-testid=field-error][data-field=reason]', 'Required');
    expect(await page.locator('#confirm-dialog').isVisible()).toBe(true);
    expect(await page.locator('#confirm-summary').textContent()).toContain('11.460 → 21.460');

    await page.fill('#confirm-reason', 'support ticket 4711: goodwill');
    await page.click('#confirm-ok');
    await page.locator('#confirm-dialog').waitFor({ state: 'hidden' });
    await waitText('#wallet-available', '21.460');
    expect(await page.locator('#alert').isVisible()).toBe(false);

    // Refund the generation in full.
    await page.click(`[data-testid=refund-open][data-generation-id="${generationId}"]`);
    await confirmDialog({ '#confirm-reason': 'bad output, refund requested' });
    await waitText('#wallet-available', '25.000');
    const row = page.locator(`[data-testid=generation-row][data-generation-id="${generationId}"]`);
    await page.waitForFunction(
      (id) =>
        (globalThis as unknown as Win).document
          .querySelector(`[data-testid=refund-open][data-generation-id="${id}"]`)
          ?.hasAttribute('disabled'),
      generationId,
    );
    expect(await row.textContent()).toContain('3.540');

    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/dashboard-wallet.png', fullPage: true });

    const api = await call(t, 'GET', '/v1/wallets/dash_user');
    expect(api.body.balance).toEqual({ available: '25.000', held: '0.000' });
  });

  it('shows what a settle charged, released and returned, beside the change of available', async () => {
    const settle = page.locator('[data-testid=transaction-row][data-type=settle]').first();
    await settle.waitFor();
    const cells = (await settle.locator('td').allTextContents()).map((c) => c.trim());
    // when, type, available, charged, released, returned: the generation's hold was charged in full.
    expect(cells.slice(1, 6)).toEqual(['settle', '0.000', '3.540', '0.000', '0.000']);
    const reserve = (await page.locator('[data-testid=transaction-row][data-type=reserve]').first().locator('td').allTextContents()).map(
      (c) => c.trim(),
    );
    expect(reserve.slice(1, 6)).toEqual(['reserve', '-3.540', '', '', '']);
  });

  it('downloads the wallet statement as CSV', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#statement-csv')]);
    expect(download.suggestedFilename()).toMatch(/^statement-dash_user-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
    const csv = readFileSync(await download.path(), 'utf8');
    const api = await fetch(`${t.baseUrl}/v1/wallets/dash_user/statement.csv`, { headers: { authorization: `Bearer ${t.gatewayKey}` } });
    expect(csv.split('\n')[0]).toBe('created_at,transaction_id,type,amount,available_after,ref');
    expect(csv).toBe(await api.text());
    expect(csv).toContain(',settle,');
  });

  it('finds wallets by owner id prefix, and the wallet of a generation id', async () => {
    await page.fill('#owner-search', 'dash_');
    await page.press('#owner-search', 'Enter');
    await page.locator('[data-testid=search-row]').first().waitFor();
    expect(await page.locator('#wallet-panel').isVisible()).toBe(false);
    expect(
      await page
        .locator('[data-testid=search-row]')
        .evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { owner: string } }).dataset.owner)),
    ).toEqual(['dash_pages', 'dash_user']);
    await waitText('[data-testid=search-summary]', '2 wallets whose owner id starts with dash_');
    await page.click('[data-testid=search-row][data-owner=dash_pages] a');
    await waitText('#wallet-owner', 'dash_pages');
    expect(await page.locator('#search-panel').isVisible()).toBe(false);

    await page.fill('#owner-search', generationId);
    await page.press('#owner-search', 'Enter');
    await waitText('#wallet-owner', 'dash_user');
    await waitText('#notice', `Generation ${generationId} belongs to wallet dash_user`);
    await page.fill('#owner-search', `gen_${'0'.repeat(32)}`);
    await page.press('#owner-search', 'Enter');
    await waitText('#alert-detail', `No generation gen_${'0'.repeat(32)}`);
    await page.fill('#owner-search', 'nobody_');
    await page.press('#owner-search', 'Enter');
    await waitText('#search-body tr.empty td', "No wallet's owner id starts with nobody_");
  });

  it("pages a wallet's generations, with the prompt, delivered k of n, the image and why one failed", async () => {
    await page.goto(`${t.baseUrl}/admin#/wallet/dash_pages`);
    await page.locator('[data-testid=generation-row]').first().waitFor();
    const shown = () =>
      page
        .locator('[data-testid=generation-row]')
        .evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { generationId: string } }).dataset.generationId));
    expect(await shown()).toEqual(pagesIds.slice(0, 20));
    await page.click('#generations-older');
    await page.waitForFunction(
      () => (globalThis as unknown as Win).document.querySelectorAll('[data-testid=generation-row]').length === 23,
    );
    expect(await shown()).toEqual(pagesIds);
    expect(await page.locator('#generations-older').isVisible()).toBe(false);

    const partial = page.locator(`[data-testid=generation-row][data-generation-id="${partialId}"]`);
    expect((await partial.locator('[data-testid=generation-delivered]').textContent())?.trim()).toBe('1 of 2');
    expect(await partial.locator('[data-testid=generation-prompt]').textContent()).toBe(`${PARTIAL_PROMPT.slice(0, 60)}…`);
    expect(await partial.locator('[data-testid=generation-prompt]').getAttribute('title')).toBe(PARTIAL_PROMPT);
    expect(await partial.locator('[data-testid=generation-image]').getAttribute('href')).toMatch(/\/files\/gen_[0-9a-f]{32}/);
    expect(await partial.textContent()).toContain('3.540');
    const failed = page.locator(`[data-testid=generation-row][data-generation-id="${failedId}"]`);
    expect((await failed.locator('[data-testid=generation-delivered]').textContent())?.trim()).toBe('0 of 1');
    expect(await failed.locator('[data-testid=generation-error]').textContent()).toContain('content_policy');
    expect(await failed.locator('[data-testid=generation-image]').count()).toBe(0);
    expect(await page.locator('#alert').isVisible()).toBe(false);
  });

  it('shows both actions with their reasons in the audit log', async () => {
    await page.click('#nav-audit');
    await page.locator('[data-testid=audit-row]').first().waitFor();
    const grant = page.locator('[data-testid=audit-row][data-action=grant]');
    const refund = page.locator('[data-testid=audit-row][data-action=refund]');
    expect(await grant.count()).toBe(1);
    expect(await refund.count()).toBe(1);
    expect(await grant.textContent()).toContain('support ticket 4711: goodwill');
    expect(await grant.textContent()).toContain('dash_user');
    expect(await refund.textContent()).toContain('bad output, refund requested');
    expect(await refund.textContent()).toContain(generationId);

    // Filtering by action narrows the list.
    await page.fill('#audit-action', 'refund');
    await page.click('#audit-apply');
    await page.waitForFunction(
      () => (globalThis as unknown as Win).document.querySelectorAll('[data-testid=audit-row][data-action=grant]').length === 0,
    );
    expect(await page.locator('[data-testid=audit-row]').count()).toBe(1);

    // From the wallet: its grant and the refund of its generation (whose target is the generation).
    await page.goto(`${t.baseUrl}/admin#/wallet/dash_user`);
    await waitText('#wallet-owner', 'dash_user');
    await page.click('#wallet-audit');
    await page.waitForFunction(() => (globalThis as unknown as Win).document.querySelectorAll('[data-testid=audit-row]').length === 2);
    expect(await page.inputValue('#audit-owner')).toBe('dash_user');
    expect(
      await page
        .locator('[data-testid=audit-row]')
        .evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { action: string } }).dataset.action)),
    ).toEqual(['refund', 'grant']);
  });

  it('draws the summary report', async () => {
    await page.click('#nav-summary');
    await page.locator('svg[data-testid=daily-chart]').waitFor();
    await waitText('#summary-granted', /^\d+\.\d{3}$/);
    expect(await page.locator('#summary-refunded').textContent()).toMatch(/^\d+\.\d{3}$/);
  });

  it("shows a wallet's budgets, alerts and events, and the webhook endpoints with their recent failures", async () => {
    const budget = await call(t, 'PUT', '/v1/wallets/dash_user/budgets/daily', { limit: '100', period: 'day', scope: 'wallet' });
    expect(budget.status).toBe(201);
    const alert = await call(t, 'PUT', '/v1/wallets/dash_user/alerts/low', { type: 'balance_below', threshold: '1000' });
    expect(alert.status).toBe(201);
    const failing = createServer((_req, res) => res.writeHead(500).end('down'));
    await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(failing.address() as AddressInfo).port}/hook`;
      const put = await call(t, 'PUT', '/v1/admin/webhook-endpoints/dash-hook', { url }, { key: t.adminKey });
      expect(put.status).toBe(201);
      // An event after the endpoint exists, which the worker's dispatcher tries and records as failed.
      const r = await call(t, 'POST', '/v1/wallets/dash_user/reservations', { amount: '1' }, { idem: idemKey('dash-res') });
      expect(r.status).toBe(201);
      for (;;) {
        const view = await call(t, 'GET', '/v1/admin/webhook-endpoints/dash-hook', undefined, { key: t.adminKey });
        if (view.body.recent_failures.length > 0) break;
        await new Promise((done) => setTimeout(done, 50));
      }

      await page.goto(`${t.baseUrl}/admin#/wallet/dash_user`);
      await page.locator('[data-testid=budget-row]').first().waitFor();
      const used = (await call(t, 'GET', '/v1/wallets/dash_user/budgets/daily')).body;
      await waitText('[data-testid=budget-row] [data-testid=budget-used]', used.used);
      await waitText('[data-testid=budget-row] [data-testid=budget-remaining]', used.remaining);
      await waitText('[data-testid=alert-row] [data-testid=alert-state]', 'triggered');
      const events = (await call(t, 'GET', '/v1/events?owner_id=dash_user&limit=1000')).body.data as Array<{ type: string }>;
      expect(await page.locator('[data-testid=event-row]').count()).toBe(Math.min(events.length, 50));
      await waitText('[data-testid=event-row] td:nth-child(2)', events[events.length - 1].type);

      // Auto top-up: its settings and its attempts (a declined one, as the webhook would have recorded it).
      await page.locator('[data-testid=atu-summary]').waitFor();
      await waitText('[data-testid=atu-summary]', /^Not set up; no saved card$/);
      const atu = await call(t, 'PUT', '/v1/wallets/dash_user/auto-top-up', {
        enabled: false,
        threshold: '5',
        pack_id: 'pack_50',
        max_per_month: 3,
      });
      expect(atu.status).toBe(201);
      await t.app.get(Database).run(
        `INSERT INTO auto_top_up_attempts (wallet_id, crossing, month, pack_id, tokens, amount_cents, idempotency_key, payment_intent, status, error, created_at, updated_at)
         SELECT id, 7, date_trunc('month', now())::date, 'pack_50', 50, 500, 'dash-key', 'pi_dash', 'failed', 'card_declined: Your card was declined.', now(), now()
         FROM wallets WHERE owner_id = 'dash_user'`,
      );
      await page.reload();
      await waitText('[data-testid=atu-summary]', 'Off: below 5.000 buy pack_50, 0 of 3 this month; no saved card; failures in a row: 0');
      await waitText('[data-testid=atu-attempt] [data-testid=atu-status]', 'failed');
      expect(await page.locator('[data-testid=atu-attempt]').first().textContent()).toContain('card_declined');

      await page.click('#nav-hooks');
      await page.locator('[data-testid=hook-row][data-name=dash-hook]').waitFor();
      await waitText('[data-testid=hook-failure-row] [data-testid=hook-failure-why]', 'HTTP 500');
      expect(await page.locator('#alert').isVisible()).toBe(false);
    } finally {
      // Open to the end: every attempt meanwhile is answered 500.
      await new Promise((r) => failing.close(r));
    }
  });

  it('shows the prices with their dimensions, and what each generation was priced at and why', async () => {
    await page.goto(`${t.baseUrl}/admin#/prices`);
    await page.locator('[data-testid=price-row]').first().waitFor();
    const rows = await page
      .locator('[data-testid=price-row]')
      .evaluateAll((trs) =>
        trs.map((tr) => Array.from((tr as unknown as { cells: { textContent: string }[] }).cells, (c) => c.textContent)),
      );
    const prices = await call(t, 'GET', '/v1/prices', undefined, { key: t.adminKey });
    expect(rows).toHaveLength(prices.body.data.length);
    const cells = (variant: string, dims: string) => rows.find((r) => r[0].startsWith(variant) && r[2] === dims);
    expect(cells('gpt-image-1', 'quality high, size 1024x1024')?.slice(3, 5)).toEqual(['image', '3.540']);
    expect(cells('gpt-image-1', 'quality low, size 1536x1024')?.slice(3, 5)).toEqual(['image', '0.340']);
    expect(cells('gpt-image-1', 'input_images 2, quality high, size 1024x1024')?.[4]).toBe('3.865');

    await page.goto(`${t.baseUrl}/admin#/wallet/priced_wallet`);
    const keyed = page.locator(`[data-testid=generation-row][data-generation-id="${keyedId}"]`);
    await keyed.waitFor();
    expect(await keyed.locator('[data-testid=generation-price]').textContent()).toBe('0.340 per image · v1 · quality low, size 1536x1024');
    expect(await page.locator('#alert').isVisible()).toBe(false);
  });

  /** Every serious or critical axe finding, and any of AXE_ALSO_FAIL, as one line each. */
  async function axeFindings(view: string): Promise<string[]> {
    if (!(await page.evaluate(() => Boolean((globalThis as unknown as Win).axe)))) await page.evaluate(AXE_SOURCE);
    const results = await page.evaluate(() =>
      (globalThis as unknown as Win).axe!.run((globalThis as unknown as Win).document, { resultTypes: ['violations'] }),
    );
    return results.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical' || AXE_ALSO_FAIL.includes(v.id))
      .map(
        (v) =>
          `${view}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes
            .map((n) => n.target.join(' '))
            .slice(0, 5)
            .join(', ')}`,
      );
  }

  /** The views, each ready to be checked; the last opens the confirmation dialog. */
  const VIEWS: Array<[string, () => Promise<void>]> = [
    [
      'wallet',
      async () => {
        await page.goto(`${t.baseUrl}/admin#/wallet/dash_pages`);
        await page.locator('[data-testid=generation-row]').first().waitFor();
        await page.locator('[data-testid=transaction-row]').first().waitFor();
      },
    ],
    [
      'search',
      async () => {
        await page.goto(`${t.baseUrl}/admin#/wallet`);
        await page.locator('#wallet-panel').waitFor({ state: 'hidden' }); // the route has run
        await page.fill('#owner-search', 'dash');
        await page.press('#owner-search', 'Enter');
        await page.locator('[data-testid=search-row]').first().waitFor();
      },
    ],
    [
      'audit',
      async () => {
        await page.goto(`${t.baseUrl}/admin#/audit`);
        await page.locator('[data-testid=audit-row]').first().waitFor();
      },
    ],
    [
      'summary',
      async () => {
        await page.goto(`${t.baseUrl}/admin#/summary`);
        await page.locator('svg[data-testid=daily-chart]').waitFor();
      },
    ],
    [
      'hooks',
      async () => {
        await page.goto(`${t.baseUrl}/admin#/hooks`);
        await page.locator('[data-testid=hook-row]').first().waitFor();
      },
    ],
    [
      'prices',
      async () => {
        await page.goto(`${t.baseUrl}/admin#/prices`);
        await page.locator('[data-testid=price-row]').first().waitFor();
      },
    ],
    [
      'dialog',
      async () => {
        await page.goto(`${t.baseUrl}/admin#/wallet/dash_user`);
        await waitText('#wallet-owner', 'dash_user');
        await page.click('#grant-open');
        await page.fill('#confirm-amount', '1.0001');
        await page.fill('#confirm-reason', 'axe');
        await page.click('#confirm-ok');
        await page.locator('[data-testid=field-error][data-field=amount]').waitFor();
      },
    ],
  ];

  it('has no serious or critical axe-core finding on any view, sign-in included', async () => {
    const findings: string[] = [];
    for (const [view, open] of VIEWS) {
      await open();
      findings.push(...(await axeFindings(view)));
    }
    const signIn = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    try {
      await signIn.goto(`${t.baseUrl}/admin`);
      await signIn.locator('#api-key').waitFor();
      await signIn.evaluate(AXE_SOURCE);
      const results = await signIn.evaluate(() =>
        (globalThis as unknown as Win).axe!.run((globalThis as unknown as Win).document, { resultTypes: ['violations'] }),
      );
      findings.push(...results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `sign-in: ${v.id}`));
    } finally {
      await signIn.close();
    }
    expect(findings).toEqual([]);
  });

  it('fits a 390 px wide screen on every view, Sign out in sight', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      const wide: string[] = [];
      for (const [view, open] of VIEWS) {
        await open();
        const width = await page.evaluate(() => (globalThis as unknown as Win).document.documentElement.scrollWidth);
        if (width > 390) wide.push(`${view}: ${width} px`);
        if (view === 'dialog') continue; // the modal covers the page
        const box = await page.locator('#sign-out').boundingBox();
        if (!box || box.x < 0 || box.x + box.width > 390) wide.push(`${view}: Sign out at ${JSON.stringify(box)}`);
        wide.push(...(await axeFindings(`${view} at 390 px`)));
      }
      expect(wide).toEqual([]);
      await page.screenshot({ path: 'test-artifacts/dashboard-390.png', fullPage: true });
    } finally {
      await page.setViewportSize({ width: 1366, height: 900 });
      await page.goto(`${t.baseUrl}/admin#/wallet`); // a route closes the dialog the last view opened
      await page.locator('#confirm-dialog').waitFor({ state: 'hidden' });
    }
  });

  it('signs out and forgets the key', async () => {
    await page.click('#sign-out');
    await page.locator('#api-key').waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as Win).sessionStorage.length)).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
