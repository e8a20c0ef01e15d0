/**
 * `when` clauses of routes, limits and caches: each operator must suit its field's type
 * (no `gt` on text, no `glob` on a number, only `exists`/`in` on a boolean) and regexes compile.
 */

import { isRecord } from '../../shared/guards.js';
import { compileRegex } from '../../shared/regex.js';
import { joinPointer } from '../source-map.js';
import type { Checks } from './checks.js';
import { matchPattern, valueAt } from './document.js';
import { badRegex } from './regexes.js';
import { code, givenNoun } from './wording.js';

type FieldKind = 'string' | 'number' | 'boolean' | 'any';

function fieldKind(field: string): FieldKind {
  if (field === 'model' || field === 'path' || field === 'tenant') return 'string';
  if (field.startsWith('label.') || field.startsWith('header.') || field.startsWith('class.'))
    return 'string';
  if (field === 'input.tokens' || field === 'input.chars') return 'number';
  if (field === 'stream' || field === 'tools') return 'boolean';
  return 'any';
}

const NUMERIC_OPS = ['gt', 'gte', 'lt', 'lte'] as const;

export function whens(c: Checks): void {
  const roots = [
    ...matchPattern(c.ctx.doc, '/routes/*/when'),
    ...matchPattern(c.ctx.doc, '/limits/*/when'),
    ...matchPattern(c.ctx.doc, '/caches/*/when'),
  ];
  for (const pointer of roots) when(c, valueAt(c.ctx.doc, pointer), pointer);
}

function when(c: Checks, clause: unknown, pointer: string): void {
  if (!isRecord(clause)) return;
  for (const [field, cond] of Object.entries(clause)) {
    const p = joinPointer(pointer, field);
    if ((field === 'all' || field === 'any') && Array.isArray(cond)) {
      for (const [k, w] of cond.entries()) when(c, w, joinPointer(p, k));
    } else if (field === 'not') {
      when(c, cond, p);
    } else {
      condition(c, field, cond, p);
    }
  }
}

function invalidCondition(c: Checks, pointer: string, message: string): void {
  c.out.push(c.ctx.diag('SEM_INVALID_CONDITION', 'error', message, pointer));
}

function condition(c: Checks, field: string, cond: unknown, pointer: string): void {
  if (!c.clean(pointer)) return;
  const kind = fieldKind(field);
  const f = code(field);
  if (!isRecord(cond)) {
    if (kind === 'boolean' && typeof cond !== 'boolean') {
      invalidCondition(
        c,
        pointer,
        `${f} is true or false; compare it with a boolean, not ${givenNoun(cond)}`,
      );
    } else if (kind === 'number' && typeof cond !== 'number') {
      invalidCondition(c, pointer, `${f} is a number; ${givenNoun(cond)} never equals it`);
    }
    return;
  }
  if (typeof cond.regex === 'string') {
    const r = compileRegex(cond.regex);
    if (!r.ok) badRegex(c, joinPointer(pointer, 'regex'), r.message);
  }
  for (const op of Object.keys(cond)) {
    const p = joinPointer(pointer, op);
    const numeric = (NUMERIC_OPS as readonly string[]).includes(op);
    if (kind === 'string' && numeric) {
      invalidCondition(
        c,
        p,
        `${code(op)} compares numbers, but ${f} is text; use \`glob\`, \`regex\` or \`in\``,
      );
    } else if (kind === 'number' && (op === 'glob' || op === 'regex')) {
      invalidCondition(
        c,
        p,
        `${code(op)} matches text, but ${f} is a number; use \`gt\`, \`gte\`, \`lt\` or \`lte\``,
      );
    } else if (kind === 'boolean' && op !== 'exists' && op !== 'in') {
      invalidCondition(
        c,
        p,
        `${code(op)} cannot apply to ${f}, which is true or false; write \`${field}: true\``,
      );
    } else if (op === 'in' && Array.isArray(cond.in) && (kind === 'boolean' || kind === 'number')) {
      const bad = cond.in.findIndex((x) => typeof x !== kind);
      if (bad >= 0) {
        invalidCondition(
          c,
          joinPointer(p, bad),
          `${f} is ${kind === 'number' ? 'a number' : 'true or false'}; ${givenNoun(cond.in[bad])} in \`in\` never matches`,
        );
      }
    }
  }
}
