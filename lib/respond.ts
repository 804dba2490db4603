/**
 * What the caller sees when the middleware answers itself: the provider's own error shape (Anthropic's
 * on `/messages` paths, OpenAI's elsewhere), so SDKs parse it like the provider's; and the record
 * published on the response (`res.locals.headroom`, the guardrail header, `onResult`).
 */
import type { Request, Response } from 'express';
import { providerErrorBody, providerForPath } from './errors';
import { markResponse } from './headers';
import type { Logger } from './logger';
import type { HeadroomResult } from './result';

/** Answers with `status` in the provider's error shape; a response already started is cut instead. */
export function sendError(req: Request, res: Response, status: number, message: string, code?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(providerErrorBody(providerForPath(req.originalUrl ?? req.url ?? ''), status, message, code));
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(body));
  // The client may still be sending a body we refused to read: do not reuse this connection.
  if (status === 413 || status === 400) res.setHeader('connection', 'close');
  res.end(body);
}

export interface Publisher {
  guardrailName: string;
  onResult?: (info: HeadroomResult, req: Request, res: Response) => void;
  logger: Logger;
}

/** Publishes a request's record: `res.locals.headroom`, the response headers when the guardrail ran, `onResult`. */
export function publishResult(p: Publisher, req: Request, res: Response, result: HeadroomResult): void {
  res.locals.headroom = result;
  if (result.status === 'compressed' || result.status === 'skipped' || result.status === 'failed') {
    markResponse(res, { guardrail: p.guardrailName, tokensBefore: result.tokensBefore, tokensAfter: result.tokensAfter, tokensSaved: result.tokensSaved });
  }
  if (!p.onResult) return;
  try {
    p.onResult(result, req, res);
  } catch (err) {
    p.logger.warn({ err: (err as Error)?.message }, 'onResult threw; ignored');
  }
}
