import { readFileSync } from 'fs';
import { compress } from '../lib/compressor/compress';
import { tokenCounterFor, clearTokenCountCache, warmUpTokenizers } from '../lib/compressor/tokens';
import { clearTransformCache } from '../lib/compressor/transform';
const t4 = JSON.parse(readFileSync('__tests__/fixtures/claude-code-session/turn-4.json', 'utf8'));
const orders = t4.body.messages[3].content[0].content;
warmUpTokenizers();
const o = tokenCounterFor('gpt-4o');
function t(fn: () => unknown, n = 201) { const a: number[] = []; for (let i = 0; i < n; i++) { const st = process.hrtime.bigint(); fn(); a.push(Number(process.hrtime.bigint() - st) / 1e6); } a.sort((x, y) => x - y); return (a[n >> 1] * 100 / (orders.length / 1024)).toFixed(2); }
const req = (m: string) => ({ model: m, messages: [{ role: 'tool', content: orders }], config: { protect_recent: 0 } });
for (let k = 0; k < 3; k++) {
console.log('bpe only', t(() => o.count(orders)));
console.log('compress claude cold', t(() => { clearTransformCache(); clearTokenCountCache(); compress(req('claude-x')); }));
console.log('compress gpt cold', t(() => { clearTransformCache(); clearTokenCountCache(); compress(req('gpt-4o')); }));
console.log('bpe only', t(() => o.count(orders)));
}
