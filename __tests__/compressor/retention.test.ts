/**
 * The retention checks must fail when something a model needs is gone: each test damages a real
 * compressed output in one way and expects exactly that check to fail.
 */
import { compressJson } from '../../lib/compressor/json';
import { compressListing } from '../../lib/compressor/listing';
import { compressLog } from '../../lib/compressor/log';
import { checkJsonRetention, checkListingRetention, checkLogRetention, checkRetention } from '../../lib/compressor/retention';
import { TermMatcher } from '../../lib/compressor/term-match';
import { extractTerms } from '../../lib/compressor/terms';
import { cleanText } from '../../lib/compressor/text';
import { generated, sharedToolOutputs } from './fixtures';
import { proxyLog, tickets } from './requests';

const shared = sharedToolOutputs();

function failedChecks(report: { checks: { name: string; passed: boolean }[] }): string[] {
  return report.checks.filter((c) => !c.passed).map((c) => c.name);
}

describe('JSON retention', () => {
  const source = generated('events.json');
  const good = compressJson(source)!.text;
  const damaged = (edit: (summary: any) => void) => {
    const value = JSON.parse(good);
    edit(value);
    return JSON.stringify(value);
  };

  it('passes on the compressor output', () => {
    expect(failedChecks(checkJsonRetention(source, good))).toEqual([]);
  });

  it('fails when the row count is wrong', () => {
    expect(
      failedChecks(
        checkJsonRetention(
          source,
          damaged((v) => (v._rows = 149)),
        ),
      ),
    ).toEqual(['$: row count 150 stated']);
  });

  it('fails when a value of a low-cardinality field is missing or miscounted', () => {
    expect(
      failedChecks(
        checkJsonRetention(
          source,
          damaged((v) => delete v._values['user.plan'].enterprise),
        ),
      ),
    ).toEqual(['$: all 17 values of low-cardinality fields, with counts']);
    expect(
      failedChecks(
        checkJsonRetention(
          source,
          damaged((v) => (v._values.service.api += 1)),
        ),
      ),
    ).toHaveLength(1);
  });

  it('fails when a min or max is missing', () => {
    expect(
      failedChecks(
        checkJsonRetention(
          source,
          damaged((v) => (v._range.latency_ms = [12, 9870])),
        ),
      ),
    ).toEqual(['$: min and max of 3 numeric fields']);
  });

  it('fails when an anomaly row is dropped or altered', () => {
    const dropTimeout = damaged((v) => (v._data = v._data.filter((row: unknown[]) => row[0] !== 57)));
    expect(failedChecks(checkJsonRetention(source, dropTimeout))).toEqual([expect.stringMatching(/rows with rare, error-like/)]);
    const alterOutlier = damaged((v) => {
      const row = v._data.find((r: unknown[]) => r[0] === 91);
      row[v._columns.indexOf('latency_ms')] = 99;
    });
    expect(checkJsonRetention(source, alterOutlier).passed).toBe(false);
  });

  it('fails when a value outside the arrays changed, or the output is not JSON', () => {
    const ordersOut = compressJson(shared.ordersJson)!.text;
    expect(checkJsonRetention(shared.ordersJson, ordersOut.replace('"cursor-abc"', '"cursor-xyz"')).passed).toBe(false);
    expect(checkJsonRetention(shared.ordersJson, ordersOut.slice(0, -1)).passed).toBe(false);
  });
});

describe('log retention', () => {
  const source = generated('service.log');
  const good = compressLog(cleanText(source))!.text;

  it('passes on the compressor output', () => {
    expect(failedChecks(checkLogRetention(source, good))).toEqual([]);
  });

  it('fails when an ERROR or WARN line is gone', () => {
    const damaged = good
      .split('\n')
      .filter((line) => !line.includes('WARN  app.db slow query took 4120ms'))
      .join('\n');
    expect(failedChecks(checkLogRetention(source, damaged))).toEqual(['all 5 distinct ERROR/WARN/FATAL lines verbatim, with their counts']);
  });

  it('fails when a template count is wrong or a pattern is gone', () => {
    expect(checkLogRetention(source, good.replace('[×60]', '[×59]')).passed).toBe(false);
    const withoutCachePattern = good
      .split('\n')
      .filter((line) => !line.includes('app.cache hit'))
      .join('\n');
    expect(failedChecks(checkLogRetention(source, withoutCachePattern))).toEqual(['all 5 line templates, with their counts']);
  });

  it('fails when a traceback line is gone or out of order', () => {
    expect(checkLogRetention(source, good.replace('    total = self._price(cart.items)\n', '')).passed).toBe(false);
    const swapped = good.replace(
      '    at async Promise.all (index 0)\n    at async Timeout._onTimeout (/srv/sidecar/dist/scheduler.js:17:5)',
      '    at async Timeout._onTimeout (/srv/sidecar/dist/scheduler.js:17:5)\n    at async Promise.all (index 0)',
    );
    expect(failedChecks(checkLogRetention(source, swapped))).toEqual(['all 12 stack trace / traceback lines verbatim, in order']);
  });

  it('accepts an unfolded log: the lines themselves are their templates', () => {
    expect(checkLogRetention(source, cleanText(source)).passed).toBe(true);
  });
});

