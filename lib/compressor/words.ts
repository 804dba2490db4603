/**
 * Words as the salient-term code sees them, shared by extraction (terms.ts) and matching
 * (term-match.ts) so that both sides agree on what a whole word is and on how a word is normalised.
 */

const WORD = 1;
const LETTER = 2;
/** ASCII characters by class (a table lookup per character in the scans of every row and line). */
const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  if (letter || (c >= 48 && c <= 57) || c === 95) ASCII_CLASS[c] |= WORD;
  if (letter) ASCII_CLASS[c] |= LETTER;
}

/**
 * A character that continues a word: ASCII letters, digits, `_`, and any non-ASCII character except
 * spaces and punctuation blocks (so `Müller` and `東京` are words, `“` and a no-break space are not).
 */
export function isWordCode(c: number): boolean {
  if (c < 128) return (ASCII_CLASS[c] & WORD) !== 0;
  return !(c === 0xa0 || c === 0xfeff || (c >= 0x2000 && c <= 0x206f) || (c >= 0x3000 && c <= 0x303f) || (c >= 0xff00 && c <= 0xff0f) || c === 0xab || c === 0xbb);
}

/** A letter for the stem split: like a word character, minus digits and `_` (`payment_refunded` holds `refunded`). */
export function isLetterCode(c: number): boolean {
  return c < 128 ? (ASCII_CLASS[c] & LETTER) !== 0 : isWordCode(c);
}

/** Past forms the suffix rules cannot reach, as questions about code and jobs use them (`where is X thrown?`). */
const IRREGULAR: Readonly<Record<string, string>> = Object.assign(Object.create(null) as Record<string, string>, {
  thrown: 'throw',
  threw: 'throw',
  written: 'writ',
  wrote: 'writ',
  broken: 'break',
  broke: 'break',
  sent: 'send',
  built: 'build',
  caught: 'catch',
  ran: 'run',
  began: 'begin',
  begun: 'begin',
  stolen: 'steal',
  froze: 'freez',
  frozen: 'freez',
  hung: 'hang',
});

function isVowel(c: string): boolean {
  return c === 'a' || c === 'e' || c === 'i' || c === 'o' || c === 'u' || c === 'y';
}

function hasVowel(word: string, end: number): boolean {
  for (let i = 0; i < end; i++) if (isVowel(word[i])) return true;
  return false;
}

/**
 * A light suffix stripper for lower-case words, so that `refund`, `refunds`, `refunded` and
 * `refunding` meet (and `declined`/`declines`, `policy`/`policies`, `shipped`/`ships`). Not an
 * English stemmer: it only has to map a question's word and an output's word to the same key, and
 * the same function runs on both sides. Never shortens a word below three characters.
 */
export function stem(word: string): string {
  const irregular = IRREGULAR[word];
  if (irregular !== undefined) return irregular;
  if (word.length <= 3) return word;
  let w = word;
  if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('ies') && w.length > 4) w = w.slice(0, -2);
  else if (w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us') && !w.endsWith('is')) w = w.slice(0, -1);
  if (w.endsWith('ed') && w.length - 2 >= 3 && hasVowel(w, w.length - 2)) w = w.slice(0, -2);
  else if (w.endsWith('ing') && w.length - 3 >= 3 && hasVowel(w, w.length - 3)) w = w.slice(0, -3);
  if (w.length > 3 && w.endsWith('e')) w = w.slice(0, -1);
  if (w.length > 3 && w.endsWith('y')) w = `${w.slice(0, -1)}i`;
  // A doubled final consonant left by a stripped suffix (`shipped` → `shipp`) and in the bare word (`pass`).
  const last = w[w.length - 1];
  if (w.length > 3 && last === w[w.length - 2] && !isVowel(last)) w = w.slice(0, -1);
  return w;
}

/**
 * Words that carry no value a row could hold: function words, and the verbs and nouns of asking
 * for data (`show`, `list`, `rows`, `entries`). A word not listed here that still matches most rows
 * is dropped by the carrier cut (term-match.ts), not here.
 */
export const STOPWORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all also am an and any are as at be because been before being below between both but by can could did do does ' +
    'doing done down during each either else ever every few for from further get gets got had has have having he her here hers him his how i if in into ' +
    'is it its itself just let like may me might more most much must my no nor not now of off on once only or other our out over own please same shall ' +
    'she should so some such than that the their them then there these they this those through to too under until up us very was we were what when ' +
    'where which while who whom whose why will with would you your yes ok okay ' +
    'show shows list lists find give tell fetch look check see display print return search query help need want know many count number total ' +
    'ones one thing things item items row rows line lines entry entries record records result results output data value values field fields ' +
    'file files tool call using use able happen happened did does last first latest recent anything something everything all'
  ).split(' '),
);
