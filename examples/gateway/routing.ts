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

/** `claude-*` matches `claude-opus-4-5`; no `*` means an exact match. */
export function modelMatches(pattern: string, model: string): boolean {
  if (!pattern.includes('*')) return pattern === model;
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(model);
}

/** An empty list allows every model (LiteLLM's meaning of `models: []`). */
export function modelAllowed(models: string[], model: string): boolean {
  return models.length === 0 || models.some((p) => modelMatches(p, model));
}