describe('listing retention', () => {
  const source = shared.grepListing;
  const good = compressListing(source)!.text;

  it('passes on the compressor output', () => {
    expect(failedChecks(checkListingRetention(source, good))).toEqual([]);
  });

  it('fails when a file, a line number or a text is gone', () => {
    expect(checkListingRetention(source, good.replace('src/payments/refund.ts (57)', 'src/payments/refund.ts')).passed).toBe(false);
    expect(failedChecks(checkListingRetention(source, good.replace('  100,114,', '  114,')))).toEqual(['all 149 line numbers under their file']);
    expect(failedChecks(checkListingRetention(source, good.replace('attempt: 1 })', 'attempt: 9 })')))).toEqual(['the text of every listed line']);
  });
});

describe('text retention', () => {
  it('allows whitespace changes only', () => {
    const source = generated('source.ts.txt');
    expect(checkRetention(source, source.replace(/[ \t]+$/gm, '')).passed).toBe(true);
    expect(checkRetention(source, source.replace('sha256', 'md5')).passed).toBe(false);
  });
});

describe('retention of rows and lines carrying a term of the request', () => {
  const failed = (report: { checks: { name: string; passed: boolean }[] }) => report.checks.filter((c) => !c.passed).map((c) => c.name);

  it('JSON: fails when a row carrying a term is dropped', () => {
    const p1 = new Set([20, 40, 60, 80, 100, 120, 140, 160, 170, 180, 185, 190]);
    const source = JSON.stringify(tickets(p1, 11));
    const context = { question: 'List the p1 tickets.' };
    const good = compressJson(source, { matcher: new TermMatcher(extractTerms(context)) })!.text;
    expect(failed(checkJsonRetention(source, good, context))).toEqual([]);
    const value = JSON.parse(good);
    value._data = value._data.filter((row: unknown[]) => row[0] !== 100);
    expect(failed(checkJsonRetention(source, JSON.stringify(value), context))).toEqual(['$: 12 rows carrying a term of the request shown whole']);
    // Without the context the same damage is not a loss: row 100 is not an anomaly.
    expect(failed(checkJsonRetention(source, JSON.stringify(value)))).toEqual([]);
  });

  it('logs: fails when a line carrying a term is folded away', () => {
    const source = proxyLog(new Set([10, 500, 900]), 12);
    const context = { question: 'any ERR_CONN_RESET?' };
    const good = compressLog(source, { matcher: new TermMatcher(extractTerms(context)) })!.text;
    expect(failed(checkLogRetention(source, good, context))).toEqual([]);
    // Folding everything, as without the question, passes the template counts but not the term check.
    const bare = compressLog(source)!.text;
    expect(failed(checkLogRetention(source, bare, context))).toEqual(['all 3 lines carrying a term of the request verbatim']);
  });

  it('listings: fails when a match carrying a term is not there as printed', () => {
    const source = shared.grepListing;
    const context = { question: 'which throws pass attempt: 1?' };
    const good = compressListing(source, { matcher: new TermMatcher(extractTerms(context)) })!.text;
    const printed = "src/payments/charge.ts:100:    throw new PaymentError('card_declined', { orderId, attempt: 1 })";
    expect(good.split('\n')).toContain(printed);
    expect(failed(checkListingRetention(source, good, context))).toEqual([]);
    expect(failed(checkListingRetention(source, good))).toEqual([]);
    // The grouped form keeps every match but not as printed: only the term check fails.
    expect(failed(checkListingRetention(source, compressListing(source)!.text, context))).toEqual(['all 26 matches carrying a term of the request, as printed']);
    expect(failed(checkListingRetention(source, good.replace(`${printed}\n`, ''), context))).toContain('all 26 matches carrying a term of the request, as printed');
  });
});
