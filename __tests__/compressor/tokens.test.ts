import { countTokens as o200kCount } from 'gpt-tokenizer/cjs/encoding/o200k_base';
import { countTokens as cl100kCount } from 'gpt-tokenizer/cjs/encoding/cl100k_base';
import { MAX_BPE_RUN, baseModelName, estimateClaudeTokens, tokenCounterFor } from '../../lib/compressor/tokens';
import { generated, sharedToolOutputs } from './fixtures';

describe('choosing the tokenizer', () => {
  it.each([
    ['gpt-4o', 'o200k_base'],
    ['gpt-4o-mini-2024-07-18', 'o200k_base'],
    ['gpt-4.1', 'o200k_base'],
    ['o3-mini', 'o200k_base'],
    ['o1', 'o200k_base'],
    ['gpt-5', 'o200k_base'],
    ['openai/gpt-5-mini', 'o200k_base'],
    ['azure/gpt-4o', 'o200k_base'],
    ['gpt-4', 'cl100k_base'],
    ['gpt-4-turbo', 'cl100k_base'],
    ['gpt-3.5-turbo', 'cl100k_base'],
    ['claude-opus-4-8', 'claude-estimate'],
    ['anthropic/claude-sonnet-4-5', 'claude-estimate'],
    ['llama-3.1-70b', 'claude-estimate'],
  ])('%s counts with %s', (model, name) => {
    expect(tokenCounterFor(model).name).toBe(name);
  });

  it('strips routing prefixes and case', () => {
    expect(baseModelName(' OpenAI/GPT-4o ')).toBe('gpt-4o');
  });
});

describe('counting', () => {
  const { ordersJson, grepListing } = sharedToolOutputs();

  it('counts OpenAI models with the real BPE', () => {
    expect(tokenCounterFor('gpt-4o').count(ordersJson)).toBe(o200kCount(ordersJson));
    expect(tokenCounterFor('gpt-4').count(grepListing)).toBe(cl100kCount(grepListing));
    expect(tokenCounterFor('gpt-4o').count('')).toBe(0);
  });

  it('counts special-token text as plain text instead of throwing', () => {
    expect(tokenCounterFor('gpt-4o').count('before <|endoftext|> after')).toBeGreaterThan(3);
  });

  it('estimates Claude tokens from character classes, in the range of a BPE count', () => {
    for (const text of [ordersJson, grepListing, generated('service.log'), generated('source.ts.txt')]) {
      const ratio = estimateClaudeTokens(text) / o200kCount(text);
      expect(ratio).toBeGreaterThan(0.7);
      expect(ratio).toBeLessThan(1.6);
    }
    expect(estimateClaudeTokens('')).toBe(0);
    // A CJK character is about one token; the estimate counts one per code point.
    expect(estimateClaudeTokens('東京')).toBe(2);
  });
});

describe('long runs of one character class', () => {
  const counter = tokenCounterFor('gpt-4o');

  it('counts ordinary text and runs up to the limit exactly', () => {
    const run = '='.repeat(MAX_BPE_RUN);
    expect(counter.count(`header\n${run}\nbody`)).toBe(o200kCount(`header\n${run}\nbody`));
  });

  it('cuts longer runs (quadratic in the tokenizer) and stays within a token per cut', () => {
    // Uncut, this 2 MB "word" would keep the BPE merge loop busy for hours.
    expect(counter.count('x'.repeat(2_000_000))).toBe(250_000);
    const long = '['.repeat(4096);
    expect(Math.abs(counter.count(long) - o200kCount(long))).toBeLessThanOrEqual(4096 / MAX_BPE_RUN);
  });
});
