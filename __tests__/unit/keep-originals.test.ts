/**
 * keep-originals.ts: which hashes are kept, under which source, how often memo hits keep them
 * again, and what a failing store means.
 */
import { contentHash, retrievalMarker, type RetrievalRecord, type RetrievalStore } from '../../lib/ccr';
import type { TextSlot } from '../../lib/codec';
import { REFRESH_EVERY_MS, createOriginalKeeper, newMarkerHashes } from '../../lib/keep-originals';
import { quiet } from '../kit/app';

const slotOf = (text: string): TextSlot => ({ container: {}, field: 'content', text, kind: 'tool', row: 0, isNew: true, context: { call: { name: 'Bash', arguments: '{}' } } });

function recordingStore() {
  const puts: Array<{ hash: string; source: RetrievalRecord['source']; owner: string }> = [];
  const store: RetrievalStore & { failing: boolean } = {
    failing: false,
    async put(hash, record, owner) {
      if (store.failing) throw new Error('down');
      puts.push({ hash, source: record.source, owner });
    },
    async get() {
      return undefined;
    },
  };
  return { store, puts };
}

afterEach(() => jest.useRealTimers());

test('new markers only: a hash the original already printed is not one', () => {
  const original = 'log says hash=' + 'a'.repeat(24);
  const mine = contentHash(original);
  expect(newMarkerHashes(original, `${original.slice(0, 10)} ${retrievalMarker('5 of 9 lines folded', mine)} hash=${'a'.repeat(24)}`)).toEqual([mine]);
});

test("the content hash is kept as 'local', any other marker as 'service'", async () => {
  const { store, puts } = recordingStore();
  const keeper = createOriginalKeeper(store, 100, quiet);
  const text = 'x'.repeat(100);
  expect(await keeper.keep(slotOf(text), `${retrievalMarker('a', contentHash(text))} <<ccr:${'b'.repeat(16)},rows,9>>`, 'o')).toBe(true);
  expect(puts).toEqual([
    { hash: contentHash(text), source: 'local', owner: 'o' },
    { hash: 'b'.repeat(16), source: 'service', owner: 'o' },
  ]);
});

test('refresh keeps again at most once per hour per owner and output', async () => {
  jest.useFakeTimers({ now: new Date('2026-11-27T09:00:00Z') });
  const { store, puts } = recordingStore();
  const keeper = createOriginalKeeper(store, 100, quiet);
  const text = 'y'.repeat(100);
  const compressed = retrievalMarker('all', contentHash(text));
  await keeper.keep(slotOf(text), compressed, 'a');
  await keeper.refresh(slotOf(text), compressed, 'a');
  await keeper.refresh(slotOf(text), compressed, 'b');
  jest.setSystemTime(Date.now() + REFRESH_EVERY_MS - 1);
  await keeper.refresh(slotOf(text), compressed, 'a');
  jest.setSystemTime(Date.now() + 2);
  await keeper.refresh(slotOf(text), compressed, 'a');
  expect(puts.map((p) => p.owner)).toEqual(['a', 'b', 'a']);
});

test('a failing or hanging store: keep says false (the caller forwards the original), logged once per outage', async () => {
  const { store } = recordingStore();
  const warnings: string[] = [];
  const keeper = createOriginalKeeper(store, 30, { ...quiet, warn: (_o: object, m?: string) => warnings.push(String(m)) });
  const text = 'z'.repeat(100);
  const compressed = retrievalMarker('all', contentHash(text));
  store.failing = true;
  expect(await keeper.keep(slotOf(text), compressed, 'a')).toBe(false);
  expect(await keeper.keep(slotOf(text), compressed, 'a')).toBe(false);
  const hanging = createOriginalKeeper({ put: () => new Promise<void>(() => {}), get: async () => undefined }, 30, quiet);
  expect(await hanging.keep(slotOf(text), compressed, 'a')).toBe(false);
  store.failing = false;
  expect(await keeper.keep(slotOf(text), compressed, 'a')).toBe(true);
  expect(warnings).toEqual(['retrieval store unavailable; outputs with retrieval markers go on uncompressed', 'retrieval store available again']);
});
