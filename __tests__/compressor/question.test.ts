/**
 * Question-aware retention: rows and lines carrying a salient term of the request (question or
 * tool arguments) survive compression whole, wherever they are; savings stay high.
 */
import fc from 'fast-check';
import type { CompressRequest } from '../../lib/contract';
import { compress } from '../../lib/compressor';
import { checkRetention } from '../../lib/compressor/retention';
import { tokenCounterFor } from '../../lib/compressor/tokens';
import { anthropicRequest, compressedOutput, openAiRequest, orders, proxyLog, tickets } from './requests';

const o200k = tokenCounterFor('gpt-4o');

/** 10–40 distinct row numbers of 200, at random positions. */
const matchingRows = (size: number) => fc.uniqueArray(fc.integer({ min: 0, max: size - 1 }), { minLength: 10, maxLength: 40 }).map((rows) => new Set(rows));

/** Row indexes shown in a JSON summary. */
const shownIndexes = (summary: { _data: unknown[][] }) => new Set(summary._data.map((row) => row[0] as number));

function lastRowContext(request: CompressRequest) {
  // The context compress() derives, for the retention check (question and call as the request has them).
  const [user, assistant] = request.messages as any[];
  const question = typeof user.content === 'string' ? user.content : user.content[1].text;
  const call = assistant.tool_calls?.[0];
  const use = Array.isArray(assistant.content) ? assistant.content[1] : undefined;
  return call !== undefined
    ? { question, toolName: call.function.name, toolArguments: call.function.arguments }
    : { question, toolName: use.name, toolArguments: JSON.stringify(use.input) };
}

describe('p1 tickets', () => {
  it('keeps every p1 ticket whole, in both request shapes', () => {
    fc.assert(
      fc.property(matchingRows(200), fc.integer(), fc.boolean(), (p1, seed, anthropic) => {
        const source = tickets(p1, seed);
        const output = JSON.stringify(source, null, 2);
        const build = anthropic ? anthropicRequest : openAiRequest;
        const request = build('Show me the p1 tickets', 'search_tickets', { query: 'priority p1' }, output);
        const text = compressedOutput(compress(request));
        const summary = JSON.parse(text);
        const shown = shownIndexes(summary);
        for (const row of p1) expect(shown.has(row)).toBe(true);
        const idColumn = summary._columns.indexOf('id');
        for (const row of summary._data) expect(row[idColumn]).toBe(source[row[0]].id);
        expect(checkRetention(output, text, lastRowContext(request)).checks.filter((c) => !c.passed)).toEqual([]);
      }),
      { numRuns: 12 },
    );
  });

  it('needs the question to: without it, 40 p1 rows are not all shown', () => {
    const p1 = new Set(Array.from({ length: 40 }, (_, i) => i * 5 + 2));
    const output = JSON.stringify(tickets(p1, 7));
    const bare = JSON.parse(compressedOutput(compress({ model: 'gpt-4o', messages: [{ role: 'tool', tool_call_id: 'x', content: output }], config: { protect_recent: 0 } })));
    expect([...p1].filter((r) => shownIndexes(bare).has(r)).length).toBeLessThan(40);
    const asked = JSON.parse(compressedOutput(compress(openAiRequest('list the p1 tickets', 'search', {}, output))));
    expect([...p1].every((r) => shownIndexes(asked).has(r))).toBe(true);
    expect(asked._note).toContain('every row carrying a term of the request');
  });
});

describe('a conjunctive question', () => {
  it('keeps the rows meeting every condition (open and p1), not every row meeting one', () => {
    fc.assert(
      fc.property(matchingRows(200), fc.integer(), (p1, seed) => {
        const source = tickets(p1, seed);
        const text = compressedOutput(compress(openAiRequest('Which p1 tickets are still open?', 'search_tickets', { status: 'any' }, JSON.stringify(source))));
        const shown = shownIndexes(JSON.parse(text));
        const answer = source.flatMap((t, i) => (t.priority === 'p1' && t.status === 'open' ? [i] : []));
        for (const row of answer) expect(shown.has(row)).toBe(true);
        expect(shown.size).toBeLessThan(answer.length + 20);
      }),
      { numRuns: 10 },
    );
  });
});

