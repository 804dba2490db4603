/** Query-string reading shared by /spend/logs and the admin UI. */

/**
 * The named query parameters, each given at most once as a plain string, or an error message naming
 * the first that is not. `?key_alias=a&key_alias=b` parses to an array (and `?a[b]=1` to an object
 * under the extended parser); read as "not a string → no filter", it returned every row.
 */
export function singleQuery<K extends string>(query: Record<string, unknown>, names: readonly K[]): Partial<Record<K, string>> | string {
  const out: Partial<Record<K, string>> = {};
  for (const name of names) {
    const v = query[name];
    if (v === undefined) continue;
    if (typeof v !== 'string') return `query parameter ${name} must be given once, as a plain value`;
    out[name] = v;
  }
  return out;
}
