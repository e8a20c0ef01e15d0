/**
 * Escaped-by-default HTML templates: `html\`<td>${value}</td>\`` escapes every interpolated
 * value unless it is itself `html` (or `raw`). The replay report is full of text from user
 * traffic (request ids, routes, error codes, file paths), so escaping must be the default, not
 * something each call site remembers.
 *
 * Hand-written rather than a library: escaping the five HTML-significant characters in text and
 * double-quoted attribute values is the whole job, and a dependency would add nothing to it.
 */

/** Markup that is already safe (built by `html`, or trusted constant text). */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text as HTML: safe in element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** Trusted markup, inserted as is (constants only: never text from the report). */
export function raw(text: string): SafeHtml {
  return new SafeHtml(text);
}

type Interpolation = SafeHtml | string | number | null | undefined | false | readonly Interpolation[];

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** A template whose interpolations are escaped (arrays are joined, null/false/undefined omitted). */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>`, `&` and the line separators are
 * written as `\u` escapes, so no string in the data can close the element or start a comment.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
