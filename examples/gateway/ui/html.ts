/**
 * HTML for the admin UI without a template engine: one `escapeHtml`, and an `html` tagged template
 * that passes every interpolated value through it. Only `SafeHtml` (what `html` itself returns) is
 * inserted as is, so a value from the database can never become markup: a key alias
 * `<script>alert(1)</script>` renders as that text.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes for element content and for quoted attribute values alike. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Markup that has already been escaped (built by `html`). */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** What may be interpolated: text (escaped), markup from `html`, lists of either; null, undefined and false render nothing. */
export type Interpolation = SafeHtml | string | number | boolean | null | undefined | readonly Interpolation[];

function render(v: Interpolation): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(v);
}

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/** A constant of this module's own (the stylesheet): never pass it anything from a request or the database. */
export function trusted(constant: string): SafeHtml {
  return new SafeHtml(constant);
}
