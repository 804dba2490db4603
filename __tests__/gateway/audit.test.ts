/**
 * Audit mode per virtual key (`metadata.headroom_mode: 'audit'`): the middleware computes what it
 * would save and records it, and the upstream gets the original bytes. The spend log, /metrics and
 * the admin UI say the request was audited and what it would have saved; tokens_saved stays null.
 */
import { contentHash } from 'express-headroom';
import { MASTER_KEY, post, startGatewayStack, type GatewayStack } from './helpers';
import { markerHash, orders, ordersExport, ordersTurn, toolResultText } from './retrieval-helpers';

const master = { authorization: `Bearer ${MASTER_KEY}` };
const COMPRESSING = { guardrails: ['headroom-compression'] };

let stack: GatewayStack;
beforeAll(async () => {
  stack = await startGatewayStack({ compression: 'embedded' });
});
afterAll(async () => stack?.close());

async function send(key: string, body: object) {
  const before = stack.upstream.requests.length;
  const r = await post(`${stack.url}/v1/messages`, body, { authorization: `Bearer ${key}` });
  expect(r.status).toBe(200);
  await stack.flushSpend();
  return { upstream: stack.upstream.requests[before], row: await stack.spendRow(r.headers.get('x-litellm-call-id')!) };
}

test('headroom_mode is validated on generate and update: "compress" or "audit"', async () => {
  const bad = await post(`${stack.url}/key/generate`, { ...COMPRESSING, metadata: { headroom_mode: 'shadow' } }, master);
  expect(bad.status).toBe(400);
  expect(bad.json.error.message).toMatch(/metadata\.headroom_mode.*"compress" or "audit"/);
  const { token } = await stack.generateKey({ ...COMPRESSING, metadata: { headroom_mode: 'compress', team: 'x' } });
  expect((await post(`${stack.url}/key/update`, { key: token, metadata: { headroom_mode: 1 } }, master)).status).toBe(400);
  expect((await post(`${stack.url}/key/update`, { key: token, metadata: { headroom_mode: 'audit' } }, master)).json.metadata).toEqual({ headroom_mode: 'audit' });
});

test('an audited request: the original bytes upstream, the would-be saving in the spend log, /metrics and the UI', async () => {
  const { key } = await stack.generateKey({ key_alias: 'audit-team', ...COMPRESSING, metadata: { headroom_mode: 'audit' } });
  const original = ordersExport(orders(240));
  const body = ordersTurn(original);
  const { upstream, row } = await send(key, body);

  expect(upstream.raw.toString('utf8')).toBe(JSON.stringify(body));
  expect(markerHash(toolResultText(upstream))).toBeUndefined();
  // Nothing compressed went upstream, so no original is kept behind a marker.
  expect(await stack.gateway.headroom.retrievalStore.get(contentHash(original))).toBeUndefined();

  expect(row).toMatchObject({ headroom_status: 'audited', tokens_saved: null, headroom: { mode: 'audit', status: 'compressed' } });
  const wouldSave = row.tokens_before! - row.tokens_after!;
  expect(wouldSave).toBeGreaterThan(1000);
  expect(row.headroom!.tokensSaved).toBe(wouldSave);
  const logs = (await (await fetch(`${stack.url}/spend/logs?key_alias=audit-team`, { headers: master })).json()) as Array<Record<string, unknown>>;
  expect(logs[0]).toMatchObject({ request_id: row.request_id, headroom_status: 'audited', tokens_saved: null });

  const metrics = await (await fetch(`${stack.url}/metrics`)).text();
  expect(metrics).toContain(`headroom_tokens_audited_total{provider="anthropic",key_alias="audit-team"} ${wouldSave}`);
  expect(metrics).not.toMatch(/headroom_tokens_saved_total\{[^}]*key_alias="audit-team"\}/);

  const list = await (await fetch(`${stack.url}/ui?status=audited`, { headers: master })).text();
  expect(list).toContain(`data-request-id="${row.request_id}"`);
  expect(list).toContain('<span class="badge b-audited">audited</span>');
  expect(list).toContain(`would save ${wouldSave.toLocaleString('en-US')}`);
  expect(list).toMatch(/<span data-total="would-save">[\d,]+<\/span> more in audit mode/);
  const detail = await (await fetch(`${stack.url}/ui/requests/${row.request_id}`, { headers: master })).text();
  expect(detail).toMatch(/data-field="mode"><b>audit<\/b> <span class="muted">computed and recorded; the original bytes were forwarded/);
  expect(detail).toContain('Tokens it would save');
  expect(detail).toContain('audited: would compress');
});

test('the same key switched to compress by /key/update: its next request is compressed (read per request)', async () => {
  const { key, token } = await stack.generateKey({ key_alias: 'switching', ...COMPRESSING, metadata: { headroom_mode: 'audit' } });
  const audited = await send(key, ordersTurn(ordersExport(orders(250))));
  expect(audited.row.headroom_status).toBe('audited');
  expect((await post(`${stack.url}/key/update`, { key: token, metadata: { headroom_mode: 'compress' } }, master)).status).toBe(200);
  const original = ordersExport(orders(260));
  const compressed = await send(key, ordersTurn(original));
  expect(compressed.row).toMatchObject({ headroom_status: 'compressed', headroom: { mode: 'compress' } });
  expect(compressed.row.tokens_saved).toBeGreaterThan(1000);
  expect(markerHash(toolResultText(compressed.upstream))).toBe(contentHash(original));
});
