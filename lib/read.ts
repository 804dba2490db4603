/**
 * The first step: read the body, decode it, and parse it only within the shape limits. Decisions
 * (is this request ours?) stay in the middleware; this module says what the bytes are.
 */
import type { Request, Response } from 'express';
import { decodableEncoding, decodeBody, decodeChunks, readRawBody, type RawBody } from './body';
import { isObject } from './decision';
import { HeadroomRequestError } from './errors';
import { JsonShapeScanner, scanJsonShape, type JsonShape, type ShapeLimits } from './json-shape';
import { sendError } from './respond';

export type ReadOutcome =
  /** The body as received (and decoded, for gzip/deflate/br); `raw.needleSeen`: the guardrail name is in it. */
  | { kind: 'body'; raw: RawBody; decoded?: Buffer }
  /** A Content-Encoding it cannot read: the request goes on untouched, never mislabelled. */
  | { kind: 'unreadable' }
  /** Encoded, but not decodable within bounds (corrupt, or a bomb): the caller decides refuse or pass. */
  | { kind: 'undecodable'; raw: RawBody; error: HeadroomRequestError }
  /** Already answered (413, 400) or the client left. */
  | { kind: 'answered' };

export async function readBody(req: Request, res: Response, limit: number, needle: Buffer | undefined): Promise<ReadOutcome> {
  const encoding = decodableEncoding(req.headers['content-encoding'] as string | undefined);
  if (encoding === undefined) return { kind: 'unreadable' };
  let raw: RawBody;
  try {
    // Identity bodies are scanned for the guardrail name, as a JSON string, while they arrive.
    raw = await readRawBody(req, limit, encoding === 'identity' ? needle : undefined);
  } catch (err) {
    const e = err as HeadroomRequestError;
    if (e.code === 'REQUEST_ABORTED') res.destroy();
    else sendError(req, res, e.status ?? 400, e.message, e.code?.toLowerCase());
    return { kind: 'answered' };
  }
  if (encoding === 'identity') return { kind: 'body', raw };
  try {
    const decoded = await decodeBody(raw.chunks, encoding, limit);
    raw.needleSeen = needle !== undefined && decoded.includes(needle);
    return { kind: 'body', raw, decoded };
  } catch (err) {
    return { kind: 'undecodable', raw, error: err as HeadroomRequestError };
  }
}

export type ParseOutcome =
  /** Parsed; `body` undefined when the JSON is not an object (not a request the middleware handles). */
  | { kind: 'parsed'; body?: Record<string, unknown> }
  /** Past a shape limit: never parsed. */
  | { kind: 'over_limit'; exceeded: NonNullable<JsonShape['exceeded']> }
  /** Not JSON: answered 400. */
  | { kind: 'answered' };

/** Measures the bytes (yielding every 1 MB), then parses them if they are within `limits`. */
export async function parseBody(req: Request, res: Response, raw: RawBody, decoded: Buffer | undefined, limits: ShapeLimits): Promise<ParseOutcome> {
  const shape = await scanJsonShape(decoded ? [decoded] : raw.chunks, limits);
  if (shape.exceeded) return { kind: 'over_limit', exceeded: shape.exceeded };
  try {
    const value = JSON.parse(decoded ? decoded.toString('utf8') : decodeChunks(raw));
    return { kind: 'parsed', body: isObject(value) ? value : undefined };
  } catch (err) {
    sendError(req, res, 400, `request body is not valid JSON: ${(err as Error).message.slice(0, 200)}`, 'invalid_json');
    return { kind: 'answered' };
  }
}

/** The status and message for a body past a shape limit, naming the option that sets it. */
export function limitError(exceeded: NonNullable<JsonShape['exceeded']>, limits: ShapeLimits): HeadroomRequestError {
  if (exceeded === 'depth') return new HeadroomRequestError('REQUEST_TOO_COMPLEX', 400, `request body nests deeper than ${limits.maxDepth} levels (headroomCompression maxDepth)`);
  if (exceeded === 'messages')
    return new HeadroomRequestError('REQUEST_TOO_COMPLEX', 413, `request has more than ${limits.maxMessages} messages (headroomCompression maxMessages)`);
  return new HeadroomRequestError('REQUEST_TOO_COMPLEX', 413, `request body holds more than ${limits.maxJsonValues} JSON values (headroomCompression maxJsonValues)`);
}

/** `verify` for a body parser in front: the same limits before its `JSON.parse`. */
export function jsonVerifier(limits: ShapeLimits): (req: unknown, res: unknown, buf: Buffer) => void {
  return (_req, _res, buf) => {
    const scanner = new JsonShapeScanner(limits);
    scanner.push(buf);
    const { exceeded } = scanner.finish();
    if (exceeded) throw limitError(exceeded, limits);
  };
}
