/**
 * Getting a /v1 request to its provider: `route` picks the provider (or answers 404) at the start
 * of the chain, `forward` hands the request to that provider's http-proxy-middleware instance at
 * the end. The hooks put the provider's key on the outgoing request, take the client's credentials
 * and the bypass header off it, write the parsed (possibly compressed) body, and note the upstream
 * times for the spend log. (`Expect` is dropped earlier, in `begin`: see request-state.ts for why.)
 */
import http, { type ClientRequest } from 'node:http';
import https from 'node:https';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'express-headroom';
import { createProxyMiddleware, fixRequestBody, type Options } from 'http-proxy-middleware';
import { providerError } from './errors';
import { MAX_ECHO_CHARS, clip } from './limits';
import { isObject, requestState, stateOf } from './request-state';
import { pathOf, resolveRoute, stripControlFields, SUPPORTED_ROUTES, type Provider } from './routing';
import type { GatewayConfig } from './types';

type ProxyHooks = NonNullable<Options<Request, Response>['on']>;

export interface Upstreams {
  /** The last /v1 step. */
  forward: RequestHandler;
  /** Ends the keep-alive connections (the gateway's close). */
  close(): void;
}

/** Which provider the request goes to; a path the gateway does not forward is a 404, not a proxy call. */
export function route(req: Request, res: Response, next: NextFunction): void {
  const r = resolveRoute(req.method, req.originalUrl, req.headers);
  if (!r) {
    // The path is the client's: quoted back capped.
    const path = clip(pathOf(req.originalUrl), MAX_ECHO_CHARS);
    return providerError(req, res, 404, 'route_not_found', `${req.method} ${path} is not forwarded by this gateway. It forwards: ${SUPPORTED_ROUTES.join(', ')}`);
  }
  requestState(res).route = r;
  next();
}

export function createUpstreams(config: GatewayConfig, logger: Logger): Upstreams {
  // One keep-alive pool per gateway, destroyed on close (the global agent would outlive it).
  const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
  const proxyFor = (provider: Provider, target: string, apiKey: string | undefined) =>
    createProxyMiddleware<Request, Response>({
      target,
      changeOrigin: true,
      agent: target.startsWith('https:') ? agents.https : agents.http,
      on: hooks(provider, apiKey, logger),
    });
  const proxies: Record<Provider, ReturnType<typeof proxyFor>> = {
    anthropic: proxyFor('anthropic', config.anthropicUpstream ?? 'https://api.anthropic.com', config.anthropicApiKey),
    openai: proxyFor('openai', config.openaiUpstream ?? 'https://api.openai.com', config.openaiApiKey),
  };
  return {
    forward(req, res, next) {
      // The middleware has read it by now; http-proxy copies req.headers, so deleting it here keeps it
      // from the upstream even if the proxyReq hook (which removes it too) were ever skipped.
      delete req.headers['x-headroom-bypass'];
      void proxies[requestState(res).route!.provider](req, res, next);
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

function hooks(provider: Provider, apiKey: string | undefined, logger: Logger): ProxyHooks {
  return {
    proxyReq: (proxyReq, req) => {
      const st = stateOf(req);
      setCredentials(proxyReq, provider, apiKey);
      // express.json consumed the stream: write the (possibly compressed) body from req.body.
      if (isObject(req.body)) stripControlFields(req.body);
      fixRequestBody(proxyReq, req);
      if (st) {
        const len = proxyReq.getHeader('content-length');
        st.forwardedBytes = len === undefined ? null : Number(len);
        st.upstreamStartedAt = Date.now();
      }
    },
    proxyRes: (proxyRes, req) => {
      const st = stateOf(req);
      if (!st) return;
      st.upstreamFirstByteAt = Date.now();
      st.upstreamStatus = proxyRes.statusCode ?? null;
      proxyRes.once('end', () => (st.upstreamEndedAt = Date.now()));
    },
    error: (err, req, res) => {
      const st = stateOf(req);
      const reason = (err as NodeJS.ErrnoException).code ?? err.message;
      logger.warn({ err: reason, provider, request_id: st?.id }, 'upstream call failed');
      // A WebSocket upgrade has a socket, not a response: nothing to answer on.
      if (!('writeHead' in res)) return void res.destroy();
      if (st?.upstreamStartedAt && !st.upstreamEndedAt) st.upstreamEndedAt = Date.now();
      providerError(req, res, 502, 'upstream_unreachable', `the ${provider} upstream could not be reached: ${reason}`, 'upstream_unreachable');
    },
  };
}

/**
 * The client's credentials off (http-proxy copies the incoming headers), the platform's on. The
 * bypass header is the gateway's own: the provider has no use for it.
 */
function setCredentials(proxyReq: ClientRequest, provider: Provider, apiKey: string | undefined): void {
  proxyReq.removeHeader('authorization');
  proxyReq.removeHeader('x-api-key');
  proxyReq.removeHeader('x-headroom-bypass');
  if (provider === 'anthropic') {
    if (apiKey) proxyReq.setHeader('x-api-key', apiKey);
    // Anthropic's API refuses requests without it; a client that left it out gets a fixed one.
    if (proxyReq.getHeader('anthropic-version') === undefined) proxyReq.setHeader('anthropic-version', '2023-06-01');
  } else if (apiKey) {
    proxyReq.setHeader('authorization', `Bearer ${apiKey}`);
  }
}
