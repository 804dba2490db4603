/**
 * The compress step: for one parsed request, fill history from the memo, send new tool output to the
 * service (bounded by the breaker, `maxInFlight`, `timeoutMs` and the client's presence), write the
 * accepted answers back, remember them, and finish the request's record. The rules of what is sent and
 * what is taken live in `plan.ts`; this module does the I/O around them.
 */
import type { Response } from 'express';
import { CircuitBreaker, type BreakerState } from './breaker';
import { createHttpClient, createInProcessClient, hashesOf, type CompressReply, type ServiceClient } from './client';
import { markerHashes, type RetrievalStore } from './ccr';
import { findRequestSlots, toServiceMessages, writeSlot, type TextSlot } from './codec';
import { attachContext, contextKey } from './context';
import { createOriginalKeeper } from './keep-originals';
import { LruRetrievalStore } from './retrieval-store';
import type { CompressRequest } from './contract';
import { HeadroomServiceError } from './errors';
import { LruMemoStore, TieredMemo, memoKey } from './memo';
import type { HeadroomConfig } from './options';
import { acceptAnswers, planCompression, slotsToSend, type Acceptance, type CompressionPlan } from './plan';
import { newResult, type HeadroomResult } from './result';

export interface CompressOutcome {
  /** Whether any text in the body was rewritten (from the memo or the service). */
  changed: boolean;
  result: HeadroomResult;
}

/** Per request: who owns what its compression keeps, and whether it only audits. */
export interface StepRequest {
  owner: string;
  /** Audit: compute and record, keep no originals (nothing compressed is forwarded). */
  audit: boolean;
}

export interface CompressStep {
  /** Compresses `body`'s rows in place; every slot written is pushed to `journal` first (to undo on a defect or an audit). */
  run(body: Record<string, unknown>, res: Response, journal: TextSlot[], request: StepRequest): Promise<CompressOutcome>;
  /** Where originals behind retrieval markers are kept. */
  readonly retrievalStore: RetrievalStore;
  breakerState(): BreakerState;
  stats(): { breaker: BreakerState; inFlight: number; memoEntries: number };
  close(): Promise<void>;
}

