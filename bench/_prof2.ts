import { readFileSync } from 'fs';
import { cleanText } from '../lib/compressor/text';
import { classifyLogLines } from '../lib/compressor/log';
import { templateLine } from '../lib/compressor/log-template';
const t4 = JSON.parse(readFileSync('__tests__/fixtures/claude-code-session/turn-4.json', 'utf8'));
const s = cleanText(t4.body.messages[5].content[0].content);
const lines = s.split('\n');
function t(fn: () => unknown, n = 1001) { const a: number[] = []; for (let i = 0; i < n; i++) { const st = process.hrtime.bigint(); fn(); a.push(Number(process.hrtime.bigint() - st) / 1e6); } a.sort((x, y) => x - y); return (a[n >> 1] * 100 / (s.length / 1024)).toFixed(2); }
console.log('split', t(() => s.split('\n')));
console.log('classify', t(() => classifyLogLines(lines)));
console.log('template', t(() => { for (const l of lines) templateLine(l); }));
const re1 = /(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)/g;
console.log('only-ts-regex', t(() => { for (const l of lines) { re1.lastIndex = 0; while (re1.exec(l)); } }));
const re2 = /((?<![A-Za-z_\d.])\d+(?:\.\d+)?(?:ms|us|µs|ns|s|m|h|d|b|kb|mb|gb|KB|MB|GB|KiB|MiB|GiB|B|%)?(?![A-Za-z_\d]))/g;
console.log('only-num-regex', t(() => { for (const l of lines) { re2.lastIndex = 0; while (re2.exec(l)); } }));
