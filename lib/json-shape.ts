/**
 * The shape of a JSON body, read from its bytes before anything parses it: how deep it nests, how
 * many values it holds, and how many rows its top-level `messages` array has.
 *
 * Why: `JSON.parse` and `JSON.stringify` are single synchronous calls. A 20 KB body nested 10,000
 * levels deep parses fine and then overflows the stack in `JSON.stringify`; a 55 MB body of a million
 * tiny messages parses for most of a second, and everything after it (slots, memo keys) costs per
 * row. Measuring the bytes first lets the middleware refuse to parse what it could not handle in
 * bounded time, and forward it untouched instead.
 *
 * The scan is a byte state machine that skips string contents with `Buffer.indexOf` (tool output
 * is mostly long strings), resumable across chunks, and it stops counting once a limit is passed.
 * It does not validate JSON: `JSON.parse` still does that, on bodies that passed.
 */

/** Bounds past which a body is not parsed. */
export interface ShapeLimits {
  maxDepth: number;
  maxJsonValues: number;
  maxMessages: number;
}

export interface JsonShape {
  /** Deepest nesting of arrays and objects seen (1 for `{}`), up to the first limit passed. */
  depth: number;
  /** Containers plus separators: about the number of values `JSON.parse` would build. */
  values: number;
  /** Rows of the top-level `messages` array, or of a Responses `input` array (0 when there is none). */
  messages: number;
  /** The first limit passed, if any: the scan stopped there. */
  exceeded?: 'depth' | 'values' | 'messages';
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MESSAGES = Buffer.from('messages');
/** The Responses API's rows: its `input` array of items. */
const INPUT = Buffer.from('input');

export class JsonShapeScanner {
  readonly shape: JsonShape = { depth: 0, values: 0, messages: 0 };
  private depth = 0;
  private inString = false;
  /** Inside a string, the previous chunk ended on an unpaired backslash. */
  private escapePending = false;
  /** At depth 1 the next string is a key (after `{` or `,`), not a value (after `:`). */
  private expectKey = false;
  /** The current depth-1 key string is being captured (only its first bytes matter). */
  private capturingKey = false;
  private keyBytes: number[] = [];
  private lastKeyIsMessages = false;
  /** Inside the top-level `messages` array (depth 2 is its rows). */
  private inMessages = false;
  /** In `messages`, after `[` or `,`: the next value at depth 2 starts a row. */
  private rowPending = false;

  constructor(private readonly limits: ShapeLimits) {}

