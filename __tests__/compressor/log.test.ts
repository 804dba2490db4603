import fc from 'fast-check';
import { classifyLogLines, compressLog } from '../../lib/compressor/log';
import { lineShape, templateLine } from '../../lib/compressor/log-template';
import { checkLogRetention } from '../../lib/compressor/retention';
import { cleanText } from '../../lib/compressor/text';
import { tokenCounterFor } from '../../lib/compressor/tokens';
import { generated, sharedToolOutputs } from './fixtures';

const o200k = tokenCounterFor('gpt-4o');

function folded(text: string): string {
  const result = compressLog(cleanText(text));
  if (result === null) throw new Error('not folded');
  return result.text;
}

describe('line templates', () => {
  it('replaces timestamps, ids, hex, addresses and numbers by typed placeholders', () => {
    const { template, values, kinds } = templateLine(
      '2026-11-26T10:00:00.123Z INFO worker[4000] req=3f2a9c1e77 trace=0f8fad5b-d9cb-469f-a165-70867728950e from 10.0.0.7:5432 took 34ms',
    );
    expect(template).toBe('<ts> INFO worker[<n>] req=<hex> trace=<id> from <ip> took <n>');
    expect(kinds).toEqual(['ts', 'n', 'hex', 'id', 'ip', 'n']);
    expect(values).toEqual(['2026-11-26T10:00:00.123Z', '4000', '3f2a9c1e77', '0f8fad5b-d9cb-469f-a165-70867728950e', '10.0.0.7:5432', '34ms']);
  });

  it('takes prefixed ids (req_9f3a0b1c2d, usr_10023) for ids, not names with digits', () => {
    const { template, values, kinds } = templateLine('INFO [checkout] req_9f3a0b1c2d user=usr_10023 GET /api/cart');
    expect(template).toBe('INFO [checkout] <id> user=<id> GET /api/cart');
    expect(values).toEqual(['req_9f3a0b1c2d', 'usr_10023']);
    expect(kinds).toEqual(['id', 'id']);
    for (const word of ['x86_64', 'utf8_general_ci', 'payment_refunded', 'log_level', 'req_abc123_x', 'req_12', 'v2_1234567', 'tls_v1']) {
      expect(templateLine(`id ${word} end`).template).toBe(`id ${word} end`);
    }
  });

  it('leaves numbers that are part of a word alone', () => {
    expect(templateLine('upgrade to v2 on x86_64 with sha256 and utf8').template).toBe('upgrade to v2 on x86_64 with sha256 and utf8');
    expect(templateLine('Nov 26 10:00:00 host sshd[811]: accepted').template).toBe('<ts> host sshd[<n>]: accepted');
  });

  it('finds the same parts with and without the shortcuts past the patterns', () => {
    // Words that sit on the shortcuts' edges: hex words of 7-9 characters with and without digits or
    // upper case, units and near-units, UUID and date heads, decimals, addresses, 0x, syslog months.
    const words = [
      '9f001eef',
      '9f001ee',
      '9f001eef0',
      'deadbeef',
      'deadbeef1',
      'DEADBEEF1',
      '1234567d',
      '1234567b',
      '123456kb',
      '0x1f',
      '48ms',
      '1200s',
      '5mb',
      '5MiB',
      '3d',
      '7x',
      '12µs',
      '50%',
      '1.5s',
      '10.0.0.7:5432',
      '0f8fad5b-d9cb-469f-a165-70867728950e',
      '2026-11-26',
      '2026-11-26T10:00:00.123Z',
      '10:00:01',
      'Nov',
      '26',
      'v2',
      'x86_64',
      'req_9f3a0b1c2d',
      'usr_1002x',
      'abc',
      '-',
      '.',
      ':',
      '/',
      '_',
      '=',
      '[',
      ']',
    ];
    const line = fc
      .array(fc.tuple(fc.constantFrom(...words), fc.constantFrom(' ', '', '-', '.', '=', ':', '/', ' req=')), { maxLength: 12 })
      .map((parts) => parts.map(([word, sep]) => word + sep).join(''));
    fc.assert(
      fc.property(line, (text) => {
        expect(templateLine(text)).toEqual(templateLine(text, false));
      }),
      { numRuns: 5000 },
    );
    for (const text of [...sharedToolOutputs().workerLog.split('\n'), ...generated('service.log').split('\n')]) {
      expect(templateLine(text)).toEqual(templateLine(text, false));
    }
  });

  it('gives a folded line the same shape as the lines it stands for', () => {
    expect(lineShape('<10:00..10:59> INFO worker[<4000|4001>] size=50 latency_ms=<20..39>')).toBe(lineShape('10:00:01 INFO worker[4000] size=50 latency_ms=34'));
  });
});

