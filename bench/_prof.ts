import { readFileSync } from 'fs';
import { cleanText } from '../lib/compressor/text';
import { detectKind } from '../lib/compressor/detect';
import { compressJson } from '../lib/compressor/json';
import { compressLog } from '../lib/compressor/log';
import { compressListing } from '../lib/compressor/listing';
import { tokenCounterFor, estimateClaudeTokens } from '../lib/compressor/tokens';
const t4 = JSON.parse(readFileSync('__tests__/fixtures/claude-code-session/turn-4.json', 'utf8'));
const oa = JSON.parse(readFileSync('__tests__/fixtures/openai-agent/request.json', 'utf8'));
const f = (n: string) => readFileSync('__tests__/fixtures/compressor/' + n, 'utf8');
const texts: Record<string,string> = { orders: t4.body.messages[3].content[0].content, log: t4.body.messages[5].content[0].content, tickets: oa.body.messages[3].content, grep: oa.body.messages[5].content, events: f('events.json'), service: f('service.log'), grep2: f('grep.txt'), source: f('source.ts.txt') };
const o = tokenCounterFor('gpt-4o');
function t(fn: () => unknown, n = 301) { const a: number[] = []; for (let i = 0; i < n; i++) { const s = process.hrtime.bigint(); fn(); a.push(Number(process.hrtime.bigint() - s) / 1e6); } a.sort((x, y) => x - y); return a[n >> 1]; }
for (const [k, s] of Object.entries(texts)) {
  const kb = s.length / 1024; const c = cleanText(s); const kind = detectKind(c);
  const r: Record<string, string> = {};
  const per = (ms: number) => (ms * 100 / kb).toFixed(2);
  r.bpe = per(t(() => o.count(s)));
  r.est = per(t(() => estimateClaudeTokens(s)));
  r.clean = per(t(() => cleanText(s)));
  r.detect = per(t(() => detectKind(c)));
  if (kind === 'json') r.json = per(t(() => compressJson(c)));
  if (kind === 'log') r.log = per(t(() => compressLog(c)));
  if (kind === 'listing') r.listing = per(t(() => compressListing(c)));
  console.log(k.padEnd(8), kind.padEnd(8), JSON.stringify(r));
}
