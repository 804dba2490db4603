/**
 * Finding salient terms (terms.ts) in a tool output's rows and lines, and choosing which of them a
 * transform must keep. A row or line "carries" a term when a cell value or the line holds it as a
 * whole word, case-insensitive (a `stem` term: any word of that stem; a `pair`: the field's cell, or
 * `field=value` / `field: value` in the text).
 *
 * The cut: a term carried by more than {@link MAX_CARRIER_SHARE} of the items does not discriminate
 * (asking about `open` tickets when most are open), so its items are not forced in: the summary's
 * value counts state how many there are, and a retrieval with the marker's hash returns them all.
 * Nor do all terms together force in more than that share: terms are taken in priority order and
 * one that would pass the share is skipped.
 * The transforms and the retention check (retention-terms.ts) share this function, so they agree.
 */
import type { Json } from './json-profile';
import type { Term } from './terms';
import { isLetterCode, isWordCode, stem } from './words';

/** Share of items above which a term is not discriminating and forces nothing in. */
export const MAX_CARRIER_SHARE = 0.5;

/** Index of `needle` in `hay` from `from` as a whole word (no word character just outside it), or -1. */
export function findWhole(hay: string, needle: string, from: number): number {
  const startsWord = isWordCode(needle.charCodeAt(0));
  const endsWord = isWordCode(needle.charCodeAt(needle.length - 1));
  for (let at = hay.indexOf(needle, from); at !== -1; at = hay.indexOf(needle, at + 1)) {
    const before = at > 0 && startsWord && isWordCode(hay.charCodeAt(at - 1));
    const after = endsWord && at + needle.length < hay.length && isWordCode(hay.charCodeAt(at + needle.length));
    if (!before && !after) return at;
  }
  return -1;
}

function skipBlanks(text: string, at: number): number {
  let j = at;
  while (j < at + 3 && (text[j] === ' ' || text[j] === '\t')) j++;
  return j;
}

/** `field=value`, `field: value`, `"field":"value"` in a lower-case text. */
function hasPair(lower: string, field: string, value: string): boolean {
  for (let at = findWhole(lower, field, 0); at !== -1; at = findWhole(lower, field, at + 1)) {
    let j = at + field.length;
    if (lower[j] === '"' || lower[j] === "'") j++;
    j = skipBlanks(lower, j);
    if (lower[j] !== '=' && lower[j] !== ':') continue;
    j = skipBlanks(lower, j + 1);
    if (lower[j] === '"' || lower[j] === "'") j++;
    if (lower.startsWith(value, j) && findWhole(lower, value, j) === j) return true;
  }
  return false;
}

/** A cell as the text a reader sees: strings as themselves, everything else as JSON. */
function cellText(cell: Json): string {
  return typeof cell === 'string' ? cell : JSON.stringify(cell);
}

/** Words seen by the stem split repeat line after line: their stems are remembered, bounded. */
const MAX_STEM_MEMO = 8192;
/** Cell texts up to this length have their terms remembered, up to this many texts. */
const MAX_MEMO_CELL = 128;
const MAX_CELL_MEMO = 8192;

export class TermMatcher {
  /** Terms made of word characters only, by text: looked up per word of the text. */
  private readonly words = new Map<string, number[]>();
  private readonly wordLengths = new Set<number>();
  /** Other `text` terms (`t-5000`, `late fee`): searched with indexOf. */
  private readonly phrases: { index: number; text: string }[] = [];
  private readonly stems = new Map<string, number[]>();
  /** First three letters of every stem (as {@link headKey}): most words are rejected without being stemmed. */
  private readonly stemHeads = new Set<number>();
  private readonly pairs: { index: number; field: string; value: string }[] = [];
  private readonly stemMemo = new Map<string, string>();
  private readonly cellMemo = new Map<string, readonly number[]>();
  /** Column paths are few (bounded by the columns of the arrays a document holds). */
  private readonly fields = new Map<string, { lowerPath: string; field: string }>();

