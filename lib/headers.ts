/**
 * Response headers. `x-litellm-applied-guardrails` is a comma-separated list without spaces or
 * duplicates. A proxy sets headers from the upstream response after this middleware has run, so the
 * merge happens again at `writeHead`, the last moment before headers leave, whoever set them.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

export const APPLIED_HEADER = 'x-litellm-applied-guardrails';

/** Merges guardrail names into an existing header value: split on commas, trim, drop empties and repeats. */
export function mergeGuardrailNames(existing: unknown, add: string): string {
  const out: string[] = [];
  const push = (v: string) => {
    for (const part of v.split(',')) {
      const name = part.trim();
      if (name && !out.includes(name)) out.push(name);
    }
  };
  if (Array.isArray(existing)) existing.forEach((v) => push(String(v)));
  else if (existing !== undefined && existing !== null) push(String(existing));
  push(add);
  return out.join(',');
}

export interface ResponseMarks {
  guardrail: string;
  tokensBefore?: number;
  tokensAfter?: number;
  tokensSaved?: number;
}

function findKey(headers: OutgoingHttpHeaders, lower: string): string | undefined {
  for (const k of Object.keys(headers)) if (k.toLowerCase() === lower) return k;
  return undefined;
}

/** Marks the response: now (visible to later middleware) and again at writeHead (survives upstream headers). */
export function markResponse(res: ServerResponse, marks: ResponseMarks): void {
  if (res.headersSent) return;
  const apply = () => {
    res.setHeader(APPLIED_HEADER, mergeGuardrailNames(res.getHeader(APPLIED_HEADER), marks.guardrail));
    if (marks.tokensBefore !== undefined) res.setHeader('x-headroom-tokens-before', String(marks.tokensBefore));
    if (marks.tokensAfter !== undefined) res.setHeader('x-headroom-tokens-after', String(marks.tokensAfter));
    if (marks.tokensSaved !== undefined) res.setHeader('x-headroom-tokens-saved', String(marks.tokensSaved));
  };
  apply();
  const writeHead = res.writeHead;
  // Own property on this response only; restored on first call.
  res.writeHead = function writeHeadWithGuardrails(this: ServerResponse, ...args: unknown[]) {
    res.writeHead = writeHead;
    // writeHead(status, [message], [headers]): headers passed here win over setHeader, so merge into them too.
    const last = args[args.length - 1];
    if (args.length > 1 && last && typeof last === 'object' && !Array.isArray(last)) {
      const headers = last as OutgoingHttpHeaders;
      const key = findKey(headers, APPLIED_HEADER);
      if (key) headers[key] = mergeGuardrailNames(mergeGuardrailNames(res.getHeader(APPLIED_HEADER), String(headers[key])), marks.guardrail);
    }
    if (!this.headersSent) apply();
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['writeHead'];
}
