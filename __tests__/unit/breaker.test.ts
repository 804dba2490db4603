/**
 * The circuit breaker (lib/breaker.ts) on a hand-driven clock: no timers, no sleeps. Every state
 * change is read back from `state`, `tryAcquire()` and the `onChange` log.
 */
import fc from 'fast-check';
import { CircuitBreaker, type BreakerState } from '../../lib/breaker';

type Change = [from: BreakerState, to: BreakerState, failures: number];

function setup(failureThreshold = 3, cooldownMs = 1000) {
  let t = 10_000;
  const changes: Change[] = [];
  const breaker = new CircuitBreaker(
    failureThreshold,
    cooldownMs,
    (from, to, failures) => changes.push([from, to, failures]),
    () => t,
  );
  const advance = (ms: number) => {
    t += ms;
  };
  return { breaker, changes, advance };
}

/** Drives a closed breaker open with `n` acquired-and-failed calls. */
function failTimes(breaker: CircuitBreaker, n: number) {
  for (let i = 0; i < n; i++) {
    expect(breaker.tryAcquire()).toBe(true);
    breaker.failure();
  }
}

describe('closed', () => {
  test('starts closed and lets every call through', () => {
    const { breaker, changes } = setup();
    expect(breaker.state).toBe('closed');
    for (let i = 0; i < 10; i++) expect(breaker.tryAcquire()).toBe(true);
    expect(changes).toEqual([]);
  });

  test('opens after exactly failureThreshold consecutive failures, not one before', () => {
    const { breaker, changes } = setup(3);
    failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
    expect(changes).toEqual([]);
    failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(changes).toEqual([['closed', 'open', 3]]);
  });

  test('a success in between resets the count', () => {
    const { breaker, changes } = setup(3);
    failTimes(breaker, 2);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.success();
    failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
    failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
    // Three since the success, not five in all.
    expect(changes).toEqual([['closed', 'open', 3]]);
  });

  test('a threshold of 1 opens on the first failure', () => {
    const { breaker, changes } = setup(1);
    failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(changes).toEqual([['closed', 'open', 1]]);
  });

  test('success and release while closed change nothing', () => {
    const { breaker, changes } = setup();
    breaker.success();
    breaker.release();
    expect(breaker.state).toBe('closed');
    expect(changes).toEqual([]);
  });
});

describe('open', () => {
  test('refuses tryAcquire until cooldownMs has passed, then reads half_open', () => {
    const { breaker, changes, advance } = setup(2, 1000);
    failTimes(breaker, 2);
    expect(breaker.tryAcquire()).toBe(false);
    advance(999);
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    advance(1);
    expect(breaker.state).toBe('half_open');
    // Reading the state is not a transition: onChange hears of half_open when the probe goes out.
    expect(changes).toEqual([['closed', 'open', 2]]);
  });

  test('refusals do not extend the cooldown', () => {
    const { breaker, advance } = setup(1, 1000);
    failTimes(breaker, 1);
    for (let i = 0; i < 10; i++) {
      advance(99);
      expect(breaker.tryAcquire()).toBe(false);
    }
    advance(10); // 1000 ms since it opened
    expect(breaker.tryAcquire()).toBe(true);
  });
});