  constructor(readonly terms: readonly Term[]) {
    terms.forEach((term, index) => {
      if (term.kind === 'pair') this.pairs.push({ index, field: term.field!, value: term.text });
      else if (term.kind === 'stem') {
        push(this.stems, term.text, index);
        this.stemHeads.add(headKey(term.text, 0));
      } else if ([...term.text].every((ch) => isWordCode(ch.charCodeAt(0)))) {
        push(this.words, term.text, index);
        this.wordLengths.add(term.text.length);
      } else this.phrases.push({ index, text: term.text });
    });
  }

  /** Adds to `into` the indices of the terms `text` carries. */
  carriedBy(text: string, into: Set<number>): void {
    if (this.words.size > 0 || this.stems.size > 0) this.scanWords(text, into);
    if (this.phrases.length === 0 && this.pairs.length === 0) return;
    const lower = text.toLowerCase();
    for (const phrase of this.phrases) if (findWhole(lower, phrase.text, 0) !== -1) into.add(phrase.index);
    for (const pair of this.pairs) if (hasPair(lower, pair.field, pair.value)) into.add(pair.index);
  }

  /**
   * A JSON row (path → cell), cell by cell: each term a cell value carries, and each `pair` whose
   * field is the cell's, is recorded in `found` with the paths it was found at.
   */
  carriedByRow(cells: ReadonlyMap<string, Json>, found: Map<number, string[]>): void {
    const inCell = new Set<number>();
    for (const [path, cell] of cells) {
      const text = cellText(cell);
      inCell.clear();
      this.carriedByCell(text, inCell);
      if (this.pairs.length > 0) {
        const { lowerPath, field } = this.fieldOf(path);
        for (const pair of this.pairs) {
          if ((pair.field === field || pair.field === lowerPath) && findWhole(text.toLowerCase(), pair.value, 0) !== -1) inCell.add(pair.index);
        }
      }
      for (const t of inCell) {
        const paths = found.get(t);
        if (paths === undefined) found.set(t, [path]);
        else paths.push(path);
      }
    }
  }

  /** A column path lower-cased, and its last segment (the field a `pair` names): once per column. */
  private fieldOf(path: string): { lowerPath: string; field: string } {
    let known = this.fields.get(path);
    if (known === undefined) {
      const lowerPath = path.toLowerCase();
      this.fields.set(path, (known = { lowerPath, field: lowerPath.slice(lowerPath.lastIndexOf('.') + 1) }));
    }
    return known;
  }

  /**
   * `carriedBy` for a cell. Columns repeat their values (a status, a tier, a country): the terms of
   * short cell texts are remembered, bounded.
   */
  private carriedByCell(text: string, into: Set<number>): void {
    if (text.length > MAX_MEMO_CELL) {
      this.carriedBy(text, into);
      return;
    }
    let known = this.cellMemo.get(text);
    if (known === undefined) {
      const carried = new Set<number>();
      this.carriedBy(text, carried);
      if (this.cellMemo.size >= MAX_CELL_MEMO) this.cellMemo.clear();
      this.cellMemo.set(text, (known = [...carried]));
    }
    for (const t of known) into.add(t);
  }

  /**
   * One pass over the word runs (for `text` terms) and letter runs (for `stem` terms) of a text, case
   * folded on the fly: only a run that may be a term (its length, its first three letters) is cut
   * out and lower-cased.
   */
  private scanWords(text: string, into: Set<number>): void {
    let wordStart = -1;
    let letterStart = -1;
    for (let i = 0; i <= text.length; i++) {
      const c = i < text.length ? text.charCodeAt(i) : 32;
      if (isWordCode(c)) {
        if (wordStart < 0) wordStart = i;
      } else if (wordStart >= 0) {
        if (this.wordLengths.has(i - wordStart)) addAll(into, this.words.get(text.slice(wordStart, i).toLowerCase()));
        wordStart = -1;
      }
      if (isLetterCode(c)) {
        if (letterStart < 0) letterStart = i;
      } else if (letterStart >= 0) {
        if (i - letterStart >= 3 && this.stemHeads.has(foldedHeadKey(text, letterStart))) addAll(into, this.stems.get(this.stemOf(text.slice(letterStart, i).toLowerCase())));
        letterStart = -1;
      }
    }
  }

