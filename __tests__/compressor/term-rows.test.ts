/**
 * Which rows the terms of a request keep: facets of different columns are conditions (intersected),
 * facets of one column alternatives (united), items (ids, free text) united; the question's facets
 * outrank a broader search's words in the tool arguments.
 */
import { profileRows } from '../../lib/compressor/json-profile';
import { TermMatcher } from '../../lib/compressor/term-match';
import { termRowsOf } from '../../lib/compressor/term-rows';
import { extractTerms } from '../../lib/compressor/terms';
import { random } from './requests';

const ENVS = ['production', 'staging', 'dev', 'preview'];
const STATES = ['succeeded', 'failed', 'rolled_back', 'in_progress'];
const QUEUES = ['emails', 'exports', 'webhooks', 'billing'];

/** 240 deployments: every env × state × queue combination, in a shuffled order, ids `dep_<n>`. */
function deployments() {
  const rnd = random(42);
  const rows = Array.from({ length: 240 }, (_, i) => ({
    id: `dep_${5000 + i}`,
    env: ENVS[i % 4],
    state: STATES[Math.floor(i / 4) % 4],
    queue: QUEUES[Math.floor(i / 16) % 4],
    note: i === 7 ? 'pinned by ops' : `build ${Math.floor(rnd() * 1e6)}`,
  }));
  return rows;
}

function kept(question: string | undefined, args?: object) {
  const rows = deployments();
  const profile = profileRows(rows)!;
  const picked = termRowsOf(profile, new TermMatcher(extractTerms({ question, toolArguments: args === undefined ? undefined : JSON.stringify(args) })));
  return { rows, picked: new Set(picked) };
}

const where = (rows: ReturnType<typeof deployments>, test: (row: ReturnType<typeof deployments>[number]) => boolean) => new Set(rows.flatMap((row, i) => (test(row) ? [i] : [])));

describe('facets', () => {
  it('intersects conditions of different columns', () => {
    const { rows, picked } = kept('Which production deployments failed?');
    expect(picked).toEqual(where(rows, (r) => r.env === 'production' && r.state === 'failed'));
  });

  it('unites alternatives of one column', () => {
    const { rows, picked } = kept('Which production deployments failed or were rolled_back?');
    expect(picked).toEqual(where(rows, (r) => r.env === 'production' && (r.state === 'failed' || r.state === 'rolled_back')));
  });

  it('takes an argument naming a field of the data as a condition (queue: webhooks)', () => {
    const { rows, picked } = kept('Which of these failed?', { queue: 'webhooks' });
    expect(picked).toEqual(where(rows, (r) => r.queue === 'webhooks' && r.state === 'failed'));
  });

  it('does not narrow a follow-up question by the words of an earlier search', () => {
    const { rows, picked } = kept('Focus on the staging ones', { query: 'webhooks failed' });
    expect(picked).toEqual(where(rows, (r) => r.env === 'staging'));
  });

  it('uses the search words when the question names no facet', () => {
    const { rows, picked } = kept('What went wrong here?', { query: 'webhooks' });
    expect(picked).toEqual(where(rows, (r) => r.queue === 'webhooks'));
  });
});

describe('items and fallbacks', () => {
  it('unites items (ids, free text) with the facet rows', () => {
    const { rows, picked } = kept('Were dep_5009 or the pinned one failed in production?');
    const expected = where(rows, (r) => (r.env === 'production' && r.state === 'failed') || r.id === 'dep_5009' || r.note === 'pinned by ops');
    expect(picked).toEqual(expected);
  });

  it('falls back to each facet alone when no row meets every condition, within half of the rows', () => {
    const rows = deployments().map((row) => (row.env === 'production' && row.state === 'failed' ? { ...row, state: 'succeeded' } : row));
    const picked = termRowsOf(profileRows(rows)!, new TermMatcher(extractTerms({ question: 'failed production deployments?' })));
    expect(picked.length).toBeLessThanOrEqual(120);
    expect(picked.length).toBeGreaterThan(0);
  });

  it('keeps nothing for terms no row carries', () => {
    expect(kept('Which invoices are overdue?').picked.size).toBe(0);
    expect(kept(undefined).picked.size).toBe(0);
  });
});
