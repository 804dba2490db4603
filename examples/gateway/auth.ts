/**
 * Who is calling and what they may use: the master key (admin endpoints, and an unrestricted key
 * on /v1, as in LiteLLM), virtual keys from keys.ts, and a key's `models` allow-list (LiteLLM
 * checks model access in its auth step too).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { adminError, providerError } from './errors';
import type { KeyStore } from './keys';
import { MAX_MODEL_CHARS } from './limits';
import { isObject, requestState } from './request-state';
import { modelAllowed } from './routing';

export type MasterKeyCheck = (presented: string) => boolean;

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** The keys a client presented: `Authorization: Bearer <key>` and/or `x-api-key: <key>`. */
export function presentedKeys(req: IncomingMessage): string[] {
  const out: string[] = [];
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) out.push(m[1].trim());
  }
  const x = req.headers['x-api-key'];
  if (typeof x === 'string' && x.trim()) out.push(x.trim());
  return out;
}

/**
 * Compares SHA-256 digests with timingSafeEqual: the time taken says nothing about how much of a
 * guess was right, and digests have equal lengths (timingSafeEqual throws on unequal ones).
 */
export function masterKeyCheck(masterKey: string): MasterKeyCheck {
  const masterDigest = digest(masterKey);
  return (presented) => timingSafeEqual(digest(presented), masterDigest);
}

/** /v1: the master key or a virtual key, else 401. Header-only, so an unauthenticated client never gets its body read. */
export function authenticate(keys: KeyStore, isMaster: MasterKeyCheck): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    void check(req, res).then((ok) => ok && next(), next);
  };

  async function check(req: Request, res: Response): Promise<boolean> {
    const st = requestState(res);
    const presented = presentedKeys(req);
    for (const k of presented) {
      if (isMaster(k)) {
        st.master = true;
        break;
      }
      // Read from the store on every request (no cache), so a key deleted by /key/delete on any instance fails its next request.
      // The store unreachable: 503, never a guess (a cached key could be one revoked meanwhile). The master key needs no store.
      let key;
      try {
        key = await keys.lookup(k);
      } catch {
        providerError(req, res, 503, 'key_store_unavailable', 'the key store (database) is unreachable; retry shortly', 'key_store_unavailable');
        return false;
      }
      if (key) {
        st.key = key;
        break;
      }
    }
    if (!st.master && !st.key) {
      const message = presented.length
        ? 'invalid API key: not a key of this gateway (send a virtual key from POST /key/generate)'
        : 'missing API key: send Authorization: Bearer <virtual key> or x-api-key: <virtual key>';
      providerError(req, res, 401, 'unauthorized', message, 'invalid_api_key');
      return false;
    }
    // The client's own credentials never go upstream.
    delete req.headers.authorization;
    delete req.headers['x-api-key'];
    return true;
  }
}

/** The admin endpoints: the master key only. */
export function requireMaster(isMaster: MasterKeyCheck): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (presentedKeys(req).some(isMaster)) return next();
    adminError(res, 401, 'this endpoint requires the master key: Authorization: Bearer $MASTER_KEY', 'invalid_master_key');
  };
}

/**
 * After express.json: the body's `model` against the key's allow-list (400/403, nothing sent
 * upstream). Also notes the model and `stream` for the spend log, whatever the key.
 */
export function checkModel(req: Request, res: Response, next: NextFunction): void {
  const st = requestState(res);
  if (!st.route?.hasModel) return next();
  if (!isObject(req.body)) {
    return providerError(req, res, 400, 'invalid_request', 'request body must be a JSON object sent with Content-Type: application/json', 'invalid_request_error');
  }
  const model = typeof req.body.model === 'string' ? req.body.model : undefined;
  st.model = model;
  st.stream = req.body.stream === true;
  const allowed = st.key?.models ?? [];
  const restricted = st.key !== undefined && allowed.length > 0;
  // No real model id is this long; a key with an allow-list refuses it rather than matching it. An
  // unrestricted key forwards it (the provider decides); the spend log stores it capped (spend.ts).
  if (restricted && model !== undefined && model.length > MAX_MODEL_CHARS) {
    return providerError(req, res, 400, 'model_name_too_long', `model name is ${model.length} characters; this gateway accepts at most ${MAX_MODEL_CHARS}`, 'model_name_too_long');
  }
  if (restricted && (model === undefined || !modelAllowed(allowed, model))) {
    const named = model === undefined ? '(none given)' : `"${model}"`;
    return providerError(req, res, 403, 'model_not_allowed', `this key may not use model ${named}; allowed: ${allowed.join(', ')}`, 'model_not_allowed');
  }
  next();
}