describe('half-open', () => {
  test('exactly one probe at a time; the first acquire reports open -> half_open', () => {
    const { breaker, changes, advance } = setup(2, 1000);
    failTimes(breaker, 2);
    advance(1000);
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.state).toBe('half_open');
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.tryAcquire()).toBe(false);
    advance(60_000); // time alone does not free the slot
    expect(breaker.tryAcquire()).toBe(false);
    expect(changes).toEqual([
      ['closed', 'open', 2],
      ['open', 'half_open', 2],
    ]);
  });

  test('probe success closes it and resets the failure count', () => {
    const { breaker, changes, advance } = setup(2, 1000);
    failTimes(breaker, 2);
    advance(1000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(changes.at(-1)).toEqual(['half_open', 'closed', 0]);
    // Closed again with a fresh count: one failure does not re-open it.
    failTimes(breaker, 1);
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
    expect(changes).toHaveLength(3);
  });

  test('probe failure re-opens it with a new cooldown from that moment', () => {
    const { breaker, changes, advance } = setup(2, 1000);
    failTimes(breaker, 2);
    advance(1500);
    expect(breaker.tryAcquire()).toBe(true);
    advance(300); // the probe takes 300 ms to fail
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    expect(changes).toEqual([
      ['closed', 'open', 2],
      ['open', 'half_open', 2],
      ['half_open', 'open', 3],
    ]);
    // 1000 ms from the probe's failure, not from the first opening (which was 1800 ms ago).
    advance(999);
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    advance(1);
    expect(breaker.state).toBe('half_open');
    expect(breaker.tryAcquire()).toBe(true);
    expect(changes.at(-1)).toEqual(['open', 'half_open', 3]);
  });

  test('release() frees the probe slot without changing state', () => {
    const { breaker, changes, advance } = setup(2, 1000);
    failTimes(breaker, 2);
    advance(1000);
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    const before = changes.length;
    breaker.release();
    expect(breaker.state).toBe('half_open');
    expect(changes).toHaveLength(before);
    // The next probe goes out without another open -> half_open report.
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    expect(changes).toHaveLength(before);
  });

  test('a released probe leaves the breaker half-open: a later failure that was not a probe does not re-open it', () => {
    const { breaker, changes, advance } = setup(2, 1000);
    failTimes(breaker, 2);
    advance(1000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.release();
    breaker.failure();
    expect(breaker.state).toBe('half_open');
    expect(changes).toHaveLength(2);
  });
});

describe('onChange', () => {
  test('one call per transition, in order, over a full cycle', () => {
    const { breaker, changes, advance } = setup(3, 500);
    failTimes(breaker, 3); // closed -> open
    advance(500);
    expect(breaker.tryAcquire()).toBe(true); // open -> half_open
    breaker.failure(); // half_open -> open
    advance(500);
    expect(breaker.tryAcquire()).toBe(true); // open -> half_open
    breaker.success(); // half_open -> closed
    expect(changes).toEqual([
      ['closed', 'open', 3],
      ['open', 'half_open', 3],
      ['half_open', 'open', 4],
      ['open', 'half_open', 4],
      ['half_open', 'closed', 0],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Model-based: random sequences of operations against a small reference model.

/**
 * The reference: what the breaker's documentation says, written as plainly as possible.
 * - closed: calls go through; `threshold` consecutive failures open it.
 * - open: nothing goes through until `cooldown` has passed since it opened; from then it reads
 *   half_open, and the first acquire (the probe) is when onChange hears of half_open.
 * - half_open: one probe at a time. success closes (count reset), a failure while a probe is out
 *   re-opens (new cooldown), release frees the slot.
 * - success always closes and resets; a failure that is not a probe's only counts.
 */
class Model {
  mode: 'closed' | 'open' | 'half_open' = 'closed';
  failures = 0;
  openedAt = 0;
  probeOut = false;
  now = 0;
  changes: Change[] = [];
  constructor(
    readonly threshold: number,
    readonly cooldown: number,
  ) {}

  get state(): BreakerState {
    return this.mode === 'open' && this.now >= this.openedAt + this.cooldown ? 'half_open' : this.mode;
  }
  private go(to: Model['mode']) {
    this.changes.push([this.mode, to, this.failures]);
    this.mode = to;
  }
  tryAcquire(): boolean {
    switch (this.state) {
      case 'closed':
        return true;
      case 'open':
        return false;
      default:
        if (this.probeOut) return false;
        if (this.mode === 'open') this.go('half_open');
        this.probeOut = true;
        return true;
    }
  }
  success() {
    this.failures = 0;
    this.probeOut = false;
    if (this.mode !== 'closed') this.go('closed');
  }
  failure() {
    this.failures += 1;
    const probeFailed = this.probeOut;
    this.probeOut = false;
    if (probeFailed || (this.mode === 'closed' && this.failures >= this.threshold)) {
      this.openedAt = this.now;
      this.go('open');
    }
  }
  release() {
    this.probeOut = false;
  }
}

interface Real {
  breaker: CircuitBreaker;
  changes: Change[];
  clock: { t: number };
}

/** After every command: same state, same onChange log, and the log is a consistent chain. */
function agree(m: Model, r: Real) {
  expect(r.breaker.state).toBe(m.state);
  expect(r.changes).toEqual(m.changes);
  r.changes.forEach(([from, to], i) => {
    expect(from).not.toBe(to);
    expect(from).toBe(i === 0 ? 'closed' : r.changes[i - 1][1]);
  });
}

class Advance implements fc.Command<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  run(m: Model, r: Real) {
    m.now += this.ms;
    r.clock.t += this.ms;
    agree(m, r);
  }
  toString = () => `advance(${this.ms})`;
}
class Acquire implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real) {
    const wasHalfOpenWithProbe = m.state === 'half_open' && m.probeOut;
    const got = r.breaker.tryAcquire();
    expect(got).toBe(m.tryAcquire());
    // Independent of the model's bookkeeping: a second probe is never let out.
    if (wasHalfOpenWithProbe) expect(got).toBe(false);
    agree(m, r);
  }
  toString = () => 'tryAcquire';
}
class Success implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real) {
    r.breaker.success();
    m.success();
    expect(r.breaker.state).toBe('closed');
    agree(m, r);
  }
  toString = () => 'success';
}
class Failure implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real) {
    r.breaker.failure();
    m.failure();
    agree(m, r);
  }
  toString = () => 'failure';
}
class Release implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real) {
    const before = r.breaker.state;
    r.breaker.release();
    m.release();
    expect(r.breaker.state).toBe(before);
    agree(m, r);
  }
  toString = () => 'release';
}

