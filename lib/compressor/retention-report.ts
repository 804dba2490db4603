/** The shape of a retention report and the helpers every retention check builds it with. */

export interface RetentionCheck {
  name: string;
  passed: boolean;
  /** What is missing, abridged. */
  detail?: string;
}

export interface RetentionReport {
  kind: 'json' | 'log' | 'listing' | 'table' | 'text';
  passed: boolean;
  checks: RetentionCheck[];
}

export function report(kind: RetentionReport['kind'], checks: RetentionCheck[]): RetentionReport {
  return { kind, passed: checks.every((c) => c.passed), checks };
}

function abridge(items: readonly string[]): string | undefined {
  if (items.length === 0) return undefined;
  const shown = items.slice(0, 3).map((item) => (item.length > 120 ? `${item.slice(0, 117)}...` : item));
  return `${items.length} missing: ${shown.join(' | ')}${items.length > 3 ? ' | ...' : ''}`;
}

/** A check that passes when nothing is missing. */
export function check(name: string, missing: readonly string[]): RetentionCheck {
  const detail = abridge(missing);
  return detail === undefined ? { name, passed: true } : { name, passed: false, detail };
}
