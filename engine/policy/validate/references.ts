/**
 * References between sections (a model's provider, a route's limits, a budget's downgrade
 * models, ...): dangling ones are errors with a "did you mean", and definitions nothing
 * references are warned about once every reference has been seen.
 */

import { isRecord } from '../../shared/guards.js';
import { didYouMean } from '../hints.js';
import { joinPointer } from '../source-map.js';
import type { Checks } from './checks.js';
import { matchPattern, valueAt } from './document.js';
import { code } from './wording.js';

const REFERENCE_CODES: Record<string, { code: string; noun: string }> = {
  providers: { code: 'REF_UNKNOWN_PROVIDER', noun: 'provider' },
  models: { code: 'REF_UNKNOWN_MODEL', noun: 'model' },
  limits: { code: 'REF_UNKNOWN_LIMIT', noun: 'limit' },
  budgets: { code: 'REF_UNKNOWN_BUDGET', noun: 'budget' },
  caches: { code: 'REF_UNKNOWN_CACHE', noun: 'cache' },
  guardrails: { code: 'REF_UNKNOWN_GUARDRAIL', noun: 'guardrail' },
  classifiers: { code: 'REF_UNKNOWN_CLASSIFIER', noun: 'classifier' },
};

export class References {
  /** Section → defined names; absent when the section is not a mapping (its own error says so). */
  private readonly names = new Map<string, Set<string>>();
  /** Section → referenced names (and names offered as hints for a dangling reference). */
  private readonly used = new Map<string, Set<string>>();

  constructor(private readonly c: Checks) {
    const doc = c.ctx.doc;
    for (const section of Object.keys(REFERENCE_CODES)) {
      const v = isRecord(doc) ? doc[section] : undefined;
      if (v === undefined) this.names.set(section, new Set());
      else if (isRecord(v)) this.names.set(section, new Set(Object.keys(v)));
      this.used.set(section, new Set());
    }
  }

  /** Records that `pointer` names `name` of `section`; reports it when nothing defines it. */
  reference(section: string, name: unknown, pointer: string): void {
    const { c } = this;
    if (typeof name !== 'string' || !c.clean(pointer)) return;
    const defined = this.names.get(section);
    if (!defined) return;
    const used = this.used.get(section);
    used?.add(name);
    if (defined.has(name)) return;
    const { code: diagnosticCode, noun } = REFERENCE_CODES[section];
    const secret = c.ctx.isSecret(pointer);
    const hint = secret ? undefined : didYouMean(name, defined);
    if (hint) used?.add(hint);
    const known = defined.size === 0 ? `no ${section} are defined` : `not defined in ${code(section)}`;
    const message = secret
      ? `the value of ${c.ctx.subject(pointer)} is not a known ${noun}: ${known}`
      : `unknown ${noun} ${code(name)} in ${c.ctx.subject(pointer)}: ${known}`;
    c.out.push(c.ctx.diag(diagnosticCode, 'error', message, pointer, { hint }));
  }

  /** Warns about every definition no reference named; run after all references are recorded. */
  unused(): void {
    const { c } = this;
    for (const [section, defined] of this.names) {
      const used = this.used.get(section) ?? new Set();
      const noun = REFERENCE_CODES[section].noun;
      const by =
        section === 'providers'
          ? 'no model uses it'
          : section === 'models'
            ? 'no route, budget or classifier uses it'
            : 'no route uses it';
      for (const name of defined) {
        if (used.has(name)) continue;
        c.out.push(
          c.ctx.diag(
            'SEM_UNUSED',
            'warning',
            `${noun} ${code(name)} is defined but never used: ${by}`,
            joinPointer(`/${section}`, name),
            {
              key: true,
            },
          ),
        );
      }
    }
  }
}

/** Each model's `provider`. */
export function modelReferences(c: Checks, refs: References): void {
  const models = c.doc.models;
  if (!isRecord(models)) return;
  for (const [name, model] of Object.entries(models)) {
    if (isRecord(model))
      refs.reference('providers', model.provider, joinPointer('/models', name, 'provider'));
  }
}

/** The models a budget downgrades to. */
export function budgetReferences(c: Checks, refs: References): void {
  for (const pointer of matchPattern(c.ctx.doc, '/budgets/*/onExceeded/downgradeTo/*')) {
    refs.reference('models', valueAt(c.ctx.doc, pointer), pointer);
  }
}
