/**
 * The embedded compressor: a `/v1/compress` request in, the contract's response out.
 *
 * Which text may change: the content of `role: "tool"` (and legacy `function`) rows, and the
 * `tool_result` blocks inside user rows; user text too when `config.compress_user_messages` is true.
 * System, developer and assistant rows, the newest `config.protect_recent` rows, images and every
 * block type other than text are never touched. A row that changes is a shallow copy with a new
 * `content`; every other field, and every row that does not change, is the object that was sent.
 *
 * Each tool output is compressed with its context (context.ts): the latest human request before it
 * and the call that produced it, read from the rows before it, whether or not those rows may change.
 * The output of a retrieval tool (`headroom_retrieve`) is an original the model asked for and is left
 * alone: compressing it again would send the model back for it. `ccr_hashes` lists the retrieval
 * hashes written, once each.
 */
import { isRetrievalToolName } from '../ccr';
import type { CompressRequest, CompressResponse, ContractMessage } from '../contract';
import { ContextTracker, ToolOutputContext } from './context';
import { CompressorError, compressionTimeout } from './errors';
import { compressText } from './transform';
import { TokenCounter, countTokensCached, tokenCounterFor } from './tokens';
import { validateCompressRequest } from './validate';

export interface CompressOptions {
  /** Aborting it stops the work between two texts with a compression_timeout error. */
  signal?: AbortSignal;
  /**
   * A time limit checked between texts (a synchronous call cannot be interrupted from outside, so
   * the server passes its limit here as well as a signal). Exceeding it throws compression_timeout.
   */
  timeLimitMs?: number;
}

/**
 * Per-message framing tokens (role markers, separators), as OpenAI's own counting recipe adds
 * them for chat models. A constant per row, so it does not move the saving.
 */
const TOKENS_PER_MESSAGE = 3;

interface Tally {
  counter: TokenCounter;
  targetRatio: number | undefined;
  tokensBefore: number;
  tokensSaved: number;
  applied: string[];
  summary: Record<string, number>;
  /** Retrieval hashes written into compressed texts, in first-written order. */
  hashes: Set<string>;
  /** Questions and tool calls seen so far: the context of the next tool output. */
  tracker: ContextTracker;
  checkDeadline: () => void;
}

/** Counts a text and, when it may change, compresses it. Returns the text to send. */
function handleText(text: string, compressible: boolean, tally: Tally, context?: ToolOutputContext): string {
  if (!compressible || isRetrievalToolName(context?.toolName)) {
    tally.tokensBefore += countTokensCached(tally.counter, text);
    return text;
  }
  tally.checkDeadline();
  const { tokensBefore, result } = compressText(text, { counter: tally.counter, targetRatio: tally.targetRatio, context });
  tally.tokensBefore += tokensBefore;
  if (result === null) return text;
  tally.tokensSaved += tokensBefore - result.tokensAfter;
  tally.applied.push(`${result.transform}:${(result.tokensAfter / tokensBefore).toFixed(2)}`);
  tally.summary[result.transform] = (tally.summary[result.transform] ?? 0) + 1;
  if (result.ccrHash !== undefined) tally.hashes.add(result.ccrHash);
  return result.text;
}

type Block = Record<string, unknown>;

function isBlock(value: unknown): value is Block {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Block types whose payload is not text a model reads as tokens (binary, opaque signatures). */
const UNCOUNTED_BLOCKS = new Set(['image', 'image_url', 'input_image', 'document', 'file', 'input_audio', 'redacted_thinking']);

/**
 * Walks a content array. `textCompressible` says whether `{type:"text"}` parts may change;
 * `toolResultsCompressible` whether `tool_result` blocks may. Returns the same array when nothing changed.
 */
function handleParts(parts: readonly unknown[], textCompressible: boolean, toolResultsCompressible: boolean, tally: Tally, context?: ToolOutputContext): unknown[] {
  let changed: unknown[] | null = null;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const replacement = handlePart(part, textCompressible, toolResultsCompressible, tally, context);
    if (replacement !== part) {
      changed ??= parts.slice();
      changed[i] = replacement;
    }
  }
  return changed ?? (parts as unknown[]);
}

