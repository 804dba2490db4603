/**
 * Which provider a request goes to, and which paths the gateway forwards at all.
 *
 * The gateway forwards model endpoints only. Everything else a provider key can reach (files,
 * batches, fine-tuning, vector stores, organisation admin) is org-wide data that a virtual key
 * holder must not read with the platform's key, so it answers 404 instead of forwarding.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { stripOptInFields } from 'express-headroom';

export type Provider = 'anthropic' | 'openai';

export interface Route {
  provider: Provider;
  /** The path without its query string. */
  path: string;
  /** The request carries a JSON body with a `model` to check against the key. */
  hasModel: boolean;
}

interface RouteRule {
  method: 'GET' | 'POST';
  /** As written in the README. */
  display: string;
  pattern: RegExp;
  /** A fixed provider, or 'by-header' for paths both providers serve (e.g. GET /v1/models). */
  provider: Provider | 'by-header';
}

const RULES: RouteRule[] = [
  // Anthropic
  { method: 'POST', display: '/v1/messages', pattern: /^\/v1\/messages$/, provider: 'anthropic' },
  { method: 'POST', display: '/v1/messages/count_tokens', pattern: /^\/v1\/messages\/count_tokens$/, provider: 'anthropic' },
  { method: 'POST', display: '/v1/complete', pattern: /^\/v1\/complete$/, provider: 'anthropic' },
  // OpenAI
  { method: 'POST', display: '/v1/chat/completions', pattern: /^\/v1\/chat\/completions$/, provider: 'openai' },
  { method: 'POST', display: '/v1/completions', pattern: /^\/v1\/completions$/, provider: 'openai' },
  { method: 'POST', display: '/v1/responses', pattern: /^\/v1\/responses$/, provider: 'openai' },
  { method: 'POST', display: '/v1/embeddings', pattern: /^\/v1\/embeddings$/, provider: 'openai' },
  { method: 'POST', display: '/v1/moderations', pattern: /^\/v1\/moderations$/, provider: 'openai' },
  // Both: the model list. Anthropic's clients always send `anthropic-version`; OpenAI's never do.
  { method: 'GET', display: '/v1/models[/{id}]', pattern: /^\/v1\/models(\/[^/]+)?$/, provider: 'by-header' },
];

/** The routes, for the 404 message and the README. */
export const SUPPORTED_ROUTES = RULES.map((r) => `${r.method} ${r.display}`);

export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** The provider a path's errors should look like, whether or not the gateway forwards it. */
export function providerHint(path: string, headers: IncomingHttpHeaders): Provider {
  if (/^\/v1\/(messages|complete)(\/|$)/.test(path)) return 'anthropic';
  if (/^\/v1\/models(\/|$)/.test(path) && headers['anthropic-version'] !== undefined) return 'anthropic';
  return 'openai';
}

/** The route for a request, or undefined when the gateway does not forward it. */
export function resolveRoute(method: string | undefined, url: string, headers: IncomingHttpHeaders): Route | undefined {
  const path = pathOf(url);
  const m = method === 'HEAD' ? 'GET' : method;
  for (const rule of RULES) {
    if (rule.method !== m || !rule.pattern.test(path)) continue;
    const provider = rule.provider === 'by-header' ? providerHint(path, headers) : rule.provider;
    return { provider, path, hasModel: rule.method === 'POST' };
  }
  return undefined;
}

/**
 * Removes LiteLLM's control fields, which OpenAI and Anthropic reject as unknown parameters:
 * top-level `guardrails`, `litellm_metadata`, and `metadata.guardrails` (`metadata` itself goes only
 * when nothing else was in it). The middleware strips them when it acts on an opt-in; the gateway
 * strips them from every request, so a `guardrails` list naming other guardrails never reaches a provider.
 */
export const stripControlFields = stripOptInFields;

/**
 * `claude-*` matches `claude-opus-4-5`; no `*` means an exact match; `*` matches any run of
 * characters, the empty one included.
 *
 * No RegExp: the model name is client-chosen, and `^a.*a.*a.*b$` against `aaaa…` backtracks
 * polynomially (a 60 KB name blocked the event loop for seconds). Instead the pattern is split on
 * `*`: the first piece must be a prefix, the last a suffix, and the pieces between are found left to
 * right with `indexOf`, each at its leftmost place after the previous one. Leftmost is always safe
 * (it leaves the most room for what follows), so nothing is ever retried: one forward pass.
 */
export function modelMatches(pattern: string, model: string): boolean {
  const pieces = pattern.split('*');
  if (pieces.length === 1) return pattern === model;
  const head = pieces[0];
  const tail = pieces[pieces.length - 1];
  // Prefix and suffix may not overlap: `a*a` needs at least two characters.
  if (model.length < head.length + tail.length || !model.startsWith(head) || !model.endsWith(tail)) return false;
  const end = model.length - tail.length;
  let at = head.length;
  for (const piece of pieces.slice(1, -1)) {
    const found = model.indexOf(piece, at);
    if (found === -1 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}

/** An empty list allows every model (LiteLLM's meaning of `models: []`). */
export function modelAllowed(models: string[], model: string): boolean {
  return models.length === 0 || models.some((p) => modelMatches(p, model));
}
