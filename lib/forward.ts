/**
 * The last step: hand the request to whatever proxies it next, with the bytes to forward. Untouched
 * bodies go on as they arrived; rewritten ones as one serialisation with their own Content-Length.
 * Nothing here serialises in a socket listener without a guard: a body `JSON.stringify` cannot
 * handle is found out here and answered with a 400.
 */
import type { NextFunction, Request, Response } from 'express';
import { replayBody, type RawBody } from './body';
import { sendError } from './respond';

/** Replays text built here: a function of its own, so the replay holds the text and nothing else. */
function replayText(req: Request, text: string): void {
  replayBody(req, () => text, true, Buffer.byteLength(text));
}

/** Sends the body on untouched: the chunks as they came, or an earlier parser's object re-serialised (lazily, if no proxyReq hook writes it first). */
export function forwardUntouched(req: Request, next: NextFunction, raw: RawBody | undefined, preParsed: object | undefined): void {
  if (preParsed) replayBody(req, () => JSON.stringify(preParsed), true);
  else if (raw) {
    const { chunks, length } = raw;
    replayBody(req, () => chunks, false, length);
  }
  next();
}

/** Serialises a value now, where a failure can be answered (400), or answers and returns undefined. */
function serializeOrRefuse(req: Request, res: Response, value: object, maxDepth: number): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    sendError(req, res, 400, `request body nests deeper than this server can forward (more than ${maxDepth} levels)`, 'request_too_complex');
    return undefined;
  }
}

/** Forwards a body the middleware rewrote (or must re-serialise): `req.body` set, one serialisation. */
export function forwardBody(req: Request, res: Response, next: NextFunction, body: object, maxDepth: number): void {
  const text = serializeOrRefuse(req, res, body, maxDepth);
  if (text === undefined) return;
  req.body = body;
  replayText(req, text);
  next();
}
