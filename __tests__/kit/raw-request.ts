/**
 * A raw HTTP client for framing tests: exact bytes, `Expect: 100-continue` handled as curl does (body
 * sent only on `100 Continue`), Content-Length or chunked, and a deadline so a hang fails the test
 * instead of hanging jest.
 */
import http from 'node:http';

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Send the body chunked (no Content-Length), in pieces of this many bytes. */
  chunked?: number;
  /** Send `Expect: 100-continue` and wait for `100 Continue` before the body. */
  expectContinue?: boolean;
  /** Fail after this long without a complete response. Default 10 s. */
  deadlineMs?: number;
}

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json?: any;
  /** Whether the server answered `100 Continue`. */
  continued: boolean;
}

export function rawRequest(baseUrl: string, r: RawRequest): Promise<RawReply> {
  const u = new URL(baseUrl);
  const body = r.body ?? Buffer.alloc(0);
  const headers: Record<string, string> = { ...(r.headers ?? {}) };
  if (r.chunked) headers['transfer-encoding'] = 'chunked';
  else if (r.body) headers['content-length'] = String(body.length);
  if (r.expectContinue) headers.expect = '100-continue';
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = http.request({ host: u.hostname, port: u.port, path: r.path, method: r.method ?? 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode!, headers: res.headers, text, json, continued });
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no complete response to ${r.method ?? 'POST'} ${r.path} within ${r.deadlineMs ?? 10_000} ms`));
    }, r.deadlineMs ?? 10_000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    const sendBody = () => {
      if (r.chunked) {
        for (let off = 0; off < body.length; off += r.chunked) req.write(body.subarray(off, off + r.chunked));
        req.end();
      } else req.end(body);
    };
    if (r.expectContinue) {
      req.on('continue', () => {
        continued = true;
        sendBody();
      });
      req.flushHeaders();
    } else sendBody();
  });
}
