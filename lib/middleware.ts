/**
 * The core: per request, decide, compress, write back, forward. Everything configurable was
 * resolved and validated by `resolveOptions` when the middleware was created; this file only does
 * per-request work.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { decodableEncoding, decodeBody, decodeChunks, joinChunks, readRawBody, replayBody, type RawBody } from './body';
import { CircuitBreaker, type BreakerState } from './breaker';
import { createHttpClient, createInProcessClient, retrievalHashes, type ServiceClient } from './client';
import { estimateTokens, findSlots, textOfServiceRow, toServiceMessages, writeSlot, type TextSlot } from './codec';
import type { CompressRequest } from './contract';
import { BYPASS_HEADER, bodyOptsIn, isBypassValue, isCandidate, isObject, stripOptInFields } from './decision';
import { HeadroomRequestError, HeadroomServiceError, providerErrorBody, providerForPath } from './errors';
import { markResponse } from './headers';
import { LruMemoStore, TieredMemo, memoKey } from './memo';
import type { HeadroomConfig } from './options';
import type { HeadroomResult, HeadroomStatus } from './result';

/** The middleware, plus handles for tests and graceful shutdown. */
export interface HeadroomMiddleware extends RequestHandler {
  /** Closes the keep-alive pool to the Headroom service. */
  close(): Promise<void>;
  /** Current circuit breaker state and in-flight compress calls. */
  stats(): { breaker: BreakerState; inFlight: number; memoEntries: number };
}

type Body = Record<string, unknown> & { messages: unknown[] };

interface CompressOutcome {
  /** Whether any text in the body was rewritten (from the memo or the service). */
  changed: boolean;
  result: HeadroomResult;
}

/** Replays text built here: a function of its own, so the replay holds the text and nothing else. */
function replayText(req: Request, text: string): void {
  replayBody(req, () => text, true, Buffer.byteLength(text));
}

/** Replays a body an earlier parser decoded, serialised only if no proxyReq hook writes it first. */
function replayParsed(req: Request, body: Record<string, unknown>): void {
  replayBody(req, () => JSON.stringify(body), true);
}

/** Replays the chunks as they arrived, unchanged. */
function replayChunks(req: Request, raw: RawBody): void {
  const { chunks, length } = raw;
  replayBody(req, () => chunks, false, length);
}

