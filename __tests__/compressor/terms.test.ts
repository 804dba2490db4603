/**
 * Salient terms: what is extracted from a question and a tool call, how rows and lines are matched
 * against them, the cut for terms that do not discriminate, and the bounds on hostile input.
 */
import fc from 'fast-check';
import { MAX_TERMS, MAX_TERM_CHARS, extractTerms, salientTerms } from '../../lib/compressor/terms';
import { TermMatcher, findWhole, selectCarriers } from '../../lib/compressor/term-match';
import { stem } from '../../lib/compressor/words';

describe('extraction', () => {
  it('takes identifiers, codes, numbers with units and CamelCase', () => {
    const terms = salientTerms({ question: 'Why do T-5000 and acct_562 fail with ERR_CONN_RESET, 502, E1234, PaymentError after 500ms / 2GB / 30s?' });
    expect(terms).toEqual(expect.arrayContaining(['T-5000', 'acct_562', 'ERR_CONN_RESET', '502', 'E1234', 'PaymentError', '500ms', '2GB', '30s']));
  });

  it('takes quoted strings, and field=value / field: value pairs with their values', () => {
    const terms = salientTerms({ question: `Find "late fee" and 'card declined' where status=refunded or region: eu-west-1` });
    expect(terms.slice(0, 2)).toEqual(['late fee', 'card declined']);
    expect(terms).toEqual(expect.arrayContaining(['status=refunded', 'refunded', 'region=eu-west-1', 'eu-west-1']));
    // An apostrophe inside a word opens no quote.
    expect(salientTerms({ question: "what's the customer's order" })).toEqual(['customer', 'order']);
    // A plain word before `:` is a field name; an identifier stays a term.
    expect(salientTerms({ question: 'T-5000: is it closed?' })).toEqual(['T-5000=is', 'T-5000', 'closed']);
  });

  it('keeps content words, stemmed, without stopwords or short numbers', () => {
    expect(extractTerms({ question: 'Which orders were refunded in the last 7 days?' })).toEqual([
      { kind: 'stem', text: 'order', label: 'orders', source: 'question' },
      { kind: 'stem', text: 'refund', label: 'refunded', source: 'question' },
      { kind: 'stem', text: 'day', label: 'days', source: 'question' },
    ]);
    expect(salientTerms({ question: 'p1 tickets' })).toEqual(['p1', 'tickets']);
    expect(salientTerms({ question: 'requests slower than 500 ms' })).toEqual(expect.arrayContaining(['500', '500ms']));
  });

  it('reads JSON arguments as keys and values (values are terms, keys and paging controls are not)', () => {
    const terms = extractTerms({ toolName: 'search_tickets', toolArguments: '{"query":"checkout 502","priority":"p1","limit":50,"page":2,"customer_id":4711}' });
    const labels = terms.map((t) => t.label);
    expect(labels).toEqual(expect.arrayContaining(['query=checkout 502', 'priority=p1', 'customer_id=4711', 'checkout 502', 'p1', '4711', '502', 'checkout']));
    expect(labels.some((l) => l.includes('limit') || l.includes('page') || l === '50')).toBe(false);
    expect(labels).not.toContain('query');
    expect(terms.find((t) => t.label === 'priority=p1')).toEqual({ kind: 'pair', field: 'priority', text: 'p1', label: 'priority=p1', source: 'arguments' });
  });

  it('reads arguments that are not JSON as text', () => {
    expect(salientTerms({ toolArguments: 'grep -rn "PaymentError" src/payments' })).toEqual(expect.arrayContaining(['PaymentError', 'src/payments']));
  });

  it('uses the arguments before the question, most specific kinds first, no duplicates, and says where each was found', () => {
    const terms = extractTerms({ question: 'p1 and T-9', toolArguments: '{"id":"T-9"}' });
    expect(terms.map((t) => `${t.label}:${t.source}`)).toEqual(['id=T-9:arguments', 'T-9:both', 'p1:question']);
  });

  it('has no terms without a context', () => {
    expect(extractTerms(undefined)).toEqual([]);
    expect(extractTerms({})).toEqual([]);
  });
});

describe('stems', () => {
  it.each([
    ['refund', 'refunds', 'refunded', 'refunding'],
    ['decline', 'declined', 'declines', 'declining'],
    ['ship', 'ships', 'shipped', 'shipping'],
    ['policy', 'policies', 'policy', 'policy'],
  ])('%s, %s, %s and %s share a stem', (...words) => {
    expect(new Set(words.map(stem)).size).toBe(1);
  });
});