  private stemOf(word: string): string {
    let known = this.stemMemo.get(word);
    if (known === undefined) {
      if (this.stemMemo.size >= MAX_STEM_MEMO) this.stemMemo.clear();
      this.stemMemo.set(word, (known = stem(word)));
    }
    return known;
  }
}

/** Three UTF-16 units from `at` as one number (exact: 3 × 16 bits fit a double), so no string is cut per word. */
function headKey(text: string, at: number): number {
  return text.charCodeAt(at) * 4294967296 + text.charCodeAt(at + 1) * 65536 + text.charCodeAt(at + 2);
}

/** A unit lower-cased: ASCII by arithmetic, anything else the way toLowerCase does (rare, so allocating is fine). */
function foldCode(c: number): number {
  if (c < 128) return c >= 65 && c <= 90 ? c + 32 : c;
  const lower = String.fromCharCode(c).toLowerCase();
  return lower.length === 1 ? lower.charCodeAt(0) : c;
}

/** {@link headKey} of the lower-cased text. */
function foldedHeadKey(text: string, at: number): number {
  return foldCode(text.charCodeAt(at)) * 4294967296 + foldCode(text.charCodeAt(at + 1)) * 65536 + foldCode(text.charCodeAt(at + 2));
}

function push(map: Map<string, number[]>, key: string, index: number): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [index]);
  else list.push(index);
}

function addAll(into: Set<number>, indices: readonly number[] | undefined): void {
  if (indices !== undefined) for (const index of indices) into.add(index);
}

/**
 * Blocks of items, one per term, in the order they claim room under the limit: the question's terms
 * first (what is asked now), then the arguments' (what the tool was asked: a search pattern every
 * line of its output matches would otherwise crowd the question out), each in term priority order.
 */
export function questionFirst<T>(terms: readonly Term[], blocks: readonly T[]): T[] {
  const fromQuestion = blocks.filter((_, t) => terms[t].source !== 'arguments');
  return [...fromQuestion, ...blocks.filter((_, t) => terms[t].source === 'arguments')];
}

/**
 * The items (of `count`) to keep: every item carrying a term that at most {@link MAX_CARRIER_SHARE}
 * of `population` items carry (`population`: the items that count, e.g. a log's non-blank lines),
 * and no more than that share in all (see {@link questionFirst}). `carried(i, into)` adds the
 * indices (in `terms`) of the terms item `i` carries. Ascending.
 */
export function selectCarriers(count: number, terms: readonly Term[], carried: (item: number, into: Set<number>) => void, population = count): number[] {
  if (terms.length === 0 || count === 0) return [];
  const limit = Math.floor(population * MAX_CARRIER_SHARE);
  // Per term, its items so far; null once it has more than the limit (cut).
  const perTerm: (number[] | null)[] = terms.map(() => []);
  const into = new Set<number>();
  for (let i = 0; i < count; i++) {
    into.clear();
    carried(i, into);
    for (const t of into) {
      const items = perTerm[t];
      if (items === null) continue;
      if (items.length >= limit) perTerm[t] = null;
      else items.push(i);
    }
  }
  return keepWithin(
    questionFirst(terms, perTerm).filter((items): items is number[] => items !== null),
    limit,
  );
}

/**
 * The union of `blocks` (each a list of items), taken in order: a block over `limit` by itself, or
 * one that would bring the union past it, is skipped, so many weak terms (a question quoting the
 * output) cannot keep it all. Ascending.
 */
export function keepWithin(blocks: readonly (readonly number[])[], limit: number): number[] {
  const keep = new Set<number>();
  for (const block of blocks) {
    let added = 0;
    for (const i of block) if (!keep.has(i)) added++;
    if (keep.size + added <= limit) for (const i of block) keep.add(i);
  }
  return [...keep].sort((a, b) => a - b);
}
