/**
 * Issue 3's figure: over a 20-turn agent session, bytes sent to /v1/compress and service calls per
 * turn, this design (new tool output only, history from the memo) against sending whole
 * conversations (LiteLLM's shape: every turn, all messages, the service protecting the newest rows);
 * and the share of each forwarded request that is an unchanged prefix of the previous one (what the
 * provider's prompt cache can reuse).
 *
 *   npx ts-node --transpile-only bench/session-cache.ts [--turns 20] [--vary]
 *
 * Both designs talk to the same Headroom stand-in over HTTP on loopback; with --vary its output
 * depends on the call (as a context-dependent compressor's does).
 */
import request from 'supertest';
import { startStack } from '../__tests__/kit/app';
import { anthropicSession, withoutCacheControl } from '../__tests__/kit/session';

const argv = process.argv.slice(2);
const turns = Number(argv[argv.indexOf('--turns') + 1]) || 20;
const vary = argv.includes('--vary');

function commonPrefix(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

/** Share of `next`'s messages bytes that repeat `prev`'s exactly from the start (cache_control ignored). */
function prefixShare(prev: any, next: any): number {
  const a = JSON.stringify(withoutCacheControl(prev.messages));
  const b = JSON.stringify(withoutCacheControl(next.messages));
  // A prefix ends at a whole message: strip the closing bracket of the shorter array.
  return commonPrefix(a.slice(0, -1), b) / b.length;
}

async function main() {
  const session = anthropicSession(turns);
  const stack = await startStack({ mode: vary ? 'vary' : 'ok', headroom: { minTokens: 0 } });
  const rows: Array<Record<string, number | string>> = [];
  try {
    // This design: through the real middleware and proxy.
    const ours: any[] = [];
    const ourBytes: number[] = [];
    const ourCalls: number[] = [];
    for (const body of session) {
      const callsBefore = stack.standIn.calls.length;
      const bytesBefore = stack.standIn.calls.reduce((s, c) => s + JSON.stringify(c.body).length, 0);
      await request(stack.url)
        .post('/v1/messages')
        .send({ ...body, litellm_metadata: { guardrails: ['headroom-compression'] } });
      ours.push(stack.upstream.requests[stack.upstream.requests.length - 1].json);
      ourCalls.push(stack.standIn.calls.length - callsBefore);
      ourBytes.push(stack.standIn.calls.reduce((s, c) => s + JSON.stringify(c.body).length, 0) - bytesBefore);
    }
    // Whole conversations: every turn sends all messages (OpenAI shape, tool results as tool rows) and pastes back.
    const whole: any[] = [];
    const wholeBytes: number[] = [];
    for (const body of session) {
      const flat = body.messages.map((m: any) => {
        const tr = Array.isArray(m.content) ? m.content.find((b: any) => b.type === 'tool_result') : undefined;
        return tr ? { role: 'tool', tool_call_id: tr.tool_use_id, content: tr.content } : { role: m.role, content: JSON.stringify(m.content) };
      });
      const payload = JSON.stringify({ model: body.model, messages: flat });
      wholeBytes.push(payload.length);
      const res = await fetch(`${stack.standIn.url}/v1/compress`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
      const reply: any = await res.json();
      const out = JSON.parse(JSON.stringify(body));
      out.messages.forEach((m: any, i: number) => {
        const tr = Array.isArray(m.content) ? m.content.find((b: any) => b.type === 'tool_result') : undefined;
        if (tr) tr.content = reply.messages[i].content;
      });
      whole.push(out);
    }
    let tot = { ob: 0, oc: 0, wb: 0, wc: 0, osum: 0, wsum: 0, osize: 0, wsize: 0 };
    for (let k = 0; k < session.length; k++) {
      const op = k === 0 ? 0 : prefixShare(ours[k - 1], ours[k]);
      const wp = k === 0 ? 0 : prefixShare(whole[k - 1], whole[k]);
      const osize = JSON.stringify(ours[k]).length;
      const wsize = JSON.stringify(whole[k]).length;
      const ideal = k === 0 ? 0 : (JSON.stringify(withoutCacheControl(ours[k - 1].messages)).length - 1) / JSON.stringify(withoutCacheControl(ours[k].messages)).length;
      rows.push({
        ideal: ideal.toFixed(3),
        turn: k + 1,
        ourCalls: ourCalls[k],
        ourBytes: ourBytes[k],
        wholeCalls: 1,
        wholeBytes: wholeBytes[k],
        ourPrefix: op.toFixed(3),
        wholePrefix: wp.toFixed(3),
        ourForwarded: osize,
        wholeForwarded: wsize,
      });
      tot = {
        ob: tot.ob + ourBytes[k],
        oc: tot.oc + ourCalls[k],
        wb: tot.wb + wholeBytes[k],
        wc: tot.wc + 1,
        osum: tot.osum + (k ? op : 0),
        wsum: tot.wsum + (k ? wp : 0),
        osize: tot.osize + osize,
        wsize: tot.wsize + wsize,
      };
    }
    console.log(
      `| turn | calls (ours) | bytes to /v1/compress (ours) | calls (whole) | bytes (whole) | unchanged prefix (ours) | unchanged prefix (whole) | most possible (ours) |`,
    );
    console.log(`|---|---|---|---|---|---|---|---|`);
    for (const r of rows) console.log(`| ${r.turn} | ${r.ourCalls} | ${r.ourBytes} | ${r.wholeCalls} | ${r.wholeBytes} | ${r.ourPrefix} | ${r.wholePrefix} | ${r.ideal} |`);
    const n = session.length - 1;
    console.log(`| **total** | **${tot.oc}** | **${tot.ob}** | **${tot.wc}** | **${tot.wb}** | **mean ${(tot.osum / n).toFixed(3)}** | **mean ${(tot.wsum / n).toFixed(3)}** | |`);
    console.log(
      `\nforwarded bytes over the session: ours ${tot.osize}, whole-conversation ${tot.wsize}; bytes to the service: ours ${((tot.ob / tot.wb) * 100).toFixed(1)}% of whole-conversation`,
    );
  } finally {
    await stack.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
