import { expect, it } from 'vitest';
import type { Diagnostic } from '../../../engine/policy/diagnostics.js';
import { type LoadResult, parsePolicySources } from '../../../engine/policy/load.js';
import { type ValidationResult, validatePolicy } from '../../../engine/policy/validate/index.js';

/** Header lines 1–2 of every test policy. */
export const HEAD = 'switchyard: v1\npolicy: { name: demo, version: "1" }\n';

/** Lines 3–6: one mock provider and one model `fast` (add models after line 6). */
export const CATALOGUE = `${HEAD}providers:\n  demo: { kind: mock }\nmodels:\n  fast: { provider: demo, model: m }\n`;

export interface Checked extends ValidationResult {
  load: LoadResult;
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

export function check(text: string, env: Record<string, string> = {}): Checked {
  const load = parsePolicySources([{ file: 'p.yaml', text }], { env });
  const result = validatePolicy(load);
  return {
    ...result,
    load,
    errors: result.diagnostics.filter((d) => d.severity === 'error'),
    warnings: result.diagnostics.filter((d) => d.severity === 'warning'),
  };
}

/** The diagnostics with `code`. */
export function withCode(r: { diagnostics: Diagnostic[] }, code: string): Diagnostic[] {
  return r.diagnostics.filter((d) => d.code === code);
}

/** The single diagnostic with `code`; fails the test (with everything found) otherwise. */
export function one(r: { diagnostics: Diagnostic[] }, code: string): Diagnostic {
  const found = withCode(r, code);
  if (found.length !== 1) {
    throw new Error(`expected one ${code}, got ${found.length}:\n${JSON.stringify(r.diagnostics, null, 2)}`);
  }
  return found[0];
}

/** `line:column` of a diagnostic, for compact assertions. */
export function at(d: Diagnostic): string {
  return `${d.line}:${d.column}`;
}

/** A policy with exactly one diagnostic of `code`, and what that diagnostic must say. */
export interface OneDiagnosticCase {
  /** The test's name. */
  what: string;
  text: string;
  code: string;
  /** Its `line:column`. */
  at?: string;
  /** Fields it has, equal (`message` exactly, `hint: undefined` for none). */
  has?: Partial<Diagnostic>;
  /** Parts its message contains. */
  mentions?: string[];
  /** Codes not reported alongside it (one mistake is reported once). */
  none?: string[];
  /** It is the policy's only error (no wall of alternatives). */
  onlyError?: boolean;
}

/** One test per case (named by `what`): the policy has exactly one `code`, saying what the case says. */
export function itReportsOne(cases: readonly OneDiagnosticCase[]): void {
  for (const c of cases) it(c.what, () => expectOneDiagnostic(c));
}

function expectOneDiagnostic(c: OneDiagnosticCase): void {
  const r = check(c.text);
  const d = one(r, c.code);
  if (c.onlyError === true) expect(r.errors).toEqual([d]);
  if (c.has !== undefined) expect(d).toMatchObject(c.has);
  if (c.at !== undefined) expect(at(d)).toBe(c.at);
  for (const part of c.mentions ?? []) expect(d.message).toContain(part);
  for (const code of c.none ?? []) expect(withCode(r, code), code).toEqual([]);
}
