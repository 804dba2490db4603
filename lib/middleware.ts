/**
 * The middleware: per request, a pipeline that reads top to bottom,
 *
 *   decide from headers → read (read.ts) → decide from the body → compress (compress-step.ts) → forward (forward.ts)
 *
 * Everything configurable was resolved and validated by `resolveOptions` when the middleware was
 * created; this file only does per-request work and owns no I/O of its own.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { RawBody } from './body';
import type { BreakerState } from './breaker';
import { writeSlot, hasRows, type TextSlot } from './codec';
import { createCompressStep, type CompressOutcome } from './compress-step';
import { BYPASS_HEADER, bodyOptsIn, isBypassValue, isCandidate, isObject, stripOptInFields } from './decision';
import { forwardBody, forwardUntouched } from './forward';
import { measureParsed } from './json-shape';
import type { HeadroomConfig, HeadroomMode } from './options';
import { ANY_OWNER, type RetrievalStore } from './ccr';
import { jsonVerifier, limitError, parseBody, readBody } from './read';
import { publishResult, sendError } from './respond';
import { newResult, type HeadroomStatus } from './result';

/** The middleware, plus handles for tests and graceful shutdown. */
export interface HeadroomMiddleware extends RequestHandler {
  /** Closes the keep-alive pool to the Headroom service. */
  close(): Promise<void>;
  /** Where originals behind retrieval markers are kept: pass it to `headroomRetrieval({ store })`. */
  readonly retrievalStore: RetrievalStore;
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

/** What the pipeline knows about one request's body so far. */
interface Body {
  raw?: RawBody;
  decoded?: Buffer;
  /** What an earlier body parser (express.json) built, when one ran: the bytes are gone. */
  preParsed?: Record<string, unknown>;
  parsed?: Record<string, unknown>;
  /** Whether a parse was attempted (so it is not attempted twice). */
  triedParse: boolean;
  overLimit?: 'depth' | 'values' | 'messages';
}

export function createMiddleware(config: HeadroomConfig): HeadroomMiddleware {
  const { logger, guardrailName } = config;
  const limits = config.shapeLimits;
  const step = createCompressStep(config);
  const record = (req: Request, res: Response, status: HeadroomStatus, reason?: string) =>
    publishResult(config, req, res, newResult(status, guardrailName, step.breakerState(), reason));

  async function enabledForSafe(req: Request): Promise<boolean> {
    if (!config.enabledFor) return false;
    try {
      return (await config.enabledFor(req)) === true;
    } catch (err) {
      logger.warn({ err: (err as Error)?.message }, 'enabledFor threw; treated as not enabled');
      return false;
    }
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

  /** Reads the body into `b`; false when the request was answered or handed on. */
  async function read(req: Request, res: Response, next: NextFunction, bypass: boolean, b: Body): Promise<boolean> {
    const got = await readBody(req, res, config.limit, config.optInFromBody ? config.guardrailNameBytes : undefined);
    if (got.kind === 'answered') return false;
    if (got.kind === 'unreadable') return (void next(), false);
    if (got.kind === 'undecodable') {
      // Refused only where compression is on by the gateway's own choice; otherwise not this
      // middleware's business, and it goes on as sent.
      if (!bypass && (config.defaultOn || (await enabledForSafe(req)))) sendError(req, res, got.error.status, got.error.message, got.error.code.toLowerCase());
      else {
        record(req, res, bypass ? 'bypassed' : 'not_enabled');
        forwardUntouched(req, next, got.raw, undefined);
      }
      return false;
    }
    b.raw = got.raw;
    b.decoded = got.decoded;
    return true;
  }

  /**
   * Parses the read body once. `mustRewrite`: the body asks for compression itself, so it must be
   * parsed (to remove its opt-in): past a limit it is then answered 400/413 (returns false).
   */
  async function parse(req: Request, res: Response, b: Body, mustRewrite: boolean): Promise<boolean> {
    if (b.triedParse) return true;
    b.triedParse = true;
    const parsed = await parseBody(req, res, b.raw!, b.decoded, limits);
    if (parsed.kind === 'answered') return false;
    if (parsed.kind === 'over_limit') {
      if (!mustRewrite) return ((b.overLimit = parsed.exceeded), true);
      const e = limitError(parsed.exceeded, limits);
      sendError(req, res, e.status, e.message, 'request_too_complex');
      return false;
    }
    b.parsed = parsed.body;
    return true;
  }

  /** An earlier parser's body past `maxDepth`: never compressed, its opt-in removed, forwarded if it serialises. */
  function forwardTooDeep(req: Request, res: Response, next: NextFunction, body: Record<string, unknown>, bypass: boolean): void {
    if (config.optInFromBody && bodyOptsIn(body, guardrailName)) stripOptInFields(body);
    record(req, res, bypass ? 'bypassed' : 'skipped', bypass ? undefined : 'over_depth_limit');
    forwardBody(req, res, next, body, limits.maxDepth);
  }

  /** This request's mode; a throwing function counts as audit, the mode that changes nothing. */
  async function modeFor(req: Request): Promise<HeadroomMode> {
    const mode = config.mode;
    if (typeof mode === 'string') return mode;
    try {
      return (await mode(req)) === 'compress' ? 'compress' : 'audit';
    } catch (err) {
      logger.warn({ err: (err as Error)?.message }, 'mode threw; this request is audited');
      return 'audit';
    }
  }

  /** Who owns the originals this request's compression keeps; a throw counts as no owner (any authorised reader). */
  async function ownerFor(req: Request, res: Response): Promise<string> {
    if (!config.retrievalOwner) return ANY_OWNER;
    try {
      const owner = await config.retrievalOwner(req, res);
      return typeof owner === 'string' && owner.length > 0 ? owner.slice(0, 256) : ANY_OWNER;
    } catch (err) {
      logger.warn({ err: (err as Error)?.message }, 'retrievalOwner threw; kept with no owner');
      return ANY_OWNER;
    }
  }

  async function compressAndForward(req: Request, res: Response, next: NextFunction, chat: Record<string, unknown>, b: Body): Promise<void> {
    const stripped = stripOptInFields(chat);
    let outcome: CompressOutcome;
    const journal: TextSlot[] = [];
    const audit = (await modeFor(req)) === 'audit';
    try {
      outcome = await step.run(chat, res, journal, { owner: await ownerFor(req, res), audit });
    } catch (err) {
      // A defect here must not cost the request or corrupt it: put back every text written, go on.
      logger.error({ err: (err as Error)?.message }, 'headroom middleware failed; forwarding uncompressed');
      for (const slot of journal) writeSlot(slot, slot.text);
      const result = newResult('failed', guardrailName, step.breakerState());
      result.error = { code: 'HEADROOM_INTERNAL', message: (err as Error)?.message ?? String(err) };
      outcome = { changed: false, result };
    }
    if (audit) {
      // Recorded as computed; what goes on is what came in.
      for (const slot of journal) writeSlot(slot, slot.text);
      outcome.result.mode = 'audit';
    }
    publishResult(config, req, res, outcome.result);
    // The client is gone: nothing goes upstream.
    if (res.destroyed || outcome.result.error?.code === 'HEADROOM_ABORTED') return;
    if (audit) return stripped || b.preParsed ? forwardBody(req, res, next, chat, limits.maxDepth) : forwardUntouched(req, next, b.raw, undefined);
    if (outcome.result.status === 'failed') {
      logger.warn({ code: outcome.result.error?.code, durationMs: outcome.result.durationMs }, outcome.result.error?.message ?? 'compression failed');
      if (config.unreachableFallback === 'fail_closed') {
        return sendError(req, res, 502, `headroom-compression failed and the gateway is configured fail_closed: ${outcome.result.error?.message}`, 'headroom_compression_failed');
      }
    }
    if (outcome.changed || stripped || b.preParsed) return forwardBody(req, res, next, chat, limits.maxDepth);
    return forwardUntouched(req, next, b.raw, undefined);
  }

  async function handle(req: Request, res: Response, next: NextFunction, bypass: boolean): Promise<void> {
    // 1. What an earlier body parser left, if one ran.
    const b: Body = { triedParse: false };
    if (req.readableEnded) {
      if (typeof req.body !== 'object' || req.body === null) return (warnConsumedOnce(), next()); // nothing we can forward
      // A JSON array (not a chat request) is written back as it was.
      if (!isObject(req.body)) return forwardBody(req, res, next, req.body, limits.maxDepth);
      b.preParsed = b.parsed = req.body;
      b.triedParse = true;
      // What goes on is JSON text, whatever the client's encoding.
      delete req.headers['content-encoding'];
      b.overLimit = measureParsed(b.preParsed, limits).exceeded;
      // Too deep to serialise lazily (in the proxy's socket listener) is found out here, where it can be answered.
      if (b.overLimit === 'depth') return forwardTooDeep(req, res, next, b.preParsed, bypass);
    }

    // 2. Decisions certain from headers alone: the body is never buffered.
    if (!config.optInFromBody && !bypass && !config.defaultOn && !(await enabledForSafe(req))) {
      record(req, res, 'not_enabled');
      return forwardUntouched(req, next, undefined, b.preParsed);
    }
    if (bypass && !config.optInFromBody) {
      record(req, res, 'bypassed');
      return forwardUntouched(req, next, undefined, b.preParsed);
    }

    // 3. Read; parse only when the guardrail name is in the bytes (it may be an opt-in).
    if (!b.preParsed && !(await read(req, res, next, bypass, b))) return;
    const mayOptIn = b.preParsed ? config.optInFromBody : b.raw!.needleSeen;
    if (mayOptIn && !(await parse(req, res, b, true))) return;
    const optedIn = mayOptIn && b.parsed !== undefined && bodyOptsIn(b.parsed, guardrailName);

    // 4. Decide.
    if (bypass) {
      record(req, res, 'bypassed');
      // Bypassed, but the LiteLLM opt-in fields must not reach the provider.
      if (optedIn && stripOptInFields(b.parsed!)) return forwardBody(req, res, next, b.parsed!, limits.maxDepth);
      return forwardUntouched(req, next, b.raw, b.preParsed);
    }
    if (!config.defaultOn && !optedIn && !(await enabledForSafe(req))) {
      record(req, res, 'not_enabled');
      return forwardUntouched(req, next, b.raw, b.preParsed);
    }
    if (!(await parse(req, res, b, false))) return;
    b.decoded = undefined; // let the decoded bytes go now (the replay keeps what it needs)
    if (b.overLimit) {
      // Past a limit and not asking for compression itself: forwarded as sent, never parsed.
      record(req, res, 'skipped', `over_${b.overLimit}_limit`);
      return forwardUntouched(req, next, b.raw, b.preParsed);
    }
    if (!b.parsed || !hasRows(b.parsed)) return forwardUntouched(req, next, b.raw, b.preParsed); // not a chat or Responses request: not ours

    // 5. Compress and forward.
    return compressAndForward(req, res, next, b.parsed, b);
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

  middleware.verifyJson = jsonVerifier(limits);
  (middleware as { retrievalStore: RetrievalStore }).retrievalStore = step.retrievalStore;
  middleware.close = () => step.close();
  middleware.stats = () => step.stats();
  return middleware;
}
