import { detectKind } from '../../lib/compressor/detect';
import { checkRetention } from '../../lib/compressor/retention';
import { collapseBlankLines, dropOverwrittenText, normalizeWhitespace, stripAnsi, stripTrailingWhitespace } from '../../lib/compressor/text';
import { compressText, MIN_TOKENS } from '../../lib/compressor/transform';
import { tokenCounterFor } from '../../lib/compressor/tokens';
import { generated, sharedToolOutputs } from './fixtures';

const counter = tokenCounterFor('gpt-4o');

describe('whitespace clean-up', () => {
  it('removes colour codes, OSC hyperlinks and overwritten progress text', () => {
    expect(stripAnsi('\x1b[1;31mFAIL\x1b[0m \x1b]8;;http://x\x07link\x1b]8;;\x07')).toBe('FAIL link');
    expect(dropOverwrittenText('10%\r50%\r100% done\nnext\r\n')).toBe('100% done\nnext\r\n');
    const long = 'y'.repeat(1_000_000);
    expect(dropOverwrittenText(`${long}\nfoo\rbar`)).toBe(`${long}\nbar`);
  });

  it('removes trailing blanks and CR of CRLF, keeps indentation', () => {
    expect(stripTrailingWhitespace('  a  \r\n\tb\t\n    \nc')).toBe('  a\n\tb\n\nc');
    expect(stripTrailingWhitespace('clean\ntext')).toBe('clean\ntext');
  });

  it('collapses three or more blank lines into one, keeps one or two', () => {
    expect(collapseBlankLines('a\n\n\n\n\nb\n\nc\n\n\nd')).toBe('a\n\nb\n\nc\n\n\nd');
    expect(normalizeWhitespace('\n\nx  \n\n\n\n\ny\n\n')).toBe('x\n\ny');
  });
});

describe('detecting the kind of a tool output', () => {
  const shared = sharedToolOutputs();
  it.each([
    ['orders.json', shared.ordersJson, 'json'],
    ['tickets', shared.ticketsJson, 'json'],
    ['worker.log', shared.workerLog, 'log'],
    ['grep listing', shared.grepListing, 'listing'],
    ['events.json', generated('events.json'), 'json'],
    ['service.log', generated('service.log'), 'log'],
    ['grep.txt', generated('grep.txt'), 'listing'],
    ['source.ts', generated('source.ts.txt'), 'code'],
    ['prose', 'The quick brown fox jumps over the lazy dog.\nIt was a sunny day.\nNothing else happened.', 'text'],
  ])('%s is %s', (_name, text, kind) => {
    expect(detectKind(text)).toBe(kind);
  });
});

describe('source code is left readable', () => {
  const source = generated('source.ts.txt');
  const outcome = compressText(source, { counter });

  it('only loses trailing blanks and runs of blank lines', () => {
    expect(outcome.result?.transform).toBe('whitespace');
    const out = outcome.result!.text;
    expect(out).not.toMatch(/[ \t]+$/m);
    expect(out).not.toMatch(/\n\n\n\n/);
    expect(out).toContain("  const hash = createHash('sha256');\n  hash.update(JSON.stringify(body));");
    expect(out.split('\n').filter((l) => l.trim() !== '')).toEqual(
      source
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => l.replace(/[ \t]+$/, '')),
    );
    expect(checkRetention(source, out).passed).toBe(true);
  });
});

describe('small outputs', () => {
  it(`leaves text under ${MIN_TOKENS} tokens byte-identical`, () => {
    const { lsListing } = sharedToolOutputs();
    const messy = 'line with trailing   \n\x1b[31mred\x1b[0m\n\n\n\n\nend';
    for (const text of [lsListing, messy, '{"a":   1}']) {
      const outcome = compressText(text, { counter });
      expect(outcome.result).toBeNull();
      expect(outcome.tokensBefore).toBeLessThan(MIN_TOKENS);
    }
  });
});
