/**
 * Classifiers and the `class.<name>` conditions on them: a route's condition names a declared
 * classifier and one of its labels; `class.*` appears only in a route's `when` (limits and caches
 * are keyed before classification runs); a classifier's model is a declared, non-wildcard model;
 * a `default` is one of the labels; complexity bands cover every score (the largest bound is 1).
 */

import { isRecord } from '../../shared/guards.js';
import { didYouMean } from '../hints.js';
import { joinPointer } from '../source-map.js';
import type { Checks } from './checks.js';
import { matchPattern, valueAt } from './document.js';
import type { References } from './references.js';
import { code } from './wording.js';

const CLASS_PREFIX = 'class.';

/** Classifier name → its declared labels (only classifiers whose `labels` passed the schema). */
function declaredLabels(c: Checks): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const classifiers = c.doc.classifiers;
  if (!isRecord(classifiers)) return out;
  for (const [name, spec] of Object.entries(classifiers)) {
    if (!isRecord(spec) || !isRecord(spec.labels)) continue;
    const labels = new Set(Object.keys(spec.labels));
    // An embedding classifier's default need not have examples: it is a label all the same.
    if (spec.kind === 'embedding' && typeof spec.default === 'string') labels.add(spec.default);
    out.set(name, labels);
  }
  return out;
}

function unknownLabel(
  c: Checks,
  classifier: string,
  label: string,
  labels: Set<string>,
  pointer: string,
): void {
  c.out.push(
    c.ctx.diag(
      'SEM_UNKNOWN_LABEL',
      'error',
      `${code(label)} is not a label of classifier ${code(classifier)}, which declares ${[...labels].map(code).join(', ')}`,
      pointer,
      { hint: didYouMean(label, labels) },
    ),
  );
}

/** Each classifier: its model reference, its default label, its bands. */
function definitions(c: Checks, refs: References): void {
  const classifiers = c.doc.classifiers;
  if (!isRecord(classifiers)) return;
  const models = isRecord(c.doc.models) ? c.doc.models : {};
  for (const [name, spec] of Object.entries(classifiers)) {
    const base = joinPointer('/classifiers', name);
    if (!isRecord(spec) || !c.clean(base)) continue;
    if (spec.kind === 'model' || spec.kind === 'embedding') {
      const pointer = joinPointer(base, 'model');
      refs.reference('models', spec.model, pointer);
      const model = typeof spec.model === 'string' ? models[spec.model] : undefined;
      const providers = isRecord(c.doc.providers) ? c.doc.providers : {};
      const provider =
        isRecord(model) && typeof model.provider === 'string' ? providers[model.provider] : undefined;
      if (spec.kind === 'embedding' && isRecord(provider) && provider.kind === 'anthropic') {
        c.out.push(
          c.ctx.diag(
            'SEM_CLASSIFIER_MODEL',
            'error',
            `classifier ${code(name)} embeds with model ${code(String(spec.model))}, whose provider (\`kind: anthropic\`) serves no embeddings; use an OpenAI-compatible embedding model`,
            pointer,
          ),
        );
      }
      if (isRecord(model) && model.model === '*') {
        c.out.push(
          c.ctx.diag(
            'SEM_CLASSIFIER_MODEL',
            'error',
            `classifier ${code(name)} uses model ${code(String(spec.model))}, which forwards the caller's model name (\`model: "*"\`); a classifier needs a model with a fixed upstream name`,
            pointer,
          ),
        );
      }
    }
    if (spec.kind === 'model' && typeof spec.default === 'string' && isRecord(spec.labels)) {
      const labels = new Set(Object.keys(spec.labels));
      if (!labels.has(spec.default))
        unknownLabel(c, name, spec.default, labels, joinPointer(base, 'default'));
    }
    if (spec.kind === 'complexity' && isRecord(spec.labels)) {
      const bounds = Object.values(spec.labels).filter((v): v is number => typeof v === 'number');
      if (bounds.length > 0 && Math.max(...bounds) !== 1) {
        c.out.push(
          c.ctx.diag(
            'SEM_CLASSIFIER_BANDS',
            'error',
            `the score bands of classifier ${code(name)} end at ${Math.max(...bounds)}, so a score above it has no label; give the last band the bound 1`,
            joinPointer(base, 'labels'),
          ),
        );
      }
    }
  }
}

/** The `class.<name>` conditions of a `when` (at any depth), as [field, condition, pointer]. */
function classConditions(when: unknown, pointer: string, out: [string, unknown, string][]): void {
  if (!isRecord(when)) return;
  for (const [key, value] of Object.entries(when)) {
    const p = joinPointer(pointer, key);
    if ((key === 'all' || key === 'any') && Array.isArray(value)) {
      for (const [k, w] of value.entries()) classConditions(w, joinPointer(p, k), out);
    } else if (key === 'not') {
      classConditions(value, p, out);
    } else if (key.startsWith(CLASS_PREFIX)) {
      out.push([key.slice(CLASS_PREFIX.length), value, p]);
    }
  }
}

/** The labels a condition compares with: a bare value, `in` items (pointer of each). */
function comparedLabels(cond: unknown, pointer: string): [unknown, string][] {
  if (!isRecord(cond)) return [[cond, pointer]];
  const out: [unknown, string][] = [];
  if (Array.isArray(cond.in))
    for (const [k, v] of cond.in.entries()) out.push([v, joinPointer(pointer, 'in', k)]);
  return out;
}

function routeConditions(c: Checks, refs: References, labels: Map<string, Set<string>>): void {
  for (const root of matchPattern(c.ctx.doc, '/routes/*/when')) {
    const found: [string, unknown, string][] = [];
    classConditions(valueAt(c.ctx.doc, root), root, found);
    for (const [name, cond, pointer] of found) {
      if (!c.clean(pointer)) continue;
      refs.reference('classifiers', name, pointer);
      const declared = labels.get(name);
      if (declared === undefined) continue;
      for (const [value, at] of comparedLabels(cond, pointer)) {
        if (typeof value !== 'string') {
          c.out.push(
            c.ctx.diag(
              'SEM_UNKNOWN_LABEL',
              'error',
              `a label of classifier ${code(name)} is text; ${JSON.stringify(value)} is never one`,
              at,
            ),
          );
        } else if (!declared.has(value)) {
          unknownLabel(c, name, value, declared, at);
        }
      }
    }
  }
}

/** `class.*` outside routes: limits and caches decide before any classifier runs. */
function outsideRoutes(c: Checks): void {
  const roots = [...matchPattern(c.ctx.doc, '/limits/*/when'), ...matchPattern(c.ctx.doc, '/caches/*/when')];
  for (const root of roots) {
    const found: [string, unknown, string][] = [];
    classConditions(valueAt(c.ctx.doc, root), root, found);
    for (const [, , pointer] of found) {
      c.out.push(
        c.ctx.diag(
          'SEM_CLASS_OUTSIDE_ROUTE',
          'error',
          "`class.*` conditions are allowed only in a route's `when`: limits and caches are keyed without classifying the request",
          pointer,
          { key: true },
        ),
      );
    }
  }
}

export function classifiers(c: Checks, refs: References): void {
  definitions(c, refs);
  routeConditions(c, refs, declaredLabels(c));
  outsideRoutes(c);
}