/** A threshold, a cooldown, and commands whose clock advances favour 1 ms and just under / at / over the cooldown. */
const scenario = fc.record({ threshold: fc.integer({ min: 1, max: 4 }), cooldown: fc.integer({ min: 1, max: 100 }) }).chain(({ threshold, cooldown }) =>
  fc.record({
    threshold: fc.constant(threshold),
    cooldown: fc.constant(cooldown),
    cmds: fc.commands(
      [
        fc.oneof(fc.constantFrom(1, cooldown - 1, cooldown, cooldown + 1), fc.integer({ min: 0, max: 2 * cooldown })).map((ms) => new Advance(ms)),
        fc.constant(new Acquire()),
        fc.constant(new Acquire()), // weighted: acquires are what exercise the probe slot
        fc.constant(new Success()),
        fc.constant(new Failure()),
        fc.constant(new Failure()),
        fc.constant(new Release()),
      ],
      { maxCommands: 60, size: 'max' },
    ),
  }),
);

test('model-based: random sequences of advance / tryAcquire / success / failure / release', () => {
  fc.assert(
    fc.property(scenario, ({ threshold, cooldown, cmds }) => {
      const clock = { t: 5_000 };
      const changes: Change[] = [];
      const breaker = new CircuitBreaker(
        threshold,
        cooldown,
        (from, to, failures) => changes.push([from, to, failures]),
        () => clock.t,
      );
      const model = new Model(threshold, cooldown);
      model.now = clock.t;
      fc.modelRun(() => ({ model, real: { breaker, changes, clock } }), cmds);
    }),
    { numRuns: 300 },
  );
});

test('model-based runs reach every state and transition (the generator is not vacuous)', () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(scenario, ({ threshold, cooldown, cmds }) => {
      const clock = { t: 0 };
      const changes: Change[] = [];
      const breaker = new CircuitBreaker(
        threshold,
        cooldown,
        (from, to, failures) => {
          seen.add(`${from}->${to}`);
          changes.push([from, to, failures]);
        },
        () => clock.t,
      );
      const model = new Model(threshold, cooldown);
      fc.modelRun(() => ({ model, real: { breaker, changes, clock } }), cmds);
    }),
    { numRuns: 100, seed: 14 },
  );
  expect([...seen].sort()).toEqual(['closed->open', 'half_open->closed', 'half_open->open', 'open->closed', 'open->half_open']);
});