export function createCompressStep(config: HeadroomConfig): CompressStep {
  const { logger } = config;
  const memo = new TieredMemo(new LruMemoStore(config.memo), config.memoStore, config.memoTimeoutMs, logger);
  const client: ServiceClient = config.compressor
    ? createInProcessClient(config.compressor)
    : createHttpClient({ compressUrl: config.compressUrl!, apiKey: config.apiKey, connections: config.maxInFlight });
  const breaker = config.breaker
    ? new CircuitBreaker(config.breaker.failureThreshold, config.breaker.cooldownMs, (from, to, failures) => logger.warn({ from, to, failures }, `headroom circuit breaker ${to}`))
    : undefined;
  const retrievalStore = config.retrievalStore ?? new LruRetrievalStore();
  const keeper = createOriginalKeeper(retrievalStore, config.memoTimeoutMs, logger);
  let inFlight = 0;
  const breakerState = (): BreakerState => (breaker ? breaker.state : 'off');

  function write(slot: TextSlot, text: string, journal: TextSlot[]): void {
    journal.push(slot);
    writeSlot(slot, text);
  }

  /** Ends the record: text sizes measured on the slots themselves, status from what happened. */
  function settle(result: HeadroomResult, slots: TextSlot[], changed: boolean, failure?: HeadroomServiceError): CompressOutcome {
    for (const s of slots) {
      result.charsBefore += s.text.length;
      result.charsAfter += (s.container[s.field] as string).length;
    }
    if (failure) {
      result.status = 'failed';
      result.error = { code: failure.code, message: failure.message };
    } else result.status = changed ? 'compressed' : 'skipped';
    return { changed, result };
  }

  /** Why the service is not called for this plan, if it is not. */
  function gate(plan: CompressionPlan, result: HeadroomResult): HeadroomServiceError | 'skip' | undefined {
    if (plan.sendKeys.length === 0) {
      result.reason = plan.belowMinTokens > 0 ? 'below_min_tokens' : result.memoHits > 0 ? 'memo' : 'nothing_new';
      return 'skip';
    }
    if (breaker && !breaker.tryAcquire()) return new HeadroomServiceError('HEADROOM_CIRCUIT_OPEN', 'Headroom circuit breaker is open after repeated failures; not called');
    if (inFlight >= config.maxInFlight) {
      breaker?.release();
      return new HeadroomServiceError('HEADROOM_OVERLOADED', `more than ${config.maxInFlight} compress calls in flight; forwarded uncompressed`);
    }
    return undefined;
  }

  function serviceRequest(model: string, sent: TextSlot[]): { request: CompressRequest; taken: number[] } {
    const rows = toServiceMessages(sent);
    const request: CompressRequest = {
      model,
      messages: rows.messages,
      // The service protects the newest rows by default; every row sent here is one to compress.
      config: { protect_recent: 0, compress_user_messages: config.compressUserMessages },
    };
    if (config.targetRatio !== undefined) request.config!.target_ratio = config.targetRatio;
    if (config.tokenBudget !== undefined) request.token_budget = config.tokenBudget;
    return { request, taken: rows.taken };
  }

  /** Copies the service's own figures into the record (derived where older versions omit them). */
  function recordReply(result: HeadroomResult, reply: CompressReply, taken: readonly string[]): void {
    const { tokens_before: before, tokens_after: after } = reply;
    const both = before !== undefined && after !== undefined;
    result.tokensBefore = before;
    result.tokensAfter = after;
    result.tokensSaved = reply.tokens_saved ?? (both ? before - after : undefined);
    result.compressionRatio = reply.compression_ratio ?? (both ? (before === 0 ? 1 : after / before) : undefined);
    result.transformsApplied = reply.transforms_applied ?? [];
    result.ccrHashes = hashesOf(reply.ccr_hashes, taken);
  }

  async function call(
    plan: CompressionPlan,
    model: string,
    res: Response,
    result: HeadroomResult,
    journal: TextSlot[],
    step: StepRequest,
  ): Promise<{ changed: boolean; failure?: HeadroomServiceError }> {
    const sent = slotsToSend(plan);
    const { request, taken } = serviceRequest(model, sent);
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);
    inFlight++;
    result.partsSent = sent.length;
    result.startedAt = Date.now();
    const t0 = performance.now();
    try {
      const reply = await client.compress({ body: request, signal: abort.signal, timeoutMs: config.timeoutMs });
      breaker?.success();
      const answers = acceptAnswers(
        sent,
        reply.messages,
        request.messages.map((m) => m.role),
        taken,
      );
      const refused = step.audit ? 0 : await keepOriginals(sent, answers, step.owner);
      let changed = false;
      answers.forEach((a, j) => {
        if (a.rejected) result.partsRejected++;
        if (a.text === sent[j].text) return;
        result.partsCompressed++;
        changed = true;
        for (const s of plan.groups.get(plan.sendKeys[j])!) write(s, a.text, journal);
      });
      // Remembered even when unchanged, so a repeat costs no call and later turns forward the same bytes.
      await memo.setMany(plan.sendKeys.map((k, j) => [k, answers[j].text]));
      const takenTexts = answers.filter((a, j) => a.text !== sent[j].text).map((a) => a.text);
      recordReply(result, reply, takenTexts);
      if (!step.audit) await keepReportedOnly(result.ccrHashes, sent, answers, step.owner);
      if (!changed) result.reason = refused > 0 ? 'retrieval_store_unavailable' : 'service_returned_unchanged';
      return { changed };
    } catch (err) {
      const e = err instanceof HeadroomServiceError ? err : new HeadroomServiceError('HEADROOM_INTERNAL', `unexpected: ${(err as Error)?.message ?? err}`);
      if (e.code === 'HEADROOM_ABORTED') breaker?.release();
      else breaker?.failure();
      // Undo nothing: on failure no slot the service was asked about was written.
      return { changed: false, failure: e };
    } finally {
      inFlight--;
      res.off('close', onClose);
      result.endedAt = Date.now();
      result.durationMs = Math.round((performance.now() - t0) * 100) / 100;
    }
  }

  /** Keeps the originals behind the answers' markers; an answer whose original could not be kept is refused. */
  async function keepOriginals(sent: TextSlot[], answers: Acceptance[], owner: string): Promise<number> {
    let refused = 0;
    await Promise.all(
      answers.map(async (a, j) => {
        if (a.text === sent[j].text || (await keeper.keep(sent[j], a.text, owner))) return;
        answers[j] = { text: sent[j].text, rejected: true }; // counted in partsRejected with the others
        refused++;
      }),
    );
    return refused;
  }

  /** Hashes the service reported but wrote into none of the texts taken: kept over the outputs it compressed. */
  async function keepReportedOnly(hashes: string[], sent: TextSlot[], answers: Acceptance[], owner: string): Promise<void> {
    if (hashes.length === 0) return; // the usual case: nothing to scan
    // Not the hashes written into a text (kept with their own output), nor those the outputs printed themselves.
    const written = new Set([...answers.flatMap((a) => markerHashes(a.text)), ...sent.flatMap((s) => markerHashes(s.text))]);
    const compressed = sent.filter((s, j) => answers[j].text !== s.text);
    await keeper.keepReported(
      hashes.filter((h) => !written.has(h)),
      compressed,
      owner,
    );
  }

  /**
   * Slots filled from the memo: their markers' originals are kept for this owner too (the memo is
   * shared by all callers), and kept again now and then while the conversation goes on (refresh).
   */
  async function keepForMemoHits(plan: CompressionPlan, owner: string): Promise<void> {
    await Promise.all(plan.fromMemo.map(([slot, value]) => keeper.refresh(slot, value, owner)));
  }

  return {
    retrievalStore,
    async run(body, res, journal, step) {
      const result = newResult('skipped', config.guardrailName, breakerState());
      if (step.audit) result.mode = 'audit';
      const slots = attachContext(body, findRequestSlots(body, config.compressUserMessages));
      if (slots.length === 0) {
        result.reason = 'nothing_compressible';
        return { changed: false, result };
      }
      const model = config.model ?? (typeof body.model === 'string' ? body.model : '');
      const keys = slots.map((s) => memoKey(s.kind, model, config.fingerprint, s.text, contextKey(s.context)));
      const plan = planCompression(slots, keys, await memo.getMany(keys), config.minTokens);
      result.memoHits = plan.memoHits;
      result.estimatedTokens = plan.estimatedTokens;
      if (!step.audit) await keepForMemoHits(plan, step.owner);
      for (const [slot, value] of plan.fromMemo) write(slot, value, journal);
      const changed = plan.fromMemo.length > 0;
      const gated = gate(plan, result);
      if (gated === 'skip') return settle(result, slots, changed);
      if (gated) return settle(result, slots, changed, gated);
      const called = await call(plan, model, res, result, journal, step);
      result.breaker = breakerState();
      return settle(result, slots, changed || called.changed, called.failure);
    },
    breakerState,
    stats: () => ({ breaker: breakerState(), inFlight, memoEntries: memo.local.size }),
    close: () => client.close(),
  };
}
