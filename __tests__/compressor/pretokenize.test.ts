/**
 * The ASCII pre-tokenizer against the library's own regexes (gpt-tokenizer's O200K and CL100K split
 * patterns): same pieces on generated strings built from the characters each regex branch turns on,
 * and the same token counts as the library on every text of the fixtures.
 */
import fc from 'fast-check';
import { CL100K_TOKEN_SPLIT_REGEX, O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/cjs/encodingParams/constants';
import * as o200kModule from 'gpt-tokenizer/cjs/encoding/o200k_base';
import * as cl100kModule from 'gpt-tokenizer/cjs/encoding/cl100k_base';
import { Encoding, forEachSpan, safeCutBefore, scanAscii } from '../../lib/compressor/pretokenize';
import { BpeCounter, BpeModule, tokenCounterFor } from '../../lib/compressor/tokens';
import { generated, recorded } from './fixtures';

const REGEX: Record<Encoding, RegExp> = { o200k_base: O200K_TOKEN_SPLIT_REGEX, cl100k_base: CL100K_TOKEN_SPLIT_REGEX };
const ENCODINGS: Encoding[] = ['o200k_base', 'cl100k_base'];

const regexPieces = (encoding: Encoding, text: string) => [...text.matchAll(REGEX[encoding])].map((m) => m[0]);

/** Pieces as the counter cuts them: scanned ASCII spans, the library's regex on the others. */
function ourPieces(encoding: Encoding, text: string): string[] {
  const pieces: string[] = [];
  forEachSpan(encoding, text, (start, end, ascii) => {
    if (ascii) scanAscii(encoding, text, start, end, end === text.length, (s, e) => pieces.push(text.slice(s, e)));
    else pieces.push(...regexPieces(encoding, text.slice(start, end)));
  });
  return pieces;
}

// Every character class the regexes distinguish on ASCII, with the letters of every contraction
// suffix in both cases, the punctuation that prefixes letters and the slash o200k keeps after line breaks.
const ASCII_UNITS = [
  'a',
  'b',
  'd',
  'e',
  'l',
  'm',
  'r',
  's',
  't',
  'v',
  'A',
  'D',
  'E',
  'L',
  'M',
  'R',
  'S',
  'T',
  'V',
  'Q',
  '0',
  '1',
  '9',
  ' ',
  ' ',
  '\t',
  '\n',
  '\r',
  '\v',
  '\f',
  "'",
  "'",
  '/',
  '"',
  '{',
  '}',
  ':',
  ',',
  '.',
  '-',
  '_',
  '\x00',
  '\x1f',
  '\x7f',
];
// Non-ASCII letters of each case, a combining mark, other numbers, Unicode blanks and line separators.
const UNICODE_UNITS = ['é', 'É', 'ß', 'ǅ', 'ʰ', '日', '\u0301', '²', 'Ⅻ', '٣', '\u00a0', '\u3000', '\u2028', '\ufeff', '😀', '—'];

const asciiText = fc.string({ unit: fc.constantFrom(...ASCII_UNITS), maxLength: 80 });
const mixedText = fc.string({ unit: fc.constantFrom(...ASCII_UNITS, ...UNICODE_UNITS), maxLength: 80 });

describe.each(ENCODINGS)('%s pre-tokens', (encoding) => {
  it('cuts ASCII text exactly where the regex does', () => {
    fc.assert(
      fc.property(asciiText, (text) => {
        const pieces: string[] = [];
        scanAscii(encoding, text, 0, text.length, true, (s, e) => pieces.push(text.slice(s, e)));
        expect(pieces).toEqual(regexPieces(encoding, text));
      }),
      { numRuns: 5000 },
    );
  });

  it('cuts mixed text where the regex does: no pre-token crosses a span boundary', () => {
    fc.assert(
      fc.property(mixedText, (text) => {
        expect(ourPieces(encoding, text)).toEqual(regexPieces(encoding, text));
      }),
      { numRuns: 5000 },
    );
  });

  it('cuts every fixture text where the regex does', () => {
    for (const text of fixtureTexts()) expect(ourPieces(encoding, text)).toEqual(regexPieces(encoding, text));
  });

  it('cuts spans only before a line that starts with a non-blank character (in o200k, not a slash)', () => {
    // The generated texts exercise these rules only when they happen to hold "\n/" or "\n "; this
    // pins them directly.
    expect(safeCutBefore(encoding, 'a\n/b', 2)).toBe(encoding !== 'o200k_base');
    expect(safeCutBefore(encoding, 'a\n b', 2)).toBe(false);
    expect(safeCutBefore(encoding, 'a\nb', 2)).toBe(true);
  });
});

function fixtureTexts(): string[] {
  const texts: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === 'string') texts.push(value);
    else if (Array.isArray(value)) value.forEach(collect);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(collect);
  };
  for (const path of ['claude-code-session/turn-1.json', 'claude-code-session/turn-4.json', 'openai-agent/request.json']) {
    const body = recorded(path).body;
    collect(body);
    texts.push(JSON.stringify(body));
  }
  for (const name of ['events.json', 'service.log', 'grep.txt', 'source.ts.txt']) texts.push(generated(name));
  return texts;
}

describe('counts', () => {
  const library: Record<Encoding, BpeModule> = { o200k_base: o200kModule as unknown as BpeModule, cl100k_base: cl100kModule as unknown as BpeModule };
  const libraryCount = (encoding: Encoding, text: string) => library[encoding].countTokens(text, { disallowedSpecial: new Set() });

  it.each(ENCODINGS)('%s: equal to the library on every fixture text', (encoding) => {
    const counter = tokenCounterFor(encoding === 'o200k_base' ? 'gpt-4o' : 'gpt-4');
    for (const text of fixtureTexts()) expect(counter.count(text)).toBe(libraryCount(encoding, text));
  });

  it.each(ENCODINGS)('%s: equal to the library on generated text, twice (memo filled)', (encoding) => {
    const counter = tokenCounterFor(encoding === 'o200k_base' ? 'gpt-4o' : 'gpt-4');
    fc.assert(
      fc.property(mixedText, (text) => {
        expect(counter.count(text)).toBe(libraryCount(encoding, text));
        expect(counter.count(text)).toBe(libraryCount(encoding, text));
      }),
      { numRuns: 3000 },
    );
  });

  it('uses the public countTokens alone when the library has no BPE core to call', () => {
    const calls: string[] = [];
    const publicOnly: BpeModule = {
      countTokens: (text, options) => {
        calls.push(text);
        return o200kModule.countTokens(text, options);
      },
    };
    const counter = new BpeCounter('o200k_base', publicOnly);
    const text = generated('service.log');
    calls.length = 0;
    expect(counter.count(text)).toBe(libraryCount('o200k_base', text));
    // Pre-tokens were still cut by the scanner: the library saw pieces, never the whole text.
    expect(calls.length).toBeGreaterThan(0);
    expect(calls).not.toContain(text);
  });

  it('counts with the library alone when the scanner and the library disagree (a changed regex)', () => {
    // A library whose pre-tokens differ (here: every count one higher) must not be cut by our scanner.
    const changed: BpeModule = { countTokens: (text, options) => o200kModule.countTokens(text, options) + 1 };
    const counter = new BpeCounter('o200k_base', changed);
    const text = 'short text, counted whole';
    expect(counter.count(text)).toBe(libraryCount('o200k_base', text) + 1);
  });
});