/** `context`: the context of the row's own text parts (a tool row's); a tool_result block finds its own. */
function handlePart(part: unknown, textCompressible: boolean, toolResultsCompressible: boolean, tally: Tally, context?: ToolOutputContext): unknown {
  if (typeof part === 'string') {
    const text = handleText(part, textCompressible, tally, context);
    return text === part ? part : text;
  }
  if (!isBlock(part)) return part;
  const type = part.type;
  if (type === 'text' && typeof part.text === 'string') {
    const text = handleText(part.text, textCompressible, tally, context);
    return text === part.text ? part : { ...part, text };
  }
  if (type === 'tool_result') {
    const content = part.content;
    const resultContext = tally.tracker.contextFor(part.tool_use_id);
    if (typeof content === 'string') {
      const text = handleText(content, toolResultsCompressible, tally, resultContext);
      return text === content ? part : { ...part, content: text };
    }
    if (Array.isArray(content)) {
      // Inside a tool result, text blocks are tool output: they follow the tool-result rule.
      const next = handleParts(content, toolResultsCompressible, toolResultsCompressible, tally, resultContext);
      return next === content ? part : { ...part, content: next };
    }
    return part;
  }
  // Everything else is only counted.
  if (type === 'thinking' && typeof part.thinking === 'string') tally.tokensBefore += countTokensCached(tally.counter, part.thinking);
  else if (type === 'tool_use') tally.tokensBefore += countTokensCached(tally.counter, `${String(part.name)}${JSON.stringify(part.input ?? {})}`);
  else if (typeof type !== 'string' || !UNCOUNTED_BLOCKS.has(type)) tally.tokensBefore += countTokensCached(tally.counter, JSON.stringify(part));
  return part;
}

function handleMessage(message: ContractMessage, mayChange: boolean, compressUserText: boolean, tally: Tally): ContractMessage {
  tally.tokensBefore += TOKENS_PER_MESSAGE + tally.counter.count(message.role);
  for (const key of Object.keys(message)) {
    // Fields besides role and content (tool_calls, name, tool_call_id) are sent to the model too.
    if (key !== 'role' && key !== 'content' && message[key] !== undefined) {
      tally.tokensBefore += countTokensCached(tally.counter, JSON.stringify(message[key]));
    }
  }
  const role = message.role;
  const isToolRow = role === 'tool' || role === 'function';
  const isUserRow = role === 'user';
  const textCompressible = mayChange && (isToolRow || (isUserRow && compressUserText));
  const toolResultsCompressible = mayChange && (isUserRow || isToolRow);
  // A user row's own text (compress_user_messages) is not a tool output: it has no context.
  const context = isToolRow ? tally.tracker.contextFor(message.tool_call_id, role === 'function' ? message.name : undefined) : undefined;
  const content = message.content;
  let next: unknown = content;
  if (typeof content === 'string') next = handleText(content, textCompressible, tally, context);
  else if (Array.isArray(content)) next = handleParts(content, textCompressible, toolResultsCompressible, tally, context);
  return next === content ? message : { ...message, content: next };
}

function roundRatio(ratio: number): number {
  return Math.round(ratio * 10_000) / 10_000;
}

/** Compresses a request. Synchronous; satisfies the contract's CompressFunction. */
export function compress(request: CompressRequest, options: CompressOptions = {}): CompressResponse {
  const { messages, model, config } = validateCompressRequest(request);
  const deadline = options.timeLimitMs === undefined ? Infinity : performance.now() + options.timeLimitMs;
  const checkDeadline = () => {
    if (options.signal?.aborted === true || performance.now() >= deadline) throw compressionTimeout();
  };
  checkDeadline();

  const protectRecent = config?.protect_recent ?? 0;
  const firstProtected = Math.max(0, messages.length - protectRecent);
  const compressUserText = config?.compress_user_messages === true;
  const tally: Tally = {
    counter: tokenCounterFor(model),
    targetRatio: config?.target_ratio ?? undefined,
    tokensBefore: 0,
    tokensSaved: 0,
    applied: [],
    summary: {},
    hashes: new Set(),
    tracker: new ContextTracker(),
    checkDeadline,
  };

  let out: ContractMessage[];
  try {
    out = messages.map((message, index) => {
      const next = handleMessage(message, index < firstProtected, compressUserText, tally);
      // After the row's own tool outputs: its text is a request for what comes next.
      tally.tracker.observe(message);
      return next;
    });
  } catch (error) {
    if (error instanceof CompressorError) throw error;
    // A bug must not surface as a 500 with a stack: it is the service's compression_error.
    // Only the error's class is reported: its message could quote message content.
    const kind = error instanceof Error ? error.name : typeof error;
    throw new CompressorError(503, 'compression_error', `compression failed (${kind})`);
  }

  const tokensAfter = tally.tokensBefore - tally.tokensSaved;
  const response: CompressResponse = {
    messages: out,
    tokens_before: tally.tokensBefore,
    tokens_after: tokensAfter,
    tokens_saved: tally.tokensSaved,
    compression_ratio: tally.tokensBefore === 0 ? 1 : roundRatio(tokensAfter / tally.tokensBefore),
    transforms_applied: tally.applied,
  };
  // The service leaves the summary out on its empty path.
  if (messages.length > 0) {
    response.transforms_summary = tally.summary;
    response.ccr_hashes = [...tally.hashes];
  }
  return response;
}