describe('matching', () => {
  const matcher = (question: string) => new TermMatcher(extractTerms({ question }));
  const carried = (m: TermMatcher, text: string) => {
    const into = new Set<number>();
    m.carriedBy(text, into);
    return [...into].map((i) => m.terms[i].label).sort();
  };

  it('finds whole words only, case-insensitive', () => {
    const m = matcher('p1 T-5000');
    expect(carried(m, 'priority P1, ticket t-5000')).toEqual(['T-5000', 'p1']);
    expect(carried(m, 'p10 T-50001 XT-5000 ap1')).toEqual([]);
    expect(findWhole('a_p1 p1', 'p1', 0)).toBe(5);
  });

  it('finds a stem in any word of that stem, also inside snake_case', () => {
    expect(carried(matcher('refunded orders'), 'status payment_refunds')).toEqual(['refunded']);
  });

  it('finds pairs in text and in the cells of their field', () => {
    const m = matcher('status=refunded');
    expect(m.terms.map((t) => `${t.kind}:${t.label}`)).toEqual(['pair:status=refunded', 'text:refunded', 'stem:refunded']);
    expect(carried(m, 'order 5 status: "refunded"')).toEqual(['refunded', 'refunded', 'status=refunded']);
    expect(carried(m, 'status: paid, refunded: false')).toEqual(['refunded', 'refunded']);
    const row = new Map<string, null | string | number>([
      ['order.status', 'refunded'],
      ['id', 5],
    ]);
    const found = new Map<number, string[]>();
    m.carriedByRow(row, found);
    expect([...found].map(([i, paths]) => `${m.terms[i].label}@${paths.join(',')}`).sort()).toEqual([
      'refunded@order.status',
      'refunded@order.status',
      'status=refunded@order.status',
    ]);
  });

  it('cuts a term carried by more than half of the items, and bounds the union to half', () => {
    const rows = ['open p1', 'open', 'open', 'closed', 'open p1'];
    const m = matcher('open p1');
    expect(selectCarriers(rows.length, m.terms, (i, into) => m.carriedBy(rows[i], into))).toEqual([0, 4]);
    // Many terms of one row each: taken in order until half the rows are kept.
    const ids = Array.from({ length: 10 }, (_, i) => `id-${i}`);
    const many = new TermMatcher(extractTerms({ question: ids.join(' ') }));
    expect(selectCarriers(ids.length, many.terms, (i, into) => many.carriedBy(ids[i], into))).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('hostile input', () => {
  const bounded = (terms: ReturnType<typeof extractTerms>) => {
    expect(terms.length).toBeLessThanOrEqual(MAX_TERMS);
    for (const term of terms) {
      expect(term.label.length).toBeLessThanOrEqual(MAX_TERM_CHARS);
      expect(term.text.length).toBeLessThanOrEqual(MAX_TERM_CHARS);
      expect(term.text.length).toBeGreaterThan(0);
    }
  };

  it('bounds the terms of any generated question and arguments', () => {
    const pieces = fc.constantFrom('"', "'", '`', '=', ':', ' ', '-', '.', '/', 'a', 'Z', '7', '_', 'p1', 'status', '\n', '“', '<system-reminder>', '{', '}', '[', ']', ',');
    const text = fc.oneof(
      fc.string({ maxLength: 3000 }),
      fc.array(pieces, { maxLength: 3000 }).map((p) => p.join('')),
    );
    fc.assert(
      fc.property(text, text, (question, toolArguments) => {
        bounded(extractTerms({ question, toolArguments }));
      }),
      { numRuns: 300 },
    );
  });

  it('bounds the terms of long pathological strings', () => {
    const long = [
      '"'.repeat(100_000),
      "'a".repeat(50_000),
      'a-'.repeat(50_000),
      'a=b '.repeat(30_000),
      'x: '.repeat(30_000),
      `${'['.repeat(30_000)}${']'.repeat(30_000)}`,
      `{"a":${'['.repeat(20_000)}1${']'.repeat(20_000)}}`,
      JSON.stringify({ q: 'word '.repeat(20_000) }),
      'T-1 '.repeat(40_000),
    ];
    for (const s of long) {
      bounded(extractTerms({ question: s, toolArguments: s }));
      const m = new TermMatcher(extractTerms({ question: s }));
      const into = new Set<number>();
      m.carriedBy(s.slice(0, 200_000), into);
      expect(into.size).toBeLessThanOrEqual(MAX_TERMS);
    }
  });
});