export function createMiddleware(config: HeadroomConfig): HeadroomMiddleware {
  const { logger, guardrailName } = config;
  const memo = new TieredMemo(new LruMemoStore(config.memo), config.memoStore, config.memoTimeoutMs, logger);
  const client: ServiceClient = config.compressor
    ? createInProcessClient(config.compressor)
    : createHttpClient({ compressUrl: config.compressUrl!, apiKey: config.apiKey, connections: config.maxInFlight });
  const breaker = config.breaker
    ? new CircuitBreaker(config.breaker.failureThreshold, config.breaker.cooldownMs, (from, to, failures) =>
        logger.warn({ from, to, failures }, `headroom circuit breaker ${to}`),
      )
    : undefined;
  let inFlight = 0;

  const breakerState = (): BreakerState => (breaker ? breaker.state : 'off');

  function baseResult(status: HeadroomStatus): HeadroomResult {
    return {
      status,
      guardrail: guardrailName,
      transformsApplied: [],
      ccrHashes: [],
      estimatedTokens: 0,
      partsSent: 0,
      partsCompressed: 0,
      partsRejected: 0,
      memoHits: 0,
      charsBefore: 0,
      charsAfter: 0,
      durationMs: 0,
      breaker: breakerState(),
    };
  }

  function record(req: Request, res: Response, result: HeadroomResult): void {
    res.locals.headroom = result;
    if (result.status === 'compressed' || result.status === 'skipped' || result.status === 'failed') {
      markResponse(res, { guardrail: guardrailName, tokensBefore: result.tokensBefore, tokensAfter: result.tokensAfter, tokensSaved: result.tokensSaved });
    }
    if (config.onResult) {
      try {
        config.onResult(result, req, res);
      } catch (err) {
        logger.warn({ err: (err as Error)?.message }, 'onResult threw; ignored');
      }
    }
  }

  function sendError(req: Request, res: Response, status: number, message: string, code?: string): void {
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

  async function enabledForSafe(req: Request): Promise<boolean> {
    if (!config.enabledFor) return false;
    try {
      return (await config.enabledFor(req)) === true;
    } catch (err) {
      logger.warn({ err: (err as Error)?.message }, 'enabledFor threw; treated as not enabled');
      return false;
    }
  }

  /**
   * Compresses the compressible text of `body.messages` in place. History slots are filled from the
   * memo only (never sent); new slots are sent unless the memo knows them. On any failure every slot
   * the service was asked about keeps its original text.
   */
  async function compressBody(body: Body, res: Response, journal: TextSlot[]): Promise<CompressOutcome> {
    const result = baseResult('skipped');
    const slots = findSlots(body.messages, config.compressUserMessages);
    if (slots.length === 0) {
      result.reason = 'nothing_compressible';
      return { changed: false, result };
    }
    const model = config.model ?? (typeof body.model === 'string' ? body.model : '');
    const keys = slots.map((s) => memoKey(s.kind, model, config.fingerprint, s.text));
    const known = await memo.getMany(keys);

    let changed = false;
    // Unique new texts to send, by key; duplicates in one request are sent once.
    const pending = new Map<string, TextSlot[]>();
    for (let i = 0; i < slots.length; i++) {
      const value = known[i];
      const slot = slots[i];
      if (value !== undefined) {
        result.memoHits++;
        if (value !== slot.text) {
          journal.push(slot);
          writeSlot(slot, value);
          changed = true;
        }
      } else if (slot.isNew) {
        const group = pending.get(keys[i]);
        if (group) group.push(slot);
        else pending.set(keys[i], [slot]);
      }
    }
    /** Ends the decision: text sizes measured on the slots themselves, status from what happened. */
    const settle = (failure?: HeadroomServiceError): CompressOutcome => {
      result.charsBefore = 0;
      result.charsAfter = 0;
      for (const s of slots) {
        result.charsBefore += s.text.length;
        result.charsAfter += (s.container[s.field] as string).length;
      }
      if (failure) {
        result.status = 'failed';
        result.error = { code: failure.code, message: failure.message };
      } else result.status = changed ? 'compressed' : 'skipped';
      return { changed, result };
    };
    if (pending.size === 0) {
      result.reason = result.memoHits > 0 ? 'memo' : 'nothing_new';
      return settle();
    }
    const sendKeys = [...pending.keys()];
    const sendSlots = sendKeys.map((k) => pending.get(k)![0]);
    for (const s of sendSlots) result.estimatedTokens += estimateTokens(s.text);
    if (result.estimatedTokens < config.minTokens) {
      result.reason = 'below_min_tokens';
      return settle();
    }

    if (breaker && !breaker.tryAcquire()) {
      return settle(new HeadroomServiceError('HEADROOM_CIRCUIT_OPEN', 'Headroom circuit breaker is open after repeated failures; not called'));
    }
    if (inFlight >= config.maxInFlight) {
      breaker?.release();
      return settle(new HeadroomServiceError('HEADROOM_OVERLOADED', `more than ${config.maxInFlight} compress calls in flight; forwarded uncompressed`));
    }

    const request: CompressRequest = {
      model,
      messages: toServiceMessages(sendSlots),
      // The service protects the newest rows by default; every row sent here is one to compress.
      config: { protect_recent: 0, compress_user_messages: config.compressUserMessages },
    };
    if (config.targetRatio !== undefined) request.config!.target_ratio = config.targetRatio;
    if (config.tokenBudget !== undefined) request.token_budget = config.tokenBudget;

    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);
    inFlight++;
    result.partsSent = sendSlots.length;
    result.startedAt = Date.now();
    const t0 = performance.now();
    try {
      const reply = await client.compress({ body: request, signal: abort.signal, timeoutMs: config.timeoutMs });
      breaker?.success();
      const entries: Array<[string, string]> = [];
      for (let j = 0; j < sendKeys.length; j++) {
        const original = sendSlots[j].text;
        const text = textOfServiceRow(reply.messages[j], request.messages[j].role);
        // Accept only text that is still text and not longer: anything else keeps the original.
        const accepted = text !== undefined && text.length > 0 && text.length <= original.length ? text : original;
        if (text === undefined || (accepted === original && text !== original)) result.partsRejected++;
        if (accepted !== original) {
          result.partsCompressed++;
          changed = true;
          for (const s of pending.get(sendKeys[j])!) {
            journal.push(s);
            writeSlot(s, accepted);
          }
        }
        entries.push([sendKeys[j], accepted]);
      }
      // Remembered even when unchanged, so a repeat costs no call and later turns forward the same bytes.
      await memo.setMany(entries);
      const before = reply.tokens_before;
      const after = reply.tokens_after;
      result.tokensBefore = before;
      result.tokensAfter = after;
      result.tokensSaved = reply.tokens_saved ?? (before !== undefined && after !== undefined ? before - after : undefined);
      result.compressionRatio = reply.compression_ratio ?? (before !== undefined && after !== undefined ? (before === 0 ? 1 : after / before) : undefined);
      result.transformsApplied = reply.transforms_applied ?? [];
      result.ccrHashes = retrievalHashes(reply.ccr_hashes);
      if (!changed) result.reason = 'service_returned_unchanged';
      return settle();
    } catch (err) {
      const e =
        err instanceof HeadroomServiceError ? err : new HeadroomServiceError('HEADROOM_INTERNAL', `unexpected: ${(err as Error)?.message ?? err}`);
      if (e.code === 'HEADROOM_ABORTED') breaker?.release();
      else breaker?.failure();
      // Undo nothing: on failure no slot the service was asked about was written.
      return settle(e);
    } finally {
      inFlight--;
      res.off('close', onClose);
      result.endedAt = Date.now();
      result.durationMs = Math.round((performance.now() - t0) * 100) / 100;
      result.breaker = breakerState();
    }
  }

  async function handle(req: Request, res: Response, next: NextFunction, bypass: boolean): Promise<void> {
    const preParsed = req.readableEnded && isObject(req.body) ? (req.body as Record<string, unknown>) : undefined;
    if (!preParsed && req.readableEnded) return next(); // consumed by someone else; nothing we can forward
    if (preParsed) {
      // An earlier body parser decoded it: what goes on is JSON text, whatever the client's encoding.
      delete req.headers['content-encoding'];
    }

    // Decisions certain from headers alone: the body is never buffered.
    if (!config.optInFromBody && !config.defaultOn && !bypass) {
      if (!(await enabledForSafe(req))) {
        if (preParsed) replayParsed(req, preParsed);
        record(req, res, baseResult('not_enabled'));
        return next();
      }
    } else if (bypass && !config.optInFromBody) {
      if (preParsed) replayParsed(req, preParsed);
      record(req, res, baseResult('bypassed'));
      return next();
    }

    let raw: RawBody | undefined;
    let decoded: Buffer | undefined;
    let mayOptIn = false;
    if (preParsed) {
      mayOptIn = config.optInFromBody && bodyOptsIn(preParsed, guardrailName);
    } else {
      const encoding = decodableEncoding(req.headers['content-encoding'] as string | undefined);
      if (encoding === undefined) return next(); // an encoding we cannot read: forwarded untouched
      try {
        // Identity bodies are scanned for the guardrail name, as a JSON string, while they arrive.
        raw = await readRawBody(req, config.limit, encoding === 'identity' && config.optInFromBody ? config.guardrailNameBytes : undefined);
        if (encoding !== 'identity') {
          decoded = decodeBody(joinChunks(raw), encoding, config.limit);
          mayOptIn = config.optInFromBody && decoded.includes(config.guardrailNameBytes);
        } else mayOptIn = raw.needleSeen;
      } catch (err) {
        const e = err as HeadroomRequestError;
        if (e.code === 'REQUEST_ABORTED') {
          res.destroy();
          return;
        }
        return sendError(req, res, e.status ?? 400, e.message, e.code?.toLowerCase());
      }
    }

    let body: Record<string, unknown> | undefined = preParsed;
    const parse = (): boolean => {
      if (body) return true;
      try {
        const value = JSON.parse(decoded ? decoded.toString('utf8') : decodeChunks(raw!));
        if (!isObject(value)) return false;
        body = value;
        return true;
      } catch (err) {
        sendError(req, res, 400, `request body is not valid JSON: ${(err as Error).message}`, 'invalid_json');
        return false;
      }
    };
    const forwardUnchanged = () => {
      if (preParsed) replayParsed(req, preParsed);
      else replayChunks(req, raw!);
      next();
    };
    const forwardBody = (b: Record<string, unknown>) => {
      // One serialisation, written as a string: no second copy into a Buffer.
      const text = JSON.stringify(b);
      req.body = b;
      // The request keeps its replay function until it ends; let the raw bytes go now, so they die
      // young instead of being promoted while the upstream answers.
      raw = undefined;
      decoded = undefined;
      replayText(req, text);
      next();
    };

    let optedIn = false;
    if (mayOptIn) {
      if (!parse()) return res.headersSent ? undefined : forwardUnchanged();
      optedIn = bodyOptsIn(body!, guardrailName);
    }

    if (bypass) {
      record(req, res, baseResult('bypassed'));
      // Bypassed, but the LiteLLM opt-in fields must not reach the provider.
      if (optedIn && stripOptInFields(body!)) return forwardBody(body!);
      return forwardUnchanged();
    }

    const enabled = config.defaultOn || optedIn || (await enabledForSafe(req));
    if (!enabled) {
      record(req, res, baseResult('not_enabled'));
      return forwardUnchanged();
    }
    if (!parse()) return res.headersSent ? undefined : forwardUnchanged();
    if (!Array.isArray(body!.messages)) return forwardUnchanged(); // not a chat request: not ours
    const chat = body as Body;
    const stripped = stripOptInFields(chat);

    let outcome: CompressOutcome;
    const journal: TextSlot[] = [];
    try {
      outcome = await compressBody(chat, res, journal);
    } catch (err) {
      // A defect here must not cost the request or corrupt it: put back every text written, go on.
      logger.error({ err: (err as Error)?.message }, 'headroom middleware failed; forwarding uncompressed');
      for (const slot of journal) writeSlot(slot, slot.text);
      const result = baseResult('failed');
      result.error = { code: 'HEADROOM_INTERNAL', message: (err as Error)?.message ?? String(err) };
      outcome = { changed: false, result };
    }
    record(req, res, outcome.result);
    // The client is gone: nothing goes upstream.
    if (res.destroyed || outcome.result.error?.code === 'HEADROOM_ABORTED') return;
    if (outcome.result.status === 'failed') {
      logger.warn({ code: outcome.result.error?.code, durationMs: outcome.result.durationMs }, outcome.result.error?.message ?? 'compression failed');
      if (config.unreachableFallback === 'fail_closed') {
        return sendError(req, res, 502, `headroom-compression failed and the gateway is configured fail_closed: ${outcome.result.error?.message}`, 'headroom_compression_failed');
      }
    }
    if (outcome.changed || stripped || preParsed) return forwardBody(chat);
    return forwardUnchanged();
  }

  const middleware = function headroomCompression(req: Request, res: Response, next: NextFunction): void {
    if (!isCandidate(req.method, req.headers)) return next();
    const bypassValue = req.headers[BYPASS_HEADER];
    if (bypassValue !== undefined) delete req.headers[BYPASS_HEADER]; // never forwarded, allowed or not
    const bypass = config.allowBypass && isBypassValue(bypassValue);
    handle(req, res, next, bypass).catch((err) => {
      logger.error({ err: (err as Error)?.message }, 'headroom middleware error');
      next(err);
    });
  } as HeadroomMiddleware;

  middleware.close = () => client.close();
  middleware.stats = () => ({ breaker: breakerState(), inFlight, memoEntries: memo.local.size });
  return middleware;
}
