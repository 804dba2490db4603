/**
 * The shared test kit: `createApp(...)` builds the real stack a user runs,
 * express (5 or 4) → [express.json()] → headroomCompression → http-proxy-middleware 3 → upstream,
 * and `startStack` starts it all on loopback with a Headroom stand-in.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express5 from 'express';
import { createProxyMiddleware, fixRequestBody } from 'http-proxy-middleware';
import { headroomCompression, type HeadroomMiddleware, type HeadroomOptions, type HeadroomResult } from '../../lib';
import { startStandIn, type StandIn, type StandInMode } from './standin';
import { startUpstream, type Upstream } from './upstream';

const express4 = require('express4') as typeof express5;

export type ExpressMajor = 5 | 4;

export interface AppOptions {
  upstreamUrl: string;
  headroom: HeadroomOptions;
  express?: ExpressMajor;
  /** Put express.json() before the middleware (as many gateways do). */
  jsonParser?: boolean;
  /** Give express.json() `verify: headroom.verifyJson` (shape limits before the parser's JSON.parse). */
  verifyJson?: boolean;
  /** Give the proxy `on: { proxyReq: fixRequestBody }`. */
  fixRequestBody?: boolean;
  /** Middleware mounted before headroomCompression (e.g. one that sets its own guardrail header). */
  before?: Array<(req: any, res: any, next: () => void) => void>;
  /** Mounts more on the app once the middleware exists, before it (e.g. `headroomRetrieval` on its store). */
  mount?: (app: any, headroom: HeadroomMiddleware) => void;
  /** Middleware mounted between headroomCompression and the proxy. */
  between?: Array<(req: any, res: any, next: () => void) => void>;
}

export function createApp(opts: AppOptions) {
  const ex = opts.express === 4 ? express4 : express5;
  const app = ex();
  const results: HeadroomResult[] = [];
  for (const mw of opts.before ?? []) app.use(mw);
  const headroom = headroomCompression({
    ...opts.headroom,
    onResult: (info, req, res) => {
      results.push(info);
      opts.headroom.onResult?.(info, req, res);
    },
  });
  opts.mount?.(app, headroom);
  if (opts.jsonParser) app.use(ex.json({ limit: '64mb', ...(opts.verifyJson ? { verify: headroom.verifyJson } : {}) }));
  app.use('/v1', headroom);
  for (const mw of opts.between ?? []) app.use('/v1', mw);
  app.use(
    '/v1',
    createProxyMiddleware({
      target: `${opts.upstreamUrl}/v1`,
      changeOrigin: true,
      on: opts.fixRequestBody ? { proxyReq: fixRequestBody } : undefined,
    }),
  );
  return { app, headroom, results };
}

export interface Stack {
  url: string;
  standIn: StandIn;
  upstream: Upstream;
  headroom: HeadroomMiddleware;
  results: HeadroomResult[];
  app: ReturnType<typeof createApp>['app'];
  close(): Promise<void>;
}

export async function startStack(opts: Partial<Omit<AppOptions, 'upstreamUrl'>> & { mode?: StandInMode; token?: string; lateMs?: number } = {}): Promise<Stack> {
  const standIn = await startStandIn({ mode: opts.mode, token: opts.token, lateMs: opts.lateMs });
  const upstream = await startUpstream();
  const { app, headroom, results } = createApp({
    express: opts.express,
    jsonParser: opts.jsonParser,
    verifyJson: opts.verifyJson,
    fixRequestBody: opts.fixRequestBody,
    before: opts.before,
    between: opts.between,
    mount: opts.mount,
    upstreamUrl: upstream.url,
    headroom: { apiBase: standIn.url, minTokens: 0, logger: quiet, ...(opts.headroom ?? {}) },
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    standIn,
    upstream,
    headroom,
    results,
    app,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await headroom.close();
      await standIn.close();
      await upstream.close();
    },
  };
}

export const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A logger that keeps every line, to assert what was (and was not) logged. */
export function captureLogger() {
  const lines: Array<{ level: string; obj: object; msg?: string }> = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj, msg });
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}
