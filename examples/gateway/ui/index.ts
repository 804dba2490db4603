/**
 * The gateway's admin UI, mounted at /ui: the spend log as a person reads it (LiteLLM's Logs view).
 *
 *   GET  /ui                 Logs: today's totals, filters (key alias, headroom status), a page of requests
 *   GET  /ui/requests/:id    one request: its lifecycle to scale and the headroom-compression evaluation
 *   POST /ui/login           form login with the master key → HttpOnly, SameSite=Strict session cookie
 *   POST /ui/logout          drops the cookie
 *   GET  /ui…?key=<master>   the same login from a link (local use); redirects to the URL without the key
 *
 * Server-rendered HTML, no script, no external resources; every page is sent with a
 * Content-Security-Policy that allows only inline styles and data: images. The session cookie holds
 * an expiry signed with the master key (HMAC), never the master key itself; changing MASTER_KEY
 * signs everyone out. `Authorization: Bearer <master key>` is accepted too (curl, tests).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { MAX_ALIAS_CHARS, MAX_ECHO_CHARS, MAX_PATH_CHARS, clip } from '../limits';
import { singleQuery } from '../query';
import { HEADROOM_STATUS_FILTERS, type HeadroomStatusFilter, type SpendLog } from '../spend';
import { startOfDay } from './format';
import { loginPage, logsPage, messagePage, requestPage, type Chrome } from './views';

export { escapeHtml, html } from './html';

export const UI_COOKIE = 'headroom_ui_session';
export const UI_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
export const DEFAULT_PER_PAGE = 50;
export const MAX_PER_PAGE = 200;

export interface UiOptions {
  spend: SpendLog;
  /** Checked on login; also the HMAC key of the session cookie. */
  masterKey: string;
  /** Shown in the header: where compression happens. */
  compression: string;
  /** How long a sign-in lasts. Default 12 hours. */
  sessionTtlMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

interface ListParams {
  key_alias?: string;
  status?: HeadroomStatusFilter;
  page: number;
  per: number;
}

const one = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/** Only paths of this UI, so a crafted `next` cannot send a signed-in admin elsewhere. */
function safeNext(value: unknown): string | undefined {
  const s = one(value);
  // Echoed into the login form: a longer one is dropped (the admin lands on /ui instead). Control
  // characters are refused on purpose (header and HTML injection), hence the control-character class.
  // eslint-disable-next-line no-control-regex
  if (!s || s.length > MAX_PATH_CHARS || !/^\/ui(?:[/?]|$)/.test(s) || s.includes('//') || s.includes('\\') || /[\u0000-\u001f\u007f]/.test(s)) return undefined;
  return s;
}

/** `req.originalUrl` without its `key` parameter. */
function withoutKey(originalUrl: string): string {
  const url = new URL(originalUrl, 'http://ui.invalid');
  url.searchParams.delete('key');
  return url.pathname + url.search;
}

/** The list filters, or the message of a 400: a repeated filter would otherwise be dropped silently (every row shown). */
function parseList(query: Request['query']): ListParams | string {
  const q = singleQuery(query, ['key_alias', 'status', 'page', 'per']);
  if (typeof q === 'string') return `${q[0].toUpperCase()}${q.slice(1)}.`;
  const alias = q.key_alias;
  const status = q.status;
  // No key has a longer alias; refusing keeps the value (rendered in the caption and the filter) bounded.
  if (alias && alias.length > MAX_ALIAS_CHARS) return `A key alias has at most ${MAX_ALIAS_CHARS} characters.`;
  if (status && !HEADROOM_STATUS_FILTERS.includes(status as HeadroomStatusFilter)) {
    return `Unknown headroom status "${clip(status, MAX_ECHO_CHARS)}": use one of ${HEADROOM_STATUS_FILTERS.join(', ')}.`;
  }
  const page = Number(q.page ?? 1);
  const per = Number(q.per ?? DEFAULT_PER_PAGE);
  return {
    ...(alias ? { key_alias: alias } : {}),
    ...(status ? { status: status as HeadroomStatusFilter } : {}),
    page: Number.isInteger(page) && page >= 1 ? page : 1,
    per: Number.isInteger(per) && per >= 1 ? Math.min(per, MAX_PER_PAGE) : DEFAULT_PER_PAGE,
  };
}

/** The query string of a list view (only what differs from the defaults). */
function listQuery(p: ListParams): string {
  const s = new URLSearchParams();
  if (p.key_alias !== undefined) s.set('key_alias', p.key_alias);
  if (p.status !== undefined) s.set('status', p.status);
  if (p.per !== DEFAULT_PER_PAGE) s.set('per', String(p.per));
  if (p.page > 1) s.set('page', String(p.page));
  const text = s.toString();
  return text ? `?${text}` : '';
}

