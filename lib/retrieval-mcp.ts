/**
 * The `headroom_retrieve` tool over MCP's Streamable HTTP transport, with the official SDK. Stateless:
 * a fresh server and transport per request (the SDK's documented stateless pattern), so nothing is
 * kept between requests and any instance of a fleet can answer any request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { RETRIEVAL_HASH } from './ccr';
import { HeadroomConfigError } from './errors';
import { lookup, type LookupDeps } from './retrieval-lookup';
import type { RetrievalAccess } from './retrieval-options';
import { MAX_QUERY_LENGTH, MAX_QUERY_TERMS, queryTerms } from './retrieval-query';

type Sdk = typeof import('@modelcontextprotocol/sdk/server/mcp.js') & typeof import('@modelcontextprotocol/sdk/server/streamableHttp.js');

const firstLine = (err: unknown) =>
  String((err as Error)?.message ?? err)
    .split('\n')[0]
    .slice(0, 200);

/**
 * Loads the SDK, once, when a router with `mcp` is created (importing the package does not load it).
 * It is an optional peer dependency: missing, or older than 1.23 (the first to take zod 4 schemas,
 * which the tool's input schema is), the call is told how to fix itself.
 */
export function loadMcpSdk(load: (id: string) => unknown = require): Sdk {
  let sdk: Sdk;
  try {
    sdk = { ...(load('@modelcontextprotocol/sdk/server/mcp.js') as object), ...(load('@modelcontextprotocol/sdk/server/streamableHttp.js') as object) } as Sdk;
  } catch (err) {
    throw new HeadroomConfigError(
      `headroomRetrieval: the MCP endpoint needs @modelcontextprotocol/sdk, which could not be loaded (${firstLine(err)}). ` +
        'Install it (npm install @modelcontextprotocol/sdk), or pass { mcp: false } to serve the REST routes only.',
    );
  }
  try {
    load('@modelcontextprotocol/sdk/server/zod-compat.js');
  } catch {
    throw new HeadroomConfigError(
      'headroomRetrieval: the installed @modelcontextprotocol/sdk is older than 1.23 and cannot read zod 4 schemas. ' +
        'Upgrade it (npm install @modelcontextprotocol/sdk@latest), or pass { mcp: false }.',
    );
  }
  return sdk;
}

export const RETRIEVE_TOOL = 'headroom_retrieve';

const DESCRIPTION =
  'Retrieve the original of tool output that Headroom compressed. Compressed output ends with a marker such as ' +
  '"[200 items compressed to 20. Retrieve more: hash=0123456789abcdef01234567]"; pass that hash. ' +
  'Pass an optional query (words, or "quoted phrases") to get only the rows or lines that contain every term, ' +
  'instead of the whole original.';

const inputSchema = {
  hash: z.string().max(64).describe('The hex hash from a hash= marker in compressed output (12–24 lowercase hex characters).'),
  query: z.string().max(MAX_QUERY_LENGTH).optional().describe('Optional: only rows or lines containing every word or "quoted phrase" of this query (case-insensitive).'),
};

interface ToolResult {
  [key: string]: unknown;
  content: Array<{ type: 'text'; text: string }>;
  isError?: boolean;
}

const text = (t: string, isError = false): ToolResult => (isError ? { content: [{ type: 'text', text: t }], isError } : { content: [{ type: 'text', text: t }] });

/**
 * One call of the tool: the original, the matching items under a one-line count, or an error the model can act on.
 * `signal` is the SDK's for this request: it aborts when the request is cancelled or the connection closes
 * (the handler closes the server when the response closes), and filtering a large original stops there.
 */
async function callTool(deps: LookupDeps, access: RetrievalAccess, hash: string, query: string | undefined, signal?: AbortSignal): Promise<ToolResult> {
  if (!RETRIEVAL_HASH.test(hash)) return text('hash must be 12–24 lowercase hex characters, copied from a hash= marker', true);
  const q = query === undefined || query.trim() === '' ? undefined : query;
  if (q !== undefined && queryTerms(q).length > MAX_QUERY_TERMS) return text(`query has more than ${MAX_QUERY_TERMS} terms; use fewer`, true);
  let found;
  try {
    found = await lookup(deps, hash, access, q, signal);
  } catch (err) {
    // Nobody is waiting for the answer (the SDK drops it): not a store failure.
    if (signal?.aborted) return text('the request was cancelled', true);
    deps.logger.warn({ err: (err as Error)?.message }, 'headroomRetrieval: retrieval store failed (MCP)');
    return text('retrieval store unavailable; try again later', true);
  }
  if (!found) return text('unknown or expired hash', true);
  const f = found.filtered;
  if (!f) return text(found.body.original_content);
  return text(`[${f.matched} of ${f.total} ${f.unit} match ${JSON.stringify(q)}]\n${f.content}`);
}

export type McpHandler = (req: IncomingMessage, res: ServerResponse, body: unknown, access: RetrievalAccess) => Promise<void>;

/** The handler for POST {mcpPath}; `access` is already decided (401 is answered before the transport). */
export function createMcpHandler(deps: LookupDeps, sdk: Sdk): McpHandler {
  return async (req, res, body, access) => {
    const server = new sdk.McpServer({ name: 'express-headroom-retrieval', version: '1.0.0' });
    server.registerTool(
      RETRIEVE_TOOL,
      { description: DESCRIPTION, inputSchema, annotations: { title: 'Retrieve compressed original', readOnlyHint: true, openWorldHint: false } },
      ({ hash, query }, extra) => callTool(deps, access, hash, query, extra.signal),
    );
    // JSON replies, not SSE: one tool call is one answer, and nothing is streamed.
    const transport = new sdk.StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };
}

/** What stateless Streamable HTTP answers to GET (no server-sent stream) and DELETE (no session), as the SDK's examples do. */
export const METHOD_NOT_ALLOWED_RPC = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
export const PARSE_ERROR_RPC = JSON.stringify({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
export const INTERNAL_ERROR_RPC = JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal server error' }, id: null });