  /** Scans one more chunk. Returns false once a limit is exceeded (further chunks are ignored). */
  push(chunk: Buffer): boolean {
    if (this.shape.exceeded) return false;
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.inString) {
        i = this.skipString(chunk, i);
        continue;
      }
      const c = chunk[i++];
      if (c === QUOTE) {
        this.inString = true;
        if (this.depth === 1 && this.expectKey) {
          this.capturingKey = true;
          this.keyBytes.length = 0;
        }
        if (this.startsRow()) return false;
      } else if (c === 0x7b || c === 0x5b) {
        // { or [
        this.openContainer(c === 0x7b);
        if (this.shape.exceeded) return false;
      } else if (c === 0x7d || c === 0x5d) {
        // } or ]
        if (this.inMessages && this.depth === 2) this.inMessages = false;
        if (this.depth > 0) this.depth--;
      } else if (c === 0x2c) {
        // ,
        this.shape.values++;
        if (this.depth === 1) this.expectKey = true;
        else if (this.inMessages && this.depth === 2) this.rowPending = true;
        if (this.overLimits()) return false;
      } else if (c === 0x3a) {
        // :
        if (this.depth === 1) this.expectKey = false;
      } else if (c > 0x20 && this.startsRow()) {
        return false; // a number, true, false or null as a row
      }
    }
    return true;
  }

  /** The shape after the last chunk. */
  finish(): JsonShape {
    return this.shape;
  }

  /** A value starts at the current position: counts a row of `messages` when one is due. Returns whether a limit was passed. */
  private startsRow(): boolean {
    if (!this.rowPending || !this.inMessages || this.depth !== 2) return false;
    this.rowPending = false;
    if (++this.shape.messages > this.limits.maxMessages) this.shape.exceeded = 'messages';
    return this.shape.exceeded !== undefined;
  }

  private openContainer(isObject: boolean): void {
    const opening = this.depth;
    if (this.startsRow()) return;
    // The top-level `messages` array: its rows are the values that start at depth 2.
    if (!isObject && opening === 1 && !this.expectKey && this.lastKeyIsMessages) {
      this.inMessages = true;
      this.rowPending = true;
    }
    this.depth++;
    this.shape.values++;
    if (this.depth > this.shape.depth) this.shape.depth = this.depth;
    if (this.depth === 1) this.expectKey = isObject;
    else if (opening === 1) this.lastKeyIsMessages = false;
    if (this.depth > this.limits.maxDepth) this.shape.exceeded = 'depth';
    else this.overLimits();
  }

  private overLimits(): boolean {
    if (this.shape.values > this.limits.maxJsonValues) this.shape.exceeded = 'values';
    return this.shape.exceeded !== undefined;
  }

  /** From inside a string at `i`: returns the index after its closing quote, or the chunk's end. */
  private skipString(chunk: Buffer, i: number): number {
    let from = i;
    if (this.escapePending) {
      this.escapePending = false;
      if (from >= chunk.length) return from;
      this.captureKey(chunk, from, from + 1);
      from++;
    }
    for (;;) {
      const q = chunk.indexOf(QUOTE, from);
      if (q === -1) {
        // The string goes on in the next chunk; note a trailing unpaired backslash.
        this.escapePending = trailingBackslashes(chunk, from, chunk.length) % 2 === 1;
        this.captureKey(chunk, i, chunk.length);
        return chunk.length;
      }
      if (trailingBackslashes(chunk, from, q) % 2 === 1) {
        from = q + 1; // an escaped quote: still inside the string
        continue;
      }
      this.captureKey(chunk, i, q);
      this.inString = false;
      if (this.capturingKey) {
        this.capturingKey = false;
        const key = Buffer.from(this.keyBytes);
        this.lastKeyIsMessages = key.equals(MESSAGES) || key.equals(INPUT);
      }
      return q + 1;
    }
  }

  /** Keeps the first bytes of a depth-1 key: enough to tell `messages` from anything else. */
  private captureKey(chunk: Buffer, from: number, to: number): void {
    if (!this.capturingKey) return;
    for (let k = from; k < to && this.keyBytes.length <= MESSAGES.length; k++) this.keyBytes.push(chunk[k]);
  }
}

/** Backslashes immediately before `end`, not looking before `start`. */
function trailingBackslashes(chunk: Buffer, start: number, end: number): number {
  let count = 0;
  for (let k = end - 1; k >= start && chunk[k] === BACKSLASH; k--) count++;
  return count;
}

/**
 * Scans chunks, yielding to the event loop every `sliceBytes` so a 64 MB body never holds it for
 * long (each slice costs well under a millisecond per 64 KB, measured in bench/eventloop.ts).
 */
export async function scanJsonShape(chunks: Buffer[], limits: ShapeLimits, sliceBytes = 1 << 20): Promise<JsonShape> {
  const scanner = new JsonShapeScanner(limits);
  let since = 0;
  for (const chunk of chunks) {
    for (let off = 0; off < chunk.length; off += sliceBytes) {
      const part = off === 0 && chunk.length <= sliceBytes ? chunk : chunk.subarray(off, off + sliceBytes);
      if (!scanner.push(part)) return scanner.finish();
      since += part.length;
      if (since >= sliceBytes) {
        since = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }
  return scanner.finish();
}

/**
 * The same measures over an object an earlier body parser built (express.json), walked without
 * recursion so a 100,000-level body cannot overflow the stack here either.
 */
export function measureParsed(root: unknown, limits: ShapeLimits): JsonShape {
  const shape: JsonShape = { depth: 0, values: 0, messages: 0 };
  if (typeof root === 'object' && root !== null) {
    const { messages, input } = root as { messages?: unknown; input?: unknown };
    shape.messages = (Array.isArray(messages) ? messages.length : 0) + (Array.isArray(input) ? input.length : 0);
    if (shape.messages > limits.maxMessages) shape.exceeded = 'messages';
  }
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0 && !shape.exceeded) {
    const [value, depth] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    shape.values++;
    if (depth > shape.depth) shape.depth = depth;
    if (depth > limits.maxDepth) shape.exceeded = 'depth';
    else if (shape.values > limits.maxJsonValues) shape.exceeded = 'values';
    else if (Array.isArray(value)) {
      shape.values += value.length;
      for (const v of value) if (typeof v === 'object' && v !== null) stack.push([v, depth + 1]);
    } else {
      for (const key in value as Record<string, unknown>) {
        shape.values++;
        const v = (value as Record<string, unknown>)[key];
        if (typeof v === 'object' && v !== null) stack.push([v, depth + 1]);
      }
    }
  }
  return shape;
}
