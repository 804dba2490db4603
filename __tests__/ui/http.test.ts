/**
 * The admin UI over plain HTTP (supertest): sign-in and the session cookie, the security headers,
 * escaping of everything that comes from the spend log, pagination, filters and today's totals.
 */
import express from 'express';
import request from 'supertest';
import { UI_COOKIE, UI_CSP, createUi } from '../../examples/gateway/ui';
import { startOfDay } from '../../examples/gateway/ui/format';
import type { HeadroomResult } from 'express-headroom';
import type { SpendEntry } from '../../examples/gateway/spend';
import { postgresBinDir, startPostgres, type PostgresCluster } from '../kit/postgres';
import { MASTER_KEY, anthropicToolBody, post, startGatewayStack, type GatewayStack } from '../gateway/helpers';

const XSS = '<script>alert(1)</script>';

// The pages read the spend log through the same SQL on SQLite and on Postgres (when its binaries are installed).
const stores = postgresBinDir() ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);

describe.each(stores)('on %s', (store) => {
  let stack: GatewayStack;
  let app: express.Express;
  let cookie: string;
  let virtualKey: string;

  /** A spend-log row of our own (pagination and totals need many, at chosen times). */
  function entry(id: string, receivedAt: number, over: Partial<SpendEntry> = {}): SpendEntry {
    return {
      request_id: id,
      key_token: 'tok',
      key_alias: 'synthetic',
      provider: 'anthropic',
      method: 'POST',
      path: '/v1/messages',
      model: 'claude-sonnet-4-6',
      stream: false,
      status: 200,
      error: null,
      request_bytes: 1000,
      forwarded_bytes: 400,
      latency_ms: 12.5,
      received_at: receivedAt,
      ended_at: receivedAt + 12,
      upstream_started_at: receivedAt + 4,
      upstream_first_byte_at: receivedAt + 8,
      upstream_ended_at: receivedAt + 11,
      upstream_status: 200,
      headroom_status: 'skipped',
      headroom_reason: 'below_min_tokens',
      tokens_before: null,
      tokens_after: null,
      tokens_saved: null,
      compression_ratio: null,
      compress_ms: 0,
      headroom_started_at: null,
      headroom_ended_at: null,
      headroom_error_code: null,
      transforms: [],
      applied_guardrails: 'headroom-compression',
      headroom: null,
      ...over,
    };
  }

  /** Request ids of the rows on a Logs page, in order. */
  const idsOf = (body: string) => [...body.matchAll(/<tr data-request-id="([^"]+)"/g)].map((m) => m[1]);
  const setCookies = (res: request.Response): string[] => {
    const v = res.headers['set-cookie'] as unknown;
    return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  };

  let pg: PostgresCluster | undefined;
  beforeAll(async () => {
    if (store === 'postgres') pg = await startPostgres();
    stack = await startGatewayStack(pg ? { config: { databaseUrl: pg.url } } : {});
    app = stack.gateway.app;
    virtualKey = (await stack.generateKey({ key_alias: 'team', guardrails: ['headroom-compression'] })).key;
    const res = await request(app).post('/ui/login').type('form').send({ key: MASTER_KEY });
    cookie = setCookies(res)[0].split(';')[0];
  });
  afterAll(async () => {
    await stack?.close();
    pg?.destroy();
  });

  describe('sign-in', () => {
    test('no session: 401 with the login form, and nothing from the log', async () => {
      await stack.gateway.spend.insert(entry('secret-row', Date.now()));
      for (const path of ['/ui', '/ui/', '/ui/requests/secret-row', '/ui/nope']) {
        const res = await request(app).get(path);
        expect(res.status).toBe(401);
        expect(res.headers['content-type']).toMatch(/^text\/html/);
        expect(res.text).toContain('<form method="post" action="/ui/login">');
        expect(res.text).toContain('type="password"');
        expect(res.text).not.toContain('data-request-id');
        expect(res.text).not.toContain('data-total');
        expect(setCookies(res)).toEqual([]);
      }
      // The page asked for comes back after sign-in.
      expect((await request(app).get('/ui/requests/secret-row')).text).toContain('<input type="hidden" name="next" value="/ui/requests/secret-row">');
    });

    test('a wrong key, an empty one, or a virtual key is refused: 401, no cookie', async () => {
      for (const key of ['sk-wrong', '', virtualKey, `${MASTER_KEY}x`]) {
        const res = await request(app).post('/ui/login').type('form').send({ key });
        expect(res.status).toBe(401);
        expect(setCookies(res)).toEqual([]);
        expect(res.text).toContain('role="alert"');
      }
      expect((await request(app).get('/ui').set('authorization', `Bearer ${virtualKey}`)).status).toBe(401);
      expect((await request(app).get('/ui?key=sk-wrong')).status).toBe(401);
    });

    test('the master key: 303 to /ui with an HttpOnly, SameSite=Strict cookie scoped to /ui that does not hold the key', async () => {
      const res = await request(app).post('/ui/login').type('form').send({ key: MASTER_KEY });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/ui');
      const [c] = setCookies(res);
      expect(c).toMatch(new RegExp(`^${UI_COOKIE}=\\d+\\.[A-Za-z0-9_-]{43};`));
      expect(c).toContain('HttpOnly');
      expect(c).toContain('SameSite=Strict');
      expect(c).toContain('Path=/ui');
      expect(c).toMatch(/Max-Age=\d+/);
      expect(c).not.toContain(MASTER_KEY);
      const page = await request(app).get('/ui').set('cookie', c.split(';')[0]);
      expect(page.status).toBe(200);
      expect(page.text).toContain('<h1>Logs</h1>');
    });

    test('next= returns to a page of the UI, never elsewhere', async () => {
      const to = async (next: string) => (await request(app).post('/ui/login').type('form').send({ key: MASTER_KEY, next })).headers.location;
      expect(await to('/ui/requests/abc?status=failed')).toBe('/ui/requests/abc?status=failed');
      for (const bad of ['https://evil.example/', '//evil.example/ui', '/ui//evil.example', '/uix', '/\\evil.example', '/key/generate']) expect(await to(bad)).toBe('/ui');
    });

    test('?key= link: sets the cookie and redirects to the same page without the key', async () => {
      const res = await request(app).get(`/ui?status=failed&key=${encodeURIComponent(MASTER_KEY)}&per=10`);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/ui?status=failed&per=10');
      expect(setCookies(res)[0]).toContain('HttpOnly');
      const detail = await request(app).get(`/ui/requests/abc?key=${encodeURIComponent(MASTER_KEY)}`);
      expect(detail.headers.location).toBe('/ui/requests/abc');
    });

    test('a tampered, foreign or expired cookie is refused; Bearer <master key> works (curl)', async () => {
      const [expires, sig] = cookie.split('=')[1].split('.');
      const tampered = `${UI_COOKIE}=${Number(expires) + 1000}.${sig}`;
      expect((await request(app).get('/ui').set('cookie', tampered)).status).toBe(401);
      expect((await request(app).get('/ui').set('cookie', `${UI_COOKIE}=${MASTER_KEY}`)).status).toBe(401);
      expect((await request(app).get('/ui').set('authorization', `Bearer ${MASTER_KEY}`)).status).toBe(200);

      // Signed with another master key.
      const other = express().use('/ui', createUi({ spend: stack.gateway.spend, masterKey: 'sk-another-master', compression: 'embedded' }));
      expect((await request(other).get('/ui').set('cookie', cookie)).status).toBe(401);

      // Expired: the same key, a clock 13 hours on.
      let now = Date.now();
      const clocked = express().use('/ui', createUi({ spend: stack.gateway.spend, masterKey: MASTER_KEY, compression: 'embedded', now: () => now }));
      const c = setCookies(await request(clocked).post('/ui/login').type('form').send({ key: MASTER_KEY }))[0].split(';')[0];
      expect((await request(clocked).get('/ui').set('cookie', c)).status).toBe(200);
      now += 13 * 60 * 60 * 1000;
      expect((await request(clocked).get('/ui').set('cookie', c)).status).toBe(401);
    });

    test('log out clears the cookie', async () => {
      const res = await request(app).post('/ui/logout').set('cookie', cookie);
      expect(res.status).toBe(303);
      expect(setCookies(res)[0]).toMatch(new RegExp(`^${UI_COOKIE}=;.*Expires=Thu, 01 Jan 1970`));
    });

    test('every /ui answer carries the CSP and no-store; no external resource is referenced', async () => {
      for (const res of [await request(app).get('/ui'), await request(app).get('/ui').set('cookie', cookie), await request(app).get('/ui/requests/none').set('cookie', cookie)]) {
        expect(res.headers['content-security-policy']).toBe(UI_CSP);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['x-frame-options']).toBe('DENY');
        expect(res.text).not.toMatch(/<script|<link rel="stylesheet"|https?:\/\/(?!127\.0\.0\.1)/i);
      }
      expect(UI_CSP).toContain("default-src 'none'");
      expect(UI_CSP).toContain("form-action 'self'");
    });
  });

  describe('escaping', () => {
    test('a key alias <script>alert(1)</script> renders as text on the list, in the filter and on the request page', async () => {
      const key = (await stack.generateKey({ key_alias: XSS, guardrails: ['headroom-compression'] })).key;
      const res = await post(`${stack.url}/v1/messages`, anthropicToolBody(), { 'x-api-key': key, 'anthropic-version': '2023-06-01' });
      expect(res.status).toBe(200);
      const id = res.headers.get('x-litellm-call-id')!;
      expect((await stack.spendRow(id)).key_alias).toBe(XSS);

      const escaped = '&lt;script&gt;alert(1)&lt;/script&gt;';
      const list = await request(app).get('/ui').set('cookie', cookie);
      const filtered = await request(app)
        .get(`/ui?key_alias=${encodeURIComponent(XSS)}`)
        .set('cookie', cookie);
      const detail = await request(app).get(`/ui/requests/${id}`).set('cookie', cookie);
      for (const page of [list, filtered, detail]) {
        expect(page.status).toBe(200);
        expect(page.text).toContain(escaped);
        expect(page.text).not.toContain(XSS);
        expect(page.text).not.toMatch(/<script/i);
      }
      expect(list.text).toContain(`<option value="${escaped}">${escaped}</option>`);
      expect(filtered.text).toContain(`<option value="${escaped}" selected>`);
      expect(idsOf(filtered.text)).toEqual([id]);
    });

    test('values from the log in attributes and the record JSON are escaped too', async () => {
      const id = `q"><img src=x onerror=alert(1)>`;
      await stack.gateway.spend.insert(
        entry(id, Date.now(), {
          key_alias: 'attr"test',
          model: `m'<b>`,
          headroom_status: 'failed',
          headroom_error_code: 'HEADROOM_UNREACHABLE',
          headroom: {
            status: 'failed',
            guardrail: 'headroom-compression',
            transformsApplied: ['<i>t</i>'],
            ccrHashes: [],
            estimatedTokens: 1200,
            partsSent: 1,
            partsCompressed: 0,
            partsRejected: 0,
            memoHits: 0,
            durationMs: 1.5,
            startedAt: Date.now(),
            endedAt: Date.now() + 1,
            breaker: 'closed',
            mode: 'compress',
            charsBefore: 5000,
            charsAfter: 5000,
            error: { code: 'HEADROOM_UNREACHABLE', message: 'connect <ECONNREFUSED> "x" & y' },
          } as HeadroomResult,
        }),
      );
      const list = await request(app).get('/ui?key_alias=attr%22test').set('cookie', cookie);
      expect(list.text).toContain('<option value="attr&quot;test" selected>');
      expect(list.text).toContain('data-request-id="q&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"');
      expect(list.text).not.toContain('<img');
      const detail = await request(app)
        .get(`/ui/requests/${encodeURIComponent(id)}`)
        .set('cookie', cookie);
      expect(detail.status).toBe(200);
      expect(detail.text).not.toMatch(/<img|<i>|<b>/);
      expect(detail.text).toContain('connect &lt;ECONNREFUSED&gt; &quot;x&quot; &amp; y');
      expect(detail.text).toContain('m&#39;&lt;b&gt;');
      // An unknown id, echoed in the 404 page, escaped.
      const missing = await request(app).get('/ui/requests/%3Csvg%20onload%3Dalert(1)%3E').set('cookie', cookie);
      expect(missing.status).toBe(404);
      expect(missing.text).toContain('&lt;svg onload=alert(1)&gt;');
      expect(missing.text).not.toContain('<svg');
    });
  });

  describe('pagination and filters', () => {
    const base = startOfDay() + 60_000; // today, whatever the time zone
    beforeAll(async () => {
      // 12 rows for alias "pager", a second apart; every third failed, one rejected (no headroom record).
      for (let i = 0; i < 12; i++) {
        await stack.gateway.spend.insert(
          entry(`pager-${String(i).padStart(2, '0')}`, base + i * 1000, {
            key_alias: 'pager',
            ...(i % 3 === 0 ? { headroom_status: 'failed', headroom_reason: null, headroom_error_code: 'HEADROOM_TIMEOUT' } : {}),
            ...(i === 4 ? { headroom_status: null, headroom_reason: null, status: 403, error: 'model_not_allowed', upstream_started_at: null } : {}),
          }),
        );
      }
    });
    const newest = (...n: number[]) => n.map((i) => `pager-${String(i).padStart(2, '0')}`);
    const get = (q: string) => request(app).get(`/ui${q}`).set('cookie', cookie);

    test('newest first, LIMIT/OFFSET pages with links that keep the filters', async () => {
      const p1 = await get('?key_alias=pager&per=5');
      expect(idsOf(p1.text)).toEqual(newest(11, 10, 9, 8, 7));
      expect(p1.text).toContain('1–5 of 12');
      expect(p1.text).toContain('<span class="cur" aria-current="page">1</span>');
      expect(p1.text).toContain('href="/ui?key_alias=pager&amp;per=5&amp;page=2" rel="next"');
      expect(p1.text).toContain('href="/ui?key_alias=pager&amp;per=5&amp;page=3"');
      expect(p1.text).toContain('<span class="off">← Newer</span>');
      // Row links keep the list's filters for the way back.
      expect(p1.text).toContain('href="/ui/requests/pager-11?key_alias=pager&amp;per=5"');

      const p2 = await get('?key_alias=pager&per=5&page=2');
      expect(idsOf(p2.text)).toEqual(newest(6, 5, 4, 3, 2));
      expect(p2.text).toContain('href="/ui?key_alias=pager&amp;per=5" rel="prev"');
      const p3 = await get('?key_alias=pager&per=5&page=3');
      expect(idsOf(p3.text)).toEqual(newest(1, 0));
      expect(p3.text).toContain('11–12 of 12');
      expect(p3.text).toContain('<span class="off">Older →</span>');
      // Past the end: the last page. Nonsense: the first.
      expect(idsOf((await get('?key_alias=pager&per=5&page=99')).text)).toEqual(newest(1, 0));
      expect(idsOf((await get('?key_alias=pager&per=5&page=-1')).text)).toEqual(newest(11, 10, 9, 8, 7));

      const back = await request(app).get('/ui/requests/pager-11?key_alias=pager&per=5').set('cookie', cookie);
      expect(back.text).toContain('<a href="/ui?key_alias=pager&amp;per=5">← Logs</a>');
    });

    test('by headroom status, with the alias; "none" is rows rejected before the guardrail; unknown → 400', async () => {
      expect(idsOf((await get('?key_alias=pager&status=failed')).text)).toEqual(newest(9, 6, 3, 0));
      expect(idsOf((await get('?key_alias=pager&status=none')).text)).toEqual(newest(4));
      expect(idsOf((await get('?key_alias=pager&status=compressed')).text)).toEqual([]);
      expect((await get('?key_alias=pager&status=compressed')).text).toContain('No requests match these filters.');
      const bad = await get('?status=<b>');
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('&lt;b&gt;');
      // Across aliases: the status filter alone.
      const failed = idsOf((await get('?status=failed&per=200')).text);
      expect(failed).toEqual(expect.arrayContaining(newest(9, 6, 3, 0)));
      expect((await stack.gateway.spend.page({ headroom_status: 'failed', limit: 1000, offset: 0 })).total).toBe(failed.length);
    });

    test("the totals strip: today's requests, share compressed, tokens saved, compress-step p50/p95", async () => {
      // 20 compressed calls at 1..20 ms, and one from yesterday that must not count.
      for (let i = 1; i <= 20; i++) {
        await stack.gateway.spend.insert(
          entry(`tot-${i}`, base + i, {
            key_alias: 'totals',
            headroom_status: 'compressed',
            headroom_reason: null,
            tokens_before: 1000,
            tokens_after: 400,
            tokens_saved: 600,
            compress_ms: i,
            headroom_started_at: base + i + 1,
            headroom_ended_at: base + i + 1 + i,
          }),
        );
      }
      await stack.gateway.spend.insert(
        entry('tot-old', startOfDay() - 1000, {
          key_alias: 'totals',
          headroom_status: 'compressed',
          tokens_saved: 99_999,
          compress_ms: 500,
          headroom_started_at: startOfDay() - 999,
        }),
      );
      await stack.gateway.spend.insert(entry('tot-skip', base + 50, { key_alias: 'totals' }));

      expect(await stack.gateway.spend.totals({ since: startOfDay(), key_alias: 'totals' })).toEqual({
        requests: 21,
        compressed: 20,
        audited: 0,
        tokens_would_save: 0,
        failed: 0,
        tokens_saved: 12_000,
        tokens_before: 20_000,
        compress_calls: 20,
        compress_p50_ms: 10,
        compress_p95_ms: 19,
      });
      const page = (await get('?key_alias=totals')).text;
      expect(page).toContain('<div class="value" data-total="requests">21</div>');
      expect(page).toContain('<div class="value" data-total="share">95.2%</div>');
      expect(page).toContain('<div class="value" data-total="tokens-saved">12,000</div>');
      expect(page).toContain('<div class="value" data-total="compress-p">10.0 ms <span class="muted">/</span> 19.0 ms</div>');
      expect(idsOf(page)).toContain('tot-old'); // listed, but not counted in today's totals
    });

    test('audited rows (audit mode) are counted apart: not compressed, no tokens saved, the tokens they would save', async () => {
      const audited = { key_alias: 'audit-totals', headroom_status: 'audited', headroom_reason: null, tokens_before: 1000, tokens_after: 250, tokens_saved: null, compress_ms: 3 };
      await stack.gateway.spend.insert(entry('aud-1', base + 1, audited));
      await stack.gateway.spend.insert(entry('aud-2', base + 2, { ...audited, tokens_before: 500, tokens_after: 400 }));
      await stack.gateway.spend.insert(
        entry('aud-3', base + 3, { key_alias: 'audit-totals', headroom_status: 'compressed', tokens_before: 1000, tokens_after: 400, tokens_saved: 600 }),
      );
      expect(await stack.gateway.spend.totals({ since: startOfDay(), key_alias: 'audit-totals' })).toMatchObject({
        requests: 3,
        compressed: 1,
        audited: 2,
        tokens_saved: 600,
        tokens_would_save: 850,
      });
      const page = (await get('?key_alias=audit-totals&status=audited')).text;
      expect(idsOf(page).sort()).toEqual(['aud-1', 'aud-2']);
      expect(page).toContain('<span data-total="would-save">850</span> more in audit mode');
      expect(page).toContain('would save 750');
    });
  });
});
