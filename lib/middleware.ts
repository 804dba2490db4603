/**
 * The core: per request, decide, compress, write back, forward. Everything configurable was
 * resolved and validated by `resolveOptions` when the middleware was created; this file only does
 * per-request work.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { decodableEncoding, decodeBody, decodeChunks, readRawBody, replayBody, type RawBody } from './body';
import { CircuitBreaker, type BreakerState } from './breaker';
import { createHttpClient, createInProcessClient, retrievalHashes, type ServiceClient } from './client';
import { estimateTokens, findRequestSlots, hasRows, textOfServiceRow, toServiceMessages, writeSlot, type TextSlot } from './codec';
import type { CompressRequest } from './contract';
import { BYPASS_HEADER, bodyOptsIn, isBypassValue, isCandidate, isObject, stripOptInFields } from './decision';
import { HeadroomRequestError, HeadroomServiceError, providerErrorBody, providerForPath } from './errors';
import { markResponse } from './headers';
import { JsonShapeScanner, measureParsed, scanJsonShape } from './json-shape';
import { LruMemoStore, TieredMemo, memoKey } from './memo';
import type { HeadroomConfig } from './options';
import type { HeadroomResult, HeadroomStatus } from './result';

/** The middleware, plus handles for tests and graceful shutdown. */
export interface HeadroomMiddleware extends RequestHandler {
  /** Closes the keep-alive pool to the Headroom service. */
  close(): Promise<void>;
  /** Current circuit breaker state and in-flight compress calls. */
  stats(): { breaker: BreakerState; inFlight: number; memoEntries: number };
  /**
   * For a body parser in front of the middleware: `express.json({ limit: '64mb', verify: headroom.verifyJson })`.
   * It measures the bytes before the parser's `JSON.parse` and throws a {@link HeadroomRequestError}
   * (`code: 'REQUEST_TOO_COMPLEX'`, `type: 'entity.too.complex'`) past `maxDepth`, `maxMessages` or
   * `maxJsonValues`, so no body costs more than the limits allow to parse or to forward.
   */
  verifyJson(req: unknown, res: unknown, buf: Buffer): void;
}