describe('refunded orders', () => {
  it('keeps every refunded order whole (the word of the question, stemmed), and saves at least 60%', () => {
    fc.assert(
      fc.property(matchingRows(200), fc.integer(), (refunded, seed) => {
        const output = JSON.stringify(orders(refunded, seed), null, 2);
        const request = openAiRequest('Which orders were refunds?', 'list_orders', { since: '2026-11-01' }, output);
        const text = compressedOutput(compress(request));
        const summary = JSON.parse(text);
        const shown = shownIndexes(summary);
        for (const row of refunded) expect(shown.has(row)).toBe(true);
        const statusColumn = summary._columns.indexOf('status');
        expect(summary._data.filter((row: unknown[]) => row[statusColumn] === 'refunded')).toHaveLength(refunded.size);
        // The answer rows cost tokens; everything else is still summarised.
        expect(o200k.count(text) / o200k.count(output)).toBeLessThan(0.4);
      }),
      { numRuns: 12 },
    );
  });

  it('does not force a term most rows carry (status=paid when most orders are paid)', () => {
    const output = JSON.stringify(orders(new Set([3]), 1).map((order) => ({ ...order, status: (order as { order_id: number }).order_id % 5 === 0 ? 'pending' : 'paid' })));
    const summary = JSON.parse(compressedOutput(compress(openAiRequest('which orders are paid?', 'list_orders', {}, output))));
    expect(summary._data.length).toBeLessThan(20);
    expect(summary._values.status).toEqual({ paid: 160, pending: 40 });
  });
});

describe('a log asked about an error code', () => {
  it('keeps every line carrying the code verbatim, folds the rest, and saves at least 70%', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 1199 }), { minLength: 10, maxLength: 40 }), fc.integer(), (at, seed) => {
        const resets = new Set(at);
        const output = proxyLog(resets, seed);
        const request = anthropicRequest('When did we see ERR_CONN_RESET from the database?', 'Bash', { command: 'tail -n 1200 /var/log/proxy.log' }, output);
        const text = compressedOutput(compress(request));
        const outLines = new Set(text.split('\n'));
        const asked = output.split('\n').filter((line) => line.includes('ERR_CONN_RESET'));
        expect(asked).toHaveLength(resets.size);
        for (const line of asked) expect(outLines.has(line)).toBe(true);
        expect(text).toMatch(/^\[×\d+\] .*code=ERR_CONN_CLOSED/m);
        expect(o200k.count(text) / o200k.count(output)).toBeLessThan(0.3);
        expect(checkRetention(output, text, lastRowContext(request)).passed).toBe(true);
      }),
      { numRuns: 8 },
    );
  });

  it('keeps the line of a request number asked about', () => {
    const output = proxyLog(new Set(), 3);
    const text = compressedOutput(compress(openAiRequest('what happened to req 4711?', 'logs', {}, output.replace('req=711\n', 'req=4711\n'))));
    expect(text.split('\n').filter((line) => line.endsWith('req=4711'))).toHaveLength(1);
  });
});

describe('same output and context', () => {
  it('compress to the same bytes, and a different question does not reuse the result', () => {
    const output = JSON.stringify(tickets(new Set([5, 50, 150, 160, 170, 180, 190, 195, 196, 197, 198]), 2));
    const a = compressedOutput(compress(openAiRequest('p1 tickets?', 't', {}, output)));
    const b = compressedOutput(compress(anthropicRequest('p1 tickets?', 't', {}, output)));
    const other = compressedOutput(compress(openAiRequest('T-5042 please', 't', {}, output)));
    expect(b).toBe(a);
    expect(other).not.toBe(a);
    expect(shownIndexes(JSON.parse(other)).has(42)).toBe(true);
    expect(compressedOutput(compress(openAiRequest('p1 tickets?', 't', {}, output)))).toBe(a);
  });

  it('without terms (no context, or a question without salient terms) compress as before', () => {
    const output = proxyLog(new Set([1, 2, 3]), 4);
    const bare = compressedOutput(compress({ model: 'gpt-4o', messages: [{ role: 'tool', tool_call_id: 'x', content: output }], config: { protect_recent: 0 } }));
    expect(compressedOutput(compress(openAiRequest('what is going on here?', 'tail', {}, output)))).toBe(bare);
    expect(bare).toMatch(/^\[×3\] .*code=ERR_CONN_RESET/m);
  });

  it('leaves the output of a retrieval tool alone', () => {
    const output = proxyLog(new Set(), 5);
    const response = compress(openAiRequest('more please', 'mcp__headroom__headroom_retrieve', { hash: '0'.repeat(24) }, output));
    expect(compressedOutput(response)).toBe(output);
    expect(response.transforms_applied).toEqual([]);
  });
});
