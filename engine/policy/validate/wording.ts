/** The words diagnostics are made of: quoted names, type nouns, lists and readable paths. */

import { jsonType } from './document.js';

export function code(s: string): string {
  return `\`${s}\``;
}

const TYPE_NOUN: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  null: 'null',
};

export function typeNoun(t: string): string {
  return TYPE_NOUN[t] ?? t;
}

export function givenNoun(v: unknown): string {
  const t = jsonType(v);
  if (t === 'null') return 'nothing (null)';
  if (t === 'boolean') return 'a boolean';
  if (t === 'integer') return 'a number';
  return typeNoun(t);
}

export function listOr(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** The first sentence of a schema description, without its full stop, to embed in a message. */
export function firstSentence(s: string): string {
  return s.split(/\.\s+(?=[A-Z])/)[0].replace(/\.$/, '');
}

/** Lower-cases a leading capital, but leaves an acronym (`URL`, `API key`) as written. */
export function lowerFirst(s: string): string {
  if (s.length === 0 || /^[A-Z]{2}/.test(s)) return s;
  return s[0].toLowerCase() + s.slice(1);
}

export const SECTION_NOUN: Record<string, string> = {
  providers: 'provider',
  models: 'model',
  tenants: 'tenant',
  limits: 'limit',
  budgets: 'budget',
  caches: 'cache',
  guardrails: 'guardrail',
};

/** `when.model`, `targets[1]`: a readable path for the tokens under an owner. */
export function dotted(tokens: readonly string[]): string {
  let out = '';
  for (const t of tokens) {
    if (/^[0-9]+$/.test(t)) out += `[${t}]`;
    else out += out === '' ? t : `.${t}`;
  }
  return out;
}