describe('line roles', () => {
  it('keeps levels in upper case, level= fields, exceptions and traces; folds the rest', () => {
    const lines = [
      'INFO processed 0 errors, 0 failures',
      '2026-11-26 ERROR payment failed',
      'ts=1 level=warn msg="disk 91% full"',
      'TypeError: x is undefined',
      '    at run (/srv/app.js:1:2)',
      'Traceback (most recent call last):',
      '  File "a.py", line 1, in <module>',
      '    main()',
      'ValueError: bad',
      'INFO done',
      '',
    ];
    expect(classifyLogLines(lines)).toEqual(['plain', 'severe', 'severe', 'trace', 'trace', 'trace', 'trace', 'trace', 'trace', 'plain', 'blank']);
  });
});

describe('worker.log from the Claude Code session', () => {
  const { workerLog } = sharedToolOutputs();
  const out = folded(workerLog);
  const outLines = out.split('\n');

  it('folds the 253 INFO lines into one pattern with their count and value ranges', () => {
    expect(out).toContain(
      '[×253] <2026-11-26T10:00:00.123Z..2026-11-26T10:59:02.123Z> INFO  payment-worker[<4000|4001|4002>] processed batch size=50 latency_ms=<20..40> queue=payments',
    );
  });

  it('keeps all 7 ERROR lines verbatim', () => {
    const errors = workerLog.split('\n').filter((line) => line.includes(' ERROR '));
    expect(errors).toHaveLength(7);
    for (const line of errors) expect(outLines).toContain(line);
  });

  it('passes the retention checks and saves at least 70%', () => {
    const report = checkLogRetention(workerLog, out);
    expect(report.checks.filter((c) => !c.passed)).toEqual([]);
    expect(o200k.count(out) / o200k.count(workerLog)).toBeLessThan(0.3);
  });
});

describe('generated service.log (colours, WARN/ERROR, Python traceback, JS stack)', () => {
  const source = generated('service.log');
  const out = folded(source);

  it('removes the colour codes', () => {
    expect(source).toContain('\x1b[32m');
    expect(out).not.toContain('\x1b');
  });

  it('keeps the Python traceback whole, verbatim and contiguous', () => {
    const traceback = [
      'Traceback (most recent call last):',
      '  File "/srv/app/handlers/checkout.py", line 88, in post',
      '    order = service.place_order(cart, user)',
      '  File "/srv/app/services/orders.py", line 142, in place_order',
      '    total = self._price(cart.items)',
      '  File "/srv/app/services/orders.py", line 57, in _price',
      '    return sum(i.unit_cents * i.qty for i in items) / len(items)',
      'ZeroDivisionError: division by zero',
    ].join('\n');
    expect(out).toContain(traceback);
  });

  it('keeps the JS stack with its message, verbatim and contiguous', () => {
    expect(out).toContain(
      [
        "TypeError: Cannot read properties of undefined (reading 'token')",
        '    at refreshSession (/srv/sidecar/dist/session.js:41:23)',
        '    at async Promise.all (index 0)',
        '    at async Timeout._onTimeout (/srv/sidecar/dist/scheduler.js:17:5)',
      ].join('\n'),
    );
  });

  it('keeps the WARN lines and folds the repetitive ones', () => {
    expect(out).toContain('2026-11-26 14:06:00,908 WARN  gunicorn.worker[312] worker timeout (pid:312), restarting');
    expect(out).toMatch(/^\[×120\] .* INFO {2}app\.http GET \/api\/v2\/items\/<\d+\.\.\d+> 200 <\d+ms\.\.\d+ms> req_id=<120 distinct hex>$/m);
  });

  it('passes the retention checks and saves at least 70%', () => {
    expect(checkLogRetention(source, out).passed).toBe(true);
    expect(o200k.count(out) / o200k.count(source)).toBeLessThan(0.3);
  });
});

describe('folding rules', () => {
  it('writes identical severe lines once, verbatim, with their count', () => {
    const lines = [...Array.from({ length: 30 }, (_, i) => `tick ${i}`), ...Array.from({ length: 5 }, () => 'WARN deprecated option --legacy')];
    const out = folded(lines.join('\n'));
    expect(out).toContain('[×5] WARN deprecated option --legacy');
    expect(checkLogRetention(lines.join('\n'), out).passed).toBe(true);
  });

  it('declines a log with nothing to fold', () => {
    expect(compressLog(['alpha', 'beta', 'gamma one', 'delta two'].join('\n'))).toBeNull();
  });

  it('gives the same bytes for the same input', () => {
    const source = generated('service.log');
    expect(folded(source)).toBe(folded(source));
  });
});