export function createUi(opts: UiOptions): express.Router {
  const { spend } = opts;
  const now = opts.now ?? Date.now;
  const ttl = opts.sessionTtlMs ?? 12 * 60 * 60 * 1000;
  const masterDigest = createHash('sha256').update(opts.masterKey).digest();
  const isMaster = (k: string) => timingSafeEqual(createHash('sha256').update(k).digest(), masterDigest);
  const sign = (expires: number) => createHmac('sha256', opts.masterKey).update(`express-headroom-ui:${expires}`).digest('base64url');

  function sessionValue(): string {
    const expires = now() + ttl;
    return `${expires}.${sign(expires)}`;
  }

  function validSession(value: string | undefined): boolean {
    const m = /^(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(value ?? '');
    if (!m) return false;
    const expires = Number(m[1]);
    if (expires <= now()) return false;
    return timingSafeEqual(Buffer.from(m[2]), Buffer.from(sign(expires)));
  }

  function signedIn(req: Request): boolean {
    if (validSession(parseCookies(req.headers.cookie)[UI_COOKIE])) return true;
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization?.trim() ?? '');
    return m !== null && isMaster(m[1].trim());
  }

  function setSession(req: Request, res: Response): void {
    res.cookie(UI_COOKIE, sessionValue(), { httpOnly: true, sameSite: 'strict', path: '/ui', maxAge: ttl, secure: req.secure, encode: String });
  }

  const chrome = (req: Request): Chrome => ({ compression: opts.compression, signedIn: signedIn(req) });
  const send = (res: Response, status: number, page: string) => void res.status(status).type('html').send(page);

  const router = express.Router();

  // Every /ui answer: no scripts, no outside resources, not framed, not cached, no referrer.
  router.use((_req, res, next) => {
    res.setHeader('content-security-policy', UI_CSP);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('cache-control', 'no-store');
    next();
  });

  // A `?key=` link (local use): sign in, then drop the key from the address bar and history.
  router.use((req, res, next) => {
    const key = one(req.query.key);
    if (req.method !== 'GET' || key === undefined) return next();
    if (!isMaster(key)) return send(res, 401, loginPage(chrome(req), { error: "That key is not this gateway's master key.", next: safeNext(withoutKey(req.originalUrl)) }));
    setSession(req, res);
    res.redirect(303, withoutKey(req.originalUrl));
  });

  router.post('/login', express.urlencoded({ extended: false, limit: '16kb' }), (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const key = one(body.key)?.trim() ?? '';
    const next = safeNext(body.next);
    if (!key || !isMaster(key)) {
      return send(
        res,
        401,
        loginPage({ compression: opts.compression, signedIn: false }, { error: key ? "That key is not this gateway's master key." : 'Enter the master key.', next }),
      );
    }
    setSession(req, res);
    res.redirect(303, next ?? '/ui');
  });

  router.post('/logout', (req, res) => {
    res.clearCookie(UI_COOKIE, { httpOnly: true, sameSite: 'strict', path: '/ui', secure: req.secure });
    res.redirect(303, '/ui');
  });

  // Everything below needs a session.
  router.use((req, res, next) => {
    if (signedIn(req)) return next();
    send(res, 401, loginPage({ compression: opts.compression, signedIn: false }, { next: req.method === 'GET' ? safeNext(req.originalUrl) : undefined }));
  });

  router.get('/', async (req, res) => {
    const params = parseList(req.query);
    if (typeof params === 'string') return send(res, 400, messagePage(chrome(req), 'Bad filter', params));
    const filter = { key_alias: params.key_alias, headroom_status: params.status };
    let { rows, total } = await spend.page({ ...filter, limit: params.per, offset: (params.page - 1) * params.per });
    const pages = Math.max(1, Math.ceil(total / params.per));
    if (params.page > pages) {
      // Past the end (the log shrank, or a hand-edited URL): show the last page.
      params.page = pages;
      ({ rows, total } = await spend.page({ ...filter, limit: params.per, offset: (pages - 1) * params.per }));
    }
    const since = startOfDay(now());
    const here = listQuery(params);
    const [aliases, totals] = await Promise.all([spend.aliases(), spend.totals({ since, key_alias: params.key_alias })]);
    send(
      res,
      200,
      logsPage(chrome(req), {
        rows,
        total,
        page: params.page,
        pages,
        perPage: params.per,
        filters: { key_alias: params.key_alias, status: params.status },
        aliases,
        totals,
        since,
        href: ({ page }) => `/ui${listQuery({ ...params, page: page ?? params.page })}`,
        detailHref: (id) => `/ui/requests/${encodeURIComponent(id)}${here}`,
      }),
    );
  });

  router.get('/requests/:id', async (req, res) => {
    const id = String(req.params.id);
    const params = parseList(req.query);
    const back = `/ui${typeof params === 'string' ? '' : listQuery(params)}`;
    const row = await spend.get(id);
    if (!row) return send(res, 404, messagePage(chrome(req), 'Request not found', `No request ${clip(id, MAX_ECHO_CHARS)} in the spend log.`));
    send(res, 200, requestPage(chrome(req), row, back));
  });

  router.use((req, res) => send(res, 404, messagePage(chrome(req), 'Not found', `${req.method} ${clip(req.originalUrl.split('?')[0], MAX_ECHO_CHARS)} is not a page of this UI.`)));

  router.use((err: { status?: number; message?: string }, req: Request, res: Response, _next: NextFunction) => {
    const status = err?.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    send(
      res,
      status,
      messagePage(
        chrome(req),
        status === 500 ? 'Error' : 'Bad request',
        status === 500 ? 'The admin UI failed to render this page.' : clip(err.message ?? 'bad request', MAX_ECHO_CHARS),
      ),
    );
  });

  return router;
}
