/**
 * The gateway configurations compared, and how each gateway app is built. Every app is mounted the
 * way the test kit and the README mount it (`/v1` → `${upstream}/v1`, changeOrigin), and every proxy
 * gets the same keep-alive agent, so the only difference between two configurations is the part
 * being measured.
 */
import http from 'node:http';
import express from 'express';
import { createProxyMiddleware, fixRequestBody } from 'http-proxy-middleware';
import type { Variant } from './bodies';
import { headroomCompression, type HeadroomMiddleware, type HeadroomResult, type Logger } from '../lib';

export const CONFIG_IDS = ['a', 'b', 'c', "c'", 'd', 'e'] as const;
export type ConfigId = (typeof CONFIG_IDS)[number];

export interface ConfigSpec {
  id: ConfigId;
  label: string;
  /** Which body the load generator sends to it. */
  variant: Variant;
  /** Send the turn-2 priming request first (fills the memo with the history tool output). */
  prime: boolean;
}

export const CONFIGS: Record<ConfigId, ConfigSpec> = {
  a: { id: 'a', label: 'bare proxy (keep-alive agent)', variant: 'plain', prime: false },
  b: { id: 'b', label: 'express.json + fixRequestBody + proxy', variant: 'plain', prime: false },
  c: { id: 'c', label: 'headroom, not opted in', variant: 'plain', prime: false },
  "c'": { id: "c'", label: 'headroom optInFromBody:false, not opted in', variant: 'plain', prime: false },
  d: { id: 'd', label: 'headroom, opted in, memo hits', variant: 'optin', prime: true },
  e: { id: 'e', label: 'headroom, opted in, new tool output', variant: 'vary', prime: true },
};

/** `c'` is awkward on a command line: accept `cp` and `c2` too. */
export function parseConfigId(s: string): ConfigId {
  const v = s.trim().toLowerCase();
  if (v === 'cp' || v === 'c2' || v === 'c-prime') return "c'";
  if ((CONFIG_IDS as readonly string[]).includes(v)) return v as ConfigId;
  throw new Error(`unknown config "${s}"; use ${CONFIG_IDS.join(', ')} (c' also as cp)`);
}

/** What the gateway counts from `onResult`, so a cell shows what the middleware actually decided. */
export interface DecisionCounts {
  [statusAndReason: string]: number;
}

export interface BuiltGateway {
  app: express.Express;
  headroom?: HeadroomMiddleware;
}

/**
 * Builds the app for `id`. `decisions` is filled per request from `onResult`; `logger` swallows the
 * middleware's warnings (counted instead: console output under load would be measured too).
 */
export function buildGateway(id: ConfigId, upstreamUrl: string, headroomUrl: string, decisions: DecisionCounts, logger: Logger): BuiltGateway {
  const app = express();
  app.disable('x-powered-by');
  const agent = new http.Agent({ keepAlive: true });
  const proxy = (fix: boolean) =>
    createProxyMiddleware({
      target: `${upstreamUrl}/v1`,
      changeOrigin: true,
      agent,
      on: fix ? { proxyReq: fixRequestBody } : undefined,
    });
  const onResult = (info: HeadroomResult) => {
    const key = info.reason ? `${info.status}:${info.reason}` : info.status;
    decisions[key] = (decisions[key] ?? 0) + 1;
  };

  let headroom: HeadroomMiddleware | undefined;
  if (id === 'a') {
    app.use('/v1', proxy(false));
  } else if (id === 'b') {
    app.use(express.json({ limit: '64mb' }));
    app.use('/v1', proxy(true));
  } else {
    // c, c', d, e: the middleware before the proxy, no body parser. d and e differ from c only in the body sent.
    headroom = headroomCompression({ apiBase: headroomUrl, optInFromBody: id !== "c'", onResult, logger });
    app.use('/v1', headroom);
    app.use('/v1', proxy(false));
  }
  return { app, headroom };
}
