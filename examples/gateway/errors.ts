/**
 * Every error the gateway itself answers. /v1 answers in the provider's shape (Anthropic's on
 * Anthropic paths, OpenAI's elsewhere) so a client's SDK parses it as it would the provider's own;
 * the admin endpoints answer in OpenAI's shape, as LiteLLM's do.
 */
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import { providerErrorBody, type Logger } from 'express-headroom';
import { MAX_ECHO_CHARS, clip } from './limits';
import type { RequestState } from './request-state';
import { pathOf, providerHint } from './routing';

/** What body-parser and http-errors put on an error; nothing else is read. */
interface HttpError {
  type?: string;
  status?: number;
  message?: string;
}

/**
 * A /v1 error, also noted in the request's state for the spend log. Before `route` has run (or
 * when it found nothing) the path and headers say which provider the client expects.
 */
export function providerError(req: Request, res: Response, status: number, error: string, message: string, code?: string): void {
  const st = res.locals.gateway as RequestState | undefined;
  if (st) st.error = error;
  // An upstream answer already under way cannot become an error: cut it so the client sees it fail.
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const provider = st?.route?.provider ?? providerHint(pathOf(req.originalUrl), req.headers);
  res.status(status).json(providerErrorBody(provider, status, message, code ?? error));
}

/** Admin endpoints answer in OpenAI's error shape, as LiteLLM's do. */
export function adminError(res: Response, status: number, message: string, code: string): void {
  res.status(status).json(providerErrorBody('openai', status, message, code));
}

/** The /v1 error handler: body-parser's and the shape check's errors, in the provider's shape. */
export function v1Errors(logger: Logger, bodyLimit: string): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const e = err as HttpError;
    if (e?.type === 'request.aborted') return void res.destroy();
    if (e?.type === 'entity.too.complex')
      return providerError(req, res, e.status ?? 413, 'request_too_complex', e.message ?? "request body is past the gateway's shape limits", 'request_too_complex');
    if (e?.type === 'entity.too.large') return providerError(req, res, 413, 'request_too_large', `request body exceeds the gateway's limit of ${bodyLimit}`, 'request_too_large');
    // body-parser's messages may quote the client's body or headers: capped.
    if (e?.type === 'entity.parse.failed')
      return providerError(req, res, 400, 'invalid_request', `request body is not valid JSON: ${clip(String(e.message), MAX_ECHO_CHARS)}`, 'invalid_json');
    if (e?.status && e.status >= 400 && e.status < 500) return providerError(req, res, e.status, 'invalid_request', clip(e.message ?? 'bad request', MAX_ECHO_CHARS));
    logger.error({ err: e?.message ?? String(err), request_id: (res.locals.gateway as RequestState | undefined)?.id }, 'gateway error');
    providerError(req, res, 500, 'internal_error', 'internal gateway error');
  };
}

/** Anything neither an admin route, /ui nor /v1. The path is the client's: quoted back capped. */
export function adminNotFound(req: Request, res: Response): void {
  adminError(res, 404, `${req.method} ${clip(req.path, MAX_ECHO_CHARS)} not found`, 'not_found');
}

/** The app's last error handler: the admin endpoints' body errors, and anything unexpected. */
export function adminErrors(logger: Logger): ErrorRequestHandler {
  return (err: HttpError, _req: Request, res: Response, _next: NextFunction): void => {
    if (err?.type === 'entity.parse.failed') return adminError(res, 400, `request body is not valid JSON: ${clip(String(err.message), MAX_ECHO_CHARS)}`, 'invalid_json');
    if (err?.status && err.status >= 400 && err.status < 500) return adminError(res, err.status, clip(err.message ?? 'bad request', MAX_ECHO_CHARS), 'invalid_request');
    logger.error({ err: err?.message ?? String(err) }, 'gateway error');
    adminError(res, 500, 'internal gateway error', 'internal_error');
  };
}