/** A request with rows: `messages`, or a Responses `input` array. */
type Body = Record<string, unknown>;

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
   * Compresses the compressible text of the body's rows (`messages` or Responses `input`) in place. History slots are filled from the
   * memo only (never sent); new slots are sent unless the memo knows them. On any failure every slot
   * the service was asked about keeps its original text.
   */
  async function compressBody(body: Body, res: Response, journal: TextSlot[]): Promise<CompressOutcome> {
    const result = baseResult('skipped');
    const slots = findRequestSlots(body, config.compressUserMessages);
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

  /** Sends the body on untouched: the chunks as they came, or an earlier parser's object re-serialised. */
  function forwardUntouched(req: Request, next: NextFunction, raw: RawBody | undefined, preParsed: Record<string, unknown> | undefined): void {
    if (preParsed) replayParsed(req, preParsed);
    else if (raw) replayChunks(req, raw);
    next();
  }

  /**
   * Reads and decodes the body. Resolves undefined when a response was already sent or the request
   * was handed on (an encoding it cannot read, a body it cannot decode that is not its business).
   */
  async function readBody(req: Request, res: Response, next: NextFunction, bypass: boolean): Promise<{ raw: RawBody; decoded?: Buffer } | undefined> {
    const encoding = decodableEncoding(req.headers['content-encoding'] as string | undefined);
    if (encoding === undefined) {
      next(); // an encoding it cannot read: forwarded untouched, never mislabelled
      return undefined;
    }
    let raw: RawBody;
    try {
      // Identity bodies are scanned for the guardrail name, as a JSON string, while they arrive.
      raw = await readRawBody(req, config.limit, encoding === 'identity' && config.optInFromBody ? config.guardrailNameBytes : undefined);
    } catch (err) {
      const e = err as HeadroomRequestError;
      if (e.code === 'REQUEST_ABORTED') res.destroy();
      else sendError(req, res, e.status ?? 400, e.message, e.code?.toLowerCase());
      return undefined;
    }
    if (encoding === 'identity') return { raw };
    try {
      const decoded = await decodeBody(raw.chunks, encoding, config.limit);
      raw.needleSeen = config.optInFromBody && decoded.includes(config.guardrailNameBytes);
      return { raw, decoded };
    } catch (err) {
      // A body it cannot decode within bounds is refused only where compression is on by the
      // gateway's own choice; otherwise it is not this middleware's business and goes on as sent.
      const e = err as HeadroomRequestError;
      if (!bypass && (config.defaultOn || (await enabledForSafe(req)))) sendError(req, res, e.status, e.message, e.code.toLowerCase());
      else {
        record(req, res, baseResult(bypass ? 'bypassed' : 'not_enabled'));
        forwardUntouched(req, next, raw, undefined);
      }
      return undefined;
    }
  }

  /**
   * Parses the body, unless its shape passes a limit: then it is never parsed (the cost of parsing
   * and of per-row work is what the limits bound). `refuse` says whether that case is answered with
   * a 4xx (the body asked for compression itself and must be rewritten) or handed back undefined.
   */
  async function parseBody(
    req: Request,
    res: Response,
    source: { raw?: RawBody; decoded?: Buffer },
    refuse: boolean,
  ): Promise<{ body?: Record<string, unknown>; sent: boolean; overLimit?: string }> {
    const shape = await scanJsonShape(source.decoded ? [source.decoded] : source.raw!.chunks, config.shapeLimits);
    if (shape.exceeded) {
      if (!refuse) return { sent: false, overLimit: shape.exceeded };
      const [status, message] = limitMessage(shape.exceeded);
      sendError(req, res, status, message, 'request_too_complex');
      return { sent: true, overLimit: shape.exceeded };
    }
    try {
      const value = JSON.parse(source.decoded ? source.decoded.toString('utf8') : decodeChunks(source.raw!));
      return { body: isObject(value) ? value : undefined, sent: false };
    } catch (err) {
      sendError(req, res, 400, `request body is not valid JSON: ${(err as Error).message.slice(0, 200)}`, 'invalid_json');
      return { sent: true };
    }
  }

  function limitMessage(exceeded: string): [number, string] {
    const { maxDepth, maxMessages, maxJsonValues } = config.shapeLimits;
    if (exceeded === 'depth') return [400, `request body nests deeper than ${maxDepth} levels (headroomCompression maxDepth)`];
    if (exceeded === 'messages') return [413, `request has more than ${maxMessages} messages (headroomCompression maxMessages)`];
    return [413, `request body holds more than ${maxJsonValues} JSON values (headroomCompression maxJsonValues)`];
  }

  /** Forwards a body the middleware rewrote (or that an earlier parser consumed): one serialisation. */
  function forwardBody(req: Request, res: Response, next: NextFunction, b: Record<string, unknown>): void {
    let text: string;
    try {
      text = JSON.stringify(b);
    } catch (err) {
      // Only a body past every limit could get here (an earlier parser's, nested too deep to serialise).
      return sendError(req, res, 400, `request body cannot be forwarded: ${(err as Error).message}`, 'request_too_complex');
    }
    req.body = b;
    replayText(req, text);
    next();
  }

  async function handle(req: Request, res: Response, next: NextFunction, bypass: boolean): Promise<void> {
    const preParsed = req.readableEnded && isObject(req.body) ? (req.body as Record<string, unknown>) : undefined;
    if (!preParsed && req.readableEnded) {
      // An earlier parser left something other than an object (a JSON array, say): not a chat
      // request, but its bytes are gone, so it is written back from what the parser built.
      if (typeof req.body === 'object' && req.body !== null) return forwardParsedValue(req, res, next, req.body);
      warnConsumedOnce();
      return next(); // consumed by someone else; nothing we can forward
    }
    const preShape = preParsed ? measureParsed(preParsed, config.shapeLimits) : undefined;
    if (preParsed) {
      // An earlier body parser decoded it: what goes on is JSON text, whatever the client's encoding.
      delete req.headers['content-encoding'];
      // Too deep to serialise lazily (in the proxy's socket listener) is found out here, where it can be answered.
      if (preShape!.exceeded === 'depth') return forwardPreParsedDeep(req, res, next, preParsed, bypass);
    }

    // Decisions certain from headers alone: the body is never buffered.
    if (!config.optInFromBody && !config.defaultOn && !bypass) {
      if (!(await enabledForSafe(req))) {
        record(req, res, baseResult('not_enabled'));
        return forwardUntouched(req, next, undefined, preParsed);
      }
    } else if (bypass && !config.optInFromBody) {
      record(req, res, baseResult('bypassed'));
      return forwardUntouched(req, next, undefined, preParsed);
    }

    let raw: RawBody | undefined;
    let decoded: Buffer | undefined;
    let mayOptIn: boolean;
    if (preParsed) mayOptIn = config.optInFromBody && bodyOptsIn(preParsed, guardrailName);
    else {
      const read = await readBody(req, res, next, bypass);
      if (!read) return;
      ({ raw, decoded } = read);
      mayOptIn = raw.needleSeen;
    }

    let body: Record<string, unknown> | undefined = preParsed;
    let parsedOnce = Boolean(preParsed);
    let optedIn = false;
    if (mayOptIn && !preParsed) {
      // The guardrail name is in the bytes: parse to see whether it is really an opt-in.
      const parsed = await parseBody(req, res, { raw, decoded }, true);
      if (parsed.sent) return;
      body = parsed.body;
      parsedOnce = true;
    }
    if (mayOptIn && body) optedIn = bodyOptsIn(body, guardrailName);

    if (bypass) {
      record(req, res, baseResult('bypassed'));
      // Bypassed, but the LiteLLM opt-in fields must not reach the provider.
      if (optedIn && stripOptInFields(body!)) return forwardBody(req, res, next, body!);
      return forwardUntouched(req, next, raw, preParsed);
    }

    const enabled = config.defaultOn || optedIn || (await enabledForSafe(req));
    if (!enabled) {
      record(req, res, baseResult('not_enabled'));
      return forwardUntouched(req, next, raw, preParsed);
    }
    let overLimit: string | undefined = preShape?.exceeded;
    if (!parsedOnce) {
      const parsed = await parseBody(req, res, { raw, decoded }, false);
      if (parsed.sent) return;
      body = parsed.body;
      overLimit = parsed.overLimit;
    }
    // Let the raw bytes go now (the replay keeps what it needs), so they die young.
    decoded = undefined;
    if (overLimit) {
      // Past a limit and not asking for compression itself: forwarded as sent, never parsed.
      const result = baseResult('skipped');
      result.reason = `over_${overLimit}_limit`;
      record(req, res, result);
      return forwardUntouched(req, next, raw, preParsed);
    }
    if (!body || !hasRows(body)) return forwardUntouched(req, next, raw, preParsed); // not a chat or Responses request: not ours
    return compressAndForward(req, res, next, body as Body, Boolean(preParsed), raw);
  }

  /** An earlier parser's body nested past `maxDepth`: never compressed, its opt-in fields removed, forwarded if it can be serialised. */
  function forwardPreParsedDeep(req: Request, res: Response, next: NextFunction, preParsed: Record<string, unknown>, bypass: boolean): void {
    if (config.optInFromBody && bodyOptsIn(preParsed, guardrailName)) stripOptInFields(preParsed);
    const text = serializeOrRefuse(req, res, preParsed);
    if (text === undefined) return;
    const result = baseResult(bypass ? 'bypassed' : 'skipped');
    if (!bypass) result.reason = 'over_depth_limit';
    record(req, res, result);
    replayText(req, text);
    next();
  }

  /** What an earlier parser built that is not an object (a JSON array): not a chat request; written back as it was. */
  function forwardParsedValue(req: Request, res: Response, next: NextFunction, value: object): void {
    const text = serializeOrRefuse(req, res, value);
    if (text === undefined) return;
    replayText(req, text);
    next();
  }

  /**
   * Serialises what an earlier parser built now, where a failure (a body nested too deep for
   * `JSON.stringify`) can be answered with a 400, rather than in the proxy's socket listener.
   */
  function serializeOrRefuse(req: Request, res: Response, value: object): string | undefined {
    try {
      return JSON.stringify(value);
    } catch {
      sendError(req, res, 400, `request body nests deeper than this server can forward (more than ${config.shapeLimits.maxDepth} levels)`, 'request_too_complex');
      return undefined;
    }
  }

  async function compressAndForward(req: Request, res: Response, next: NextFunction, chat: Body, preParsed: boolean, raw: RawBody | undefined): Promise<void> {
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
    if (outcome.changed || stripped || preParsed) return forwardBody(req, res, next, chat);
    return forwardUntouched(req, next, raw, undefined);
  }

  let warnedConsumed = false;
  /** Once per middleware: it met a request whose body someone else read without leaving `req.body`. */
  function warnConsumedOnce(): void {
    if (warnedConsumed) return;
    warnedConsumed = true;
    logger.warn(
      {},
      'headroomCompression met a request whose body was already read by an earlier handler (a proxy or a body parser that leaves no req.body object): it cannot compress or forward such requests. Mount it before your proxy and body parsers.',
    );
  }

  const middleware = function headroomCompression(req: Request, res: Response, next: NextFunction): void {
    const bypassValue = req.headers[BYPASS_HEADER];
    if (bypassValue !== undefined) delete req.headers[BYPASS_HEADER]; // never forwarded, on any request, allowed or not
    if (!isCandidate(req.method, req.headers)) return next();
    const bypass = config.allowBypass && isBypassValue(bypassValue);
    handle(req, res, next, bypass).catch((err) => {
      logger.error({ err: (err as Error)?.message }, 'headroom middleware error');
      next(err);
    });
  } as HeadroomMiddleware;

  middleware.verifyJson = (_req: unknown, _res: unknown, buf: Buffer) => {
    const scanner = new JsonShapeScanner(config.shapeLimits);
    scanner.push(buf);
    const { exceeded } = scanner.finish();
    if (!exceeded) return;
    const [status, message] = limitMessage(exceeded);
    throw new HeadroomRequestError('REQUEST_TOO_COMPLEX', status, message);
  };
  middleware.close = () => client.close();
  middleware.stats = () => ({ breaker: breakerState(), inFlight, memoEntries: memo.local.size });
  return middleware;
}
