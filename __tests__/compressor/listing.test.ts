import { compressListing, parseListing, parseListingLine } from '../../lib/compressor/listing';
import { checkListingRetention } from '../../lib/compressor/retention';
import { tokenCounterFor } from '../../lib/compressor/tokens';
import { generated, sharedToolOutputs } from './fixtures';

const o200k = tokenCounterFor('gpt-4o');

function grouped(text: string): string {
  const result = compressListing(text);
  if (result === null) throw new Error('not grouped');
  return result.text;
}

describe('parsing listing lines', () => {
  it('reads matches and context lines, including paths with dashes', () => {
    expect(parseListingLine('src/a.ts:12:  const x = 1;')).toEqual({ path: 'src/a.ts', line: 12, sep: ':', text: '  const x = 1;' });
    expect(parseListingLine('src/a.ts:13-  return x;')).toEqual({ path: 'src/a.ts', line: 13, sep: '-', text: '  return x;' });
    expect(parseListingLine('src/rate-limit.ts-7-  // note', new Set(['src/rate-limit.ts']))).toEqual({
      path: 'src/rate-limit.ts',
      line: 7,
      sep: '-',
      text: '  // note',
    });
  });

  it('does not take log lines, URLs or host:port for paths', () => {
    expect(parseListingLine('2026-11-26T10:00:00Z INFO started')).toBeNull();
    expect(parseListingLine('http://example.test:8080:/x')).toBeNull();
    expect(parseListingLine('INFO worker.py:12: retry')).toBeNull();
  });
});

describe('grep listing from the OpenAI agent', () => {
  const { grepListing } = sharedToolOutputs();
  const out = grouped(grepListing);

  it('writes each file once with its match count', () => {
    expect(out.split('\n').filter((line) => /^src\/payments\/\w+\.ts \(\d+\)$/.test(line))).toEqual([
      'src/payments/charge.ts (49)',
      'src/payments/refund.ts (57)',
      'src/payments/webhook.ts (43)',
    ]);
  });

  it('keeps every match with its line number and text', () => {
    const report = checkListingRetention(grepListing, out);
    expect(report.checks.filter((c) => !c.passed)).toEqual([]);
    expect(out).toContain("  100,114,170,203,256,274,288,329: throw new PaymentError('card_declined', { orderId, attempt: 1 })");
  });

  it('saves at least 35%', () => {
    expect(o200k.count(out) / o200k.count(grepListing)).toBeLessThan(0.65);
  });
});

describe('generated rg -n -C1 listing', () => {
  const source = generated('grep.txt');
  const out = grouped(source);

  it('parses context lines of paths with dashes and drops the -- separators', () => {
    const parsed = parseListing(source);
    expect(parsed.other).toEqual([]);
    expect(parsed.entries.filter((e) => e.path === 'src/lib/rate-limit.ts' && e.sep === '-').length).toBeGreaterThan(0);
    expect(out).not.toMatch(/^--$/m);
    expect(out).toContain('"-" marks a context line');
  });

  it('passes the retention checks and saves at least 35%', () => {
    expect(checkListingRetention(source, out).passed).toBe(true);
    expect(o200k.count(out) / o200k.count(source)).toBeLessThan(0.65);
  });
});

describe('listing rules', () => {
  it('keeps lines that are not entries, after the groups', () => {
    const text = ['a/x.ts:1:foo', 'a/x.ts:9:foo', 'b/y.ts:3:bar', 'Binary file c/z.bin matches'].join('\n');
    expect(grouped(text)).toBe(
      [
        '[grep: 3 matches in 2 files, grouped by file (match count in brackets); "3,9: text" = the same text on lines 3 and 9]',
        'a/x.ts (2)',
        '  1,9: foo',
        'b/y.ts (1)',
        '  3: bar',
        'Binary file c/z.bin matches',
      ].join('\n'),
    );
  });

  it('declines text that is mostly not a listing', () => {
    expect(compressListing(['a/x.ts:1:foo', 'hello', 'world', 'more prose here', 'and here'].join('\n'))).toBeNull();
  });
});
