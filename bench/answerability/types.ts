/**
 * What the answerability benchmark generates: a tool output, the question asked about it, and the
 * exact items that answer it. The answer is known because the output and the answer come from the
 * same generator, not from a judge.
 */

/** Kinds reported on their own rows; `fixtures` holds the shared, recorded sessions. */
export type Kind = 'json' | 'log' | 'listing' | 'table' | 'mixed' | 'fixtures';

/**
 * How the answer set can be recomputed from the output alone, by parsing it. The generators build
 * their answers from their own data model; the unit test parses the output with this criterion and
 * must find the same set, so a generator bug cannot hide in a wrong answer key.
 */
export type Criterion =
  /** Rows of the JSON array at `path` (object keys from the top; [] = the top level) whose fields (dotted paths) all equal `where`; the item is the row's `idField` value. */
  | { unit: 'json-rows'; path: string[]; idField: string; where: Record<string, string | number | boolean> }
  /** CSV with a header line: rows whose columns all equal `where`; the item is the whole line. */
  | { unit: 'csv-rows'; where: Record<string, string> }
  /** psql aligned table (`a | b` cells, `---+---` rule, `(N rows)` footer): rows whose trimmed cells equal `where`; the item is the whole line. */
  | { unit: 'table-rows'; where: Record<string, string> }
  /** Lines containing every term (case-sensitive substrings); the item is the whole line. */
  | { unit: 'lines'; all: string[] };

export interface AnswerCase {
  /** Stable name, e.g. `json-07`, unique within a run. */
  id: string;
  kind: Kind;
  /** Which template made it (for the worst-case list: tells which shape misses). */
  variant: string;
  toolName: string;
  toolArgs: Record<string, unknown>;
  /** The user's question, asked before the tool call. */
  question: string;
  /** The tool output, as the compressor receives it. */
  output: string;
  /** The exact texts to look for: a JSON row's unique id value, or a whole line. */
  answerItems: string[];
  /** `id`: an item is present when the value occurs as a whole token; `line`: when the whole line occurs. */
  itemKind: 'id' | 'line';
  /** What a model would pass as `query` when retrieving the original. */
  query: string;
  /** Absent for fixtures, whose answers are already computed by parsing. */
  criterion?: Criterion;
}

/** One generator: a seed in, one case out (the same seed always gives the same case). */
export type Generator = (seed: number, id: string) => AnswerCase;
