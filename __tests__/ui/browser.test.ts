/**
 * The admin UI as a person uses it, in a real browser (Debian's Chromium driven by playwright-core):
 * sign in through the form, read the Logs page, filter by key alias and by headroom status, open a
 * request and see headroom-compression as a pre-call step with its duration, and its evaluation.
 * Screenshots go to __tests__/artifacts/ (gitignored).
 *
 * No Chromium at CHROMIUM_PATH (default /usr/bin/chromium): skipped with a message, except under CI,
 * where it fails.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { fmtInt, fmtMs } from '../../examples/gateway/ui/format';
import { UI_COOKIE } from '../../examples/gateway/ui';
import { MASTER_KEY } from '../gateway/helpers';
import { startUiTraffic, XSS_ALIAS, type Kind, type UiTraffic } from './traffic';

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const available = existsSync(executablePath);
const ARTIFACTS = join(__dirname, '..', 'artifacts');

if (!available && !process.env.CI) {
  console.warn(`admin UI browser tests skipped: no Chromium at ${executablePath} (install Debian's chromium or set CHROMIUM_PATH; under CI this fails)`);
}
const suite = available || process.env.CI ? describe : describe.skip;

jest.setTimeout(90_000);

suite('admin UI in Chromium', () => {
  let t: UiTraffic;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const dialogs: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    if (!available) throw new Error(`CI is set and there is no Chromium at ${executablePath}: install chromium or point CHROMIUM_PATH at one`);
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await startUiTraffic();
    browser = await chromium.launch({
      executablePath,
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
    page = await context.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    // A CSP violation (a blocked style, a script, an outside resource) is reported as a console error.
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const url = (path: string) => `${t.stack.url}${path}`;
  const rowIds = () => page.locator('tbody tr[data-request-id]').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-request-id')));
  const newestFirst = (kinds: Kind[]) =>
    kinds
      .map((k) => t.rows[k])
      .sort((a, b) => b.received_at - a.received_at)
      .map((r) => r.request_id);

  test('without a session: the login form; a wrong key is refused and no cookie is set', async () => {
    const res = await page.goto(url('/ui'));
    expect(res!.status()).toBe(401);
    expect(res!.headers()['content-security-policy']).toContain("default-src 'none'");
    await expect(page.locator('h1').textContent()).resolves.toBe('Sign in');
    expect(await page.locator('tbody').count()).toBe(0);

    await page.fill('input[name=key]', 'sk-wrong-key');
    await Promise.all([page.waitForURL(url('/ui/login')), page.click('button[type=submit]')]);
    await expect(page.locator('[role=alert]').textContent()).resolves.toContain("not this gateway's master key");
    expect(await context.cookies()).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'ui-login-refused.png') });
  });

  test('signing in through the form: HttpOnly, SameSite=Strict cookie; the Logs page lists every request, newest first', async () => {
    await page.fill('input[name=key]', MASTER_KEY);
    await Promise.all([page.waitForURL(url('/ui')), page.click('button[type=submit]')]);
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: UI_COOKIE, httpOnly: true, sameSite: 'Strict', path: '/ui' });
    expect(cookies[0].value).not.toContain(MASTER_KEY);
    expect(await page.evaluate('document.cookie')).toBe('');

    await expect(page.locator('h1').textContent()).resolves.toBe('Logs');
    const all = Object.keys(t.ids) as Kind[];
    expect(await rowIds()).toEqual(newestFirst(all));

    // Totals strip: today's requests, share compressed, tokens saved, compress-step percentiles.
    const total = (name: string) => page.locator(`[data-total="${name}"]`).textContent();
    const rows = Object.values(t.rows);
    const compressed = rows.filter((r) => r.headroom_status === 'compressed').length;
    expect(compressed).toBe(2);
    await expect(total('requests')).resolves.toBe(String(rows.length));
    await expect(total('share')).resolves.toBe(`${((compressed / rows.length) * 100).toFixed(1)}%`);
    await expect(total('tokens-saved')).resolves.toBe(fmtInt(rows.reduce((n, r) => n + (r.tokens_saved ?? 0), 0)));
    await expect(total('compress-p')).resolves.toMatch(/^\d[\d.,]* ms \/ \d[\d.,]* ms$/);

    // The row of the compressed request: alias, model, path, status, tokens saved as in the spend log.
    const row = page.locator(`tr[data-request-id="${t.ids.compressed}"]`);
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(1, 5)).toEqual(['claude-code-team', 'claude-sonnet-4-6', 'POST /v1/messages', '200']);
    expect(cells[5]).toBe(fmtMs(t.rows.compressed.latency_ms));
    expect(cells[6].trim()).toBe('compressed');
    expect(cells[7]).toBe(fmtInt(t.rows.compressed.tokens_saved));
    await expect(page.locator(`tr[data-request-id="${t.ids.skipped}"] td`).nth(6).textContent()).resolves.toContain('below_min_tokens');
    await expect(page.locator(`tr[data-request-id="${t.ids.unauthorized}"] td`).nth(4).textContent()).resolves.toBe('401');

    await page.screenshot({ path: join(ARTIFACTS, 'ui-logs.png'), fullPage: true });
  });

  test('a key alias of markup renders as text: no script element, no dialog', async () => {
    const cell = page.locator(`tr[data-request-id="${t.ids.xss}"] td`).nth(1);
    await expect(cell.textContent()).resolves.toBe(XSS_ALIAS);
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator(`select[name=key_alias] option[value="${XSS_ALIAS}"]`).count()).toBe(1);
    expect(dialogs).toEqual([]);
  });

  test('filter by key alias, then by headroom status (a plain GET form)', async () => {
    await page.selectOption('select[name=key_alias]', 'claude-code-team');
    await Promise.all([page.waitForURL(/key_alias=claude-code-team/), page.click('form.filters button[type=submit]')]);
    expect(await rowIds()).toEqual(newestFirst(['compressed', 'skipped', 'bypassed', 'failedOpen']));
    await expect(page.locator('[data-total="requests"]').textContent()).resolves.toBe('4');
    await expect(page.locator('.caption').textContent()).resolves.toContain('claude-code-team');

    await page.selectOption('select[name=status]', 'failed');
    await Promise.all([page.waitForURL(/status=failed/), page.click('form.filters button[type=submit]')]);
    expect(new URL(page.url()).searchParams.get('key_alias')).toBe('claude-code-team');
    expect(await rowIds()).toEqual([t.ids.failedOpen]);
    await expect(page.locator('tbody tr td').nth(6).textContent()).resolves.toContain('HEADROOM_UNREACHABLE');

    await page.selectOption('select[name=key_alias]', '');
    await page.selectOption('select[name=status]', 'none');
    await Promise.all([page.waitForURL(/status=none/), page.click('form.filters button[type=submit]')]);
    expect(await rowIds()).toEqual([t.ids.unauthorized]);

    await Promise.all([page.waitForURL(url('/ui')), page.click('text=Clear filters')]);
    expect(await rowIds()).toHaveLength(Object.keys(t.ids).length);
  });

  test('a compressed request: headroom-compression is a pre-call step with its duration; the evaluation matches the spend log', async () => {
    const row = t.rows.compressed;
    await Promise.all([page.waitForURL(/\/ui\/requests\//), page.click(`tr[data-request-id="${row.request_id}"] a`)]);
    expect(new URL(page.url()).pathname).toBe(`/ui/requests/${row.request_id}`);

    // The lifecycle: received → headroom-compression → upstream call → response, in that order.
    const steps = await page.locator('[data-step]').evaluateAll((els) => els.map((e) => e.getAttribute('data-step')));
    expect(steps).toEqual(['received', 'headroom-compression', 'upstream', 'response']);
    const step = page.locator('[data-step="headroom-compression"]');
    await expect(step.locator('.name').textContent()).resolves.toBe('headroom-compression');
    await expect(step.locator('.kind').textContent()).resolves.toBe('pre-call guardrail');
    const duration = await page.locator('[data-step-duration="headroom-compression"]').textContent();
    expect(duration).toMatch(/^\d[\d.,]* ms$/);
    expect(duration).toBe(fmtMs(row.compress_ms));
    expect(row.compress_ms).toBeGreaterThan(0);

    // Drawn to scale: each bar's offset and width are its timestamps' share of the request's span.
    const box = async (sel: string) => (await page.locator(sel).boundingBox())!;
    const track = await box('.track >> nth=0');
    const span = Math.max(row.ended_at, row.upstream_ended_at!) - row.received_at;
    const expectBar = (b: { x: number; width: number }, from: number, to: number) => {
      expect(Math.abs(b.x - track.x - ((from - row.received_at) / span) * track.width)).toBeLessThanOrEqual(2);
      expect(Math.abs(b.width - Math.max(3, ((to - from) / span) * track.width))).toBeLessThanOrEqual(3); // bars are at least 3 px wide
    };
    expectBar(await box('.bar.headroom-compression'), row.headroom_started_at!, row.headroom_ended_at!);
    expectBar(await box('.bar.wait'), row.upstream_started_at!, row.upstream_first_byte_at!);
    expectBar(await box('.bar.upstream'), row.upstream_first_byte_at!, row.upstream_ended_at!);
    expect(row.upstream_first_byte_at! - row.upstream_started_at!).toBeGreaterThanOrEqual(35); // the slow upstream of traffic.ts

    // The evaluation panel, from the spend log's record.
    const field = (name: string) => page.locator(`[data-field="${name}"]`).first().textContent();
    await expect(field('status')).resolves.toBe('compressed');
    await expect(field('tokens-saved')).resolves.toContain(fmtInt(row.tokens_saved));
    await expect(field('tokens-before')).resolves.toBe(fmtInt(row.tokens_before));
    await expect(field('tokens-after')).resolves.toBe(fmtInt(row.tokens_after));
    await expect(field('ratio')).resolves.toContain(row.compression_ratio!.toFixed(3));
    await expect(field('duration')).resolves.toBe(fmtMs(row.compress_ms));
    await expect(field('applied')).resolves.toBe('x-litellm-applied-guardrails: headroom-compression');
    await expect(field('parts')).resolves.toBe(`${row.headroom!.partsSent} / ${row.headroom!.partsCompressed}`);
    await expect(field('memo-hits')).resolves.toBe(String(row.headroom!.memoHits));
    const transforms = await page.locator('[data-field="transforms"] .chip').allTextContents();
    expect(transforms).toEqual(row.transforms);
    expect(transforms.length).toBeGreaterThan(0);

    await page.screenshot({ path: join(ARTIFACTS, 'ui-request-compressed.png'), fullPage: true });

    // Back to the list.
    await Promise.all([page.waitForURL(url('/ui')), page.click('text=← Logs')]);
  });

  test('a failed-open request: the error code and message, and the upstream call that followed', async () => {
    const row = t.rows.failedOpen;
    expect(row).toMatchObject({ status: 200, headroom_status: 'failed', headroom_error_code: 'HEADROOM_UNREACHABLE' });
    await page.goto(url(`/ui/requests/${row.request_id}`));
    const alert = await page.locator('[data-field="error"]').textContent();
    expect(alert).toContain('HEADROOM_UNREACHABLE');
    expect(alert).toContain(row.headroom!.error!.message);
    expect(alert).toContain('fail open');
    await expect(page.locator('[data-step-note="headroom-compression"]').textContent()).resolves.toContain('failed (HEADROOM_UNREACHABLE)');
    await expect(page.locator('[data-step-duration="headroom-compression"]').textContent()).resolves.toBe(fmtMs(row.compress_ms));
    await expect(page.locator('[data-step-duration="upstream"]').textContent()).resolves.toMatch(/ms$/);
    await page.screenshot({ path: join(ARTIFACTS, 'ui-request-failed-open.png'), fullPage: true });
  });

  test('skipped, bypassed and rejected requests say why the step did not run', async () => {
    const note = async (kind: Kind) => {
      await page.goto(url(`/ui/requests/${t.ids[kind]}`));
      expect(await page.locator('[data-step-duration="headroom-compression"]').textContent()).toBe('not run');
      return page.locator('[data-step-note="headroom-compression"]').textContent();
    };
    await expect(note('skipped')).resolves.toContain('below_min_tokens');
    await expect(note('bypassed')).resolves.toContain('x-headroom-bypass');
    await expect(note('notEnabled')).resolves.toContain('not attached to this key');
    await expect(note('unauthorized')).resolves.toContain('unauthorized');
    await expect(page.locator('[data-step-note="upstream"]').textContent()).resolves.toContain('answered 401');
    await page.screenshot({ path: join(ARTIFACTS, 'ui-request-401.png'), fullPage: true });
  });

  test('log out: back to the login form', async () => {
    await page.goto(url('/ui'));
    await Promise.all([page.waitForURL(url('/ui')), page.click('text=Log out')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Sign in');
    expect(await context.cookies()).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'ui-login.png') });
  });

  test('no CSP violations, no script ran', () => {
    expect(consoleErrors.filter((e) => !/401|Failed to load resource/.test(e))).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});
