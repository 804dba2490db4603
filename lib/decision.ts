/**
 * The request decision: is this request eligible, bypassed, opted in? Header checks come first
 * because they cost nothing; the body is scanned as raw bytes before any JSON parse.
 */
import type { IncomingHttpHeaders } from 'node:http';

export const BYPASS_HEADER = 'x-headroom-bypass';

/** `true` in any letter case, not trimmed (as LiteLLM). Repeated headers arrive joined by ", ": not `true`. */
export function isBypassValue(value: string | string[] | undefined): boolean {
  if (typeof value !== 'string' || value.length !== 4) return false;
  return value.toLowerCase() === 'true';
}

/** `application/json`, `application/json; charset=utf-8`, `application/vnd.x+json`… */
export function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const semi = value.indexOf(';');
  const type = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
}

/** POST with a JSON body, not an upgrade: the only requests whose body the middleware looks at. */
export function isCandidate(method: string | undefined, headers: IncomingHttpHeaders): boolean {
  return method === 'POST' && headers.upgrade === undefined && isJsonContentType(headers['content-type']);
}

function holdsName(list: unknown, name: string): boolean {
  return Array.isArray(list) && list.includes(name);
}

/** A JSON object (not an array, not null): the only shape whose fields are read or written. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Per-request opt-in: top-level `guardrails` (chat completions), `litellm_metadata.guardrails` (messages), or `metadata.guardrails`. */
export function bodyOptsIn(body: Record<string, unknown>, name: string): boolean {
  return (
    holdsName(body.guardrails, name) ||
    (isObject(body.litellm_metadata) && holdsName(body.litellm_metadata.guardrails, name)) ||
    (isObject(body.metadata) && holdsName(body.metadata.guardrails, name))
  );
}

/**
 * Removes the LiteLLM control fields the middleware reads, which OpenAI and Anthropic would reject
 * as unknown parameters: top-level `guardrails`, `litellm_metadata`, and `metadata.guardrails`
 * (`metadata` itself goes only if nothing else was in it). Returns whether anything was removed.
 */
export function stripOptInFields(body: Record<string, unknown>): boolean {
  let changed = false;
  if (Object.prototype.hasOwnProperty.call(body, 'guardrails')) {
    delete body.guardrails;
    changed = true;
  }
  if (Object.prototype.hasOwnProperty.call(body, 'litellm_metadata')) {
    delete body.litellm_metadata;
    changed = true;
  }
  const md = body.metadata;
  if (isObject(md) && Object.prototype.hasOwnProperty.call(md, 'guardrails')) {
    delete md.guardrails;
    if (Object.keys(md).length === 0) delete body.metadata;
    changed = true;
  }
  return changed;
}
