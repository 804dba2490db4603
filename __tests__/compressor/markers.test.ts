/**
 * Reversible compression: every tool output the compressor leaves something out of carries one
 * Headroom retrieval marker, `hash=` the content hash of the text as it was sent; outputs it leaves
 * whole carry none. The response lists the hashes written.
 */
import { contentHash, markerHashes } from '../../lib/ccr';
import type { ContractMessage } from '../../lib/contract';
import { compress } from '../../lib/compressor';
import { checkRetention } from '../../lib/compressor/retention';
import { generated, sharedToolOutputs } from './fixtures';

const shared = sharedToolOutputs();

function compressTool(content: string, config: Record<string, unknown> = {}) {
  const messages: ContractMessage[] = [{ role: 'tool', tool_call_id: 'call_1', content }];
  const response = compress({ model: 'gpt-4o', messages, config: { protect_recent: 0, ...config } });
  return { response, text: response.messages[0].content as string };
}

const MARKER = /\[([^\]]*)\. Retrieve more: hash=([0-9a-f]{24})\]/g;

describe('a marker when something was left out', () => {
  it.each([
    ['orders.json', shared.ordersJson, /^79 of 90 rows omitted$/],
    ['tickets', shared.ticketsJson, /^\d+ of 120 rows omitted$/],
    ['events.json', generated('events.json'), /^\d+ of 150 rows omitted$/],
    ['worker.log', shared.workerLog, /^253 of 260 lines folded into 1 pattern$/],
    ['service.log', generated('service.log'), /^[\d,]+ of [\d,]+ lines folded into \d+ patterns$/],
  ])('%s: says what and how much, once, with the hash of the text as sent', (_name, source, what) => {
    const { response, text } = compressTool(source);
    const markers = [...text.matchAll(MARKER)];
    expect(markers).toHaveLength(1);
    expect(markers[0][1]).toMatch(what);
    expect(markers[0][2]).toBe(contentHash(source));
    expect(response.ccr_hashes).toEqual([contentHash(source)]);
    expect(checkRetention(source, text).checks.filter((c) => !c.passed)).toEqual([]);
  });

  it('keeps JSON valid: the marker is the _retrieve key of the outermost summary', () => {
    const { text } = compressTool(shared.ordersJson);
    const value = JSON.parse(text);
    expect(value.orders._retrieve).toBe(`[79 of 90 rows omitted. Retrieve more: hash=${contentHash(shared.ordersJson)}]`);
    expect(Object.keys(value.orders).slice(0, 4)).toEqual(['_note', '_rows', '_omitted', '_retrieve']);
    expect(value.page).toBe(1);
  });

  it('counts rows over every summary, nested ones included, in one marker', () => {
    const rows = (n: number, extra: (i: number) => object = () => ({})) => Array.from({ length: n }, (_, i) => ({ id: i, state: 'ok', score: (i * 37) % 100, ...extra(i) }));
    const doc = JSON.stringify({ a: rows(40), b: rows(30, (i) => ({ children: rows(10 + i) })) }, null, 2);
    const { text } = compressTool(doc);
    expect(markerHashes(text)).toEqual([contentHash(doc)]);
    const value = JSON.parse(text);
    expect(value.a._retrieve).toMatch(/^\[\d+ of \d+ rows omitted across \d+ arrays\. Retrieve more: hash=[0-9a-f]{24}\]$/);
    expect(JSON.stringify(value.b)).not.toContain('_retrieve');
  });

  it('hashes the original as sent, before colour codes and trailing blanks are cleaned', () => {
    const source = generated('service.log');
    expect(source).toContain('\x1b[');
    expect(markerHashes(compressTool(source).text)).toEqual([contentHash(source)]);
  });

  it('lists each hash once in ccr_hashes, in the order written', () => {
    const messages: ContractMessage[] = [
      { role: 'tool', tool_call_id: 'a', content: shared.workerLog },
      { role: 'tool', tool_call_id: 'b', content: shared.ordersJson },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c', content: shared.workerLog }] },
      { role: 'tool', tool_call_id: 'd', content: shared.grepListing },
    ];
    const response = compress({ model: 'gpt-4o', messages, config: { protect_recent: 0 } });
    expect(response.ccr_hashes).toEqual([contentHash(shared.workerLog), contentHash(shared.ordersJson)]);
  });
});

describe('no marker when nothing was left out', () => {
  it.each([
    ['a grep listing (grouped, lossless)', shared.grepListing, 'grep_group'],
    ['source code (whitespace only)', generated('source.ts.txt'), 'whitespace'],
    [
      'JSON without long arrays (minified)',
      JSON.stringify({ config: Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`key_${i}`, `value ${i}`])) }, null, 4),
      'json_minify',
    ],
  ])('%s', (_name, source, transform) => {
    const { response, text } = compressTool(source);
    expect(response.transforms_applied).toEqual([expect.stringMatching(new RegExp(`^${transform}:`))]);
    expect(markerHashes(text)).toEqual([]);
    expect(response.ccr_hashes).toEqual([]);
    expect(checkRetention(source, text).passed).toBe(true);
  });

  it('no marker when target_ratio shows every row', () => {
    const { text, response } = compressTool(shared.ordersJson, { target_ratio: 0.999 });
    expect(JSON.parse(text).orders._omitted).toBe(0);
    expect(markerHashes(text)).toEqual([]);
    expect(response.ccr_hashes).toEqual([]);
  });

  it('answers ccr_hashes [] for untouched requests, and leaves it out of the empty one', () => {
    expect(compress({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).ccr_hashes).toEqual([]);
    expect(compress({ model: 'gpt-4o', messages: [] }).ccr_hashes).toBeUndefined();
  });
});

describe('the retention check of markers', () => {
  it('fails when the marker is missing, or names another text', () => {
    const source = shared.workerLog;
    const { text } = compressTool(source);
    const withoutMarker = text.split('\n').slice(0, -1).join('\n');
    const failed = (out: string) =>
      checkRetention(source, out)
        .checks.filter((c) => !c.passed)
        .map((c) => c.name);
    expect(failed(withoutMarker)).toEqual(['a retrieval marker with the hash of the original, since something was left out']);
    expect(failed(text.replace(contentHash(source), contentHash('other')))).toHaveLength(1);
  });
});
