import { readFileSync } from 'fs';
import { cleanText } from '../lib/compressor/text';
import { compressLog } from '../lib/compressor/log';
import { compressListing } from '../lib/compressor/listing';
import { compressJson } from '../lib/compressor/json';
import { detectKind } from '../lib/compressor/detect';
const t4 = JSON.parse(readFileSync('__tests__/fixtures/claude-code-session/turn-4.json', 'utf8'));
const oa = JSON.parse(readFileSync('__tests__/fixtures/openai-agent/request.json', 'utf8'));
const f = (n: string) => readFileSync('__tests__/fixtures/compressor/' + n, 'utf8');
const log = t4.body.messages[5].content[0].content, svc = f('service.log'), grep = oa.body.messages[5].content, grep2 = f('grep.txt'), orders = t4.body.messages[3].content[0].content, ev = f('events.json');
const which = process.argv[2];
for (let i = 0; i < 3000; i++) {
  if (which === 'log') { compressLog(cleanText(log)); compressLog(cleanText(svc)); }
  if (which === 'listing') { compressListing(cleanText(grep)); compressListing(cleanText(grep2)); }
  if (which === 'json') { compressJson(cleanText(orders)); compressJson(cleanText(ev)); }
  if (which === 'detect') { detectKind(cleanText(grep2)); detectKind(cleanText(svc)); detectKind(cleanText(f('source.ts.txt'))); }
}
