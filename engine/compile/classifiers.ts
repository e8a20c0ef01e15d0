/**
 * Classifiers, compiled: each definition resolved (bands sorted, the prompt rendered, defaults
 * filled in), and the *classification plan*: which routes depend on which classifiers, with a
 * three-valued form of each such route's `when` that says "matches", "does not match" or "cannot
 * tell until classifier X has run". The runtime walks it to run exactly the classifiers a request
 * needs (engine/runtime/classify.ts); `decide` itself only reads the labels in the context.
 *
 * Three-valued (Kleene) logic: a `class.<name>` condition whose classifier has not run is
 * *unknown*; `all` is false if any part is false, true if all are true, else unknown; `any` the
 * dual; `not` swaps true and false. Unknown covers every label and the absent value, so a route
 * that is definitely false (or true) without a label stays so whatever the classifier answers:
 * the soundness that lets a request skip classification (test/property/classify.test.ts).
 */
import type { ScoreBand } from '../classify/complexity.js';
import { DEFAULT_CLASSIFIER_PROMPT, renderPrompt } from '../classify/prompt.js';
import type { GuardrailScope } from '../guardrails/text.js';
import { compileCondition, normalizeField, type Predicate, whenConditions } from '../match/match.js';
import type { Classifier, Policy, When } from '../policy/types.generated.js';
import { canonicalJson } from '../shared/canonical-json.js';
import type { RequestContext } from '../types.js';
import type { CompiledModel } from './models.js';
import { definedEntries } from './models.js';
import { ms } from './settings.js';

export const DEFAULT_CLASSIFIER_TIMEOUT_MS = 2000;
export const DEFAULT_CLASSIFIER_MAX_ENTRIES = 10_000;
export const DEFAULT_CLASSIFIER_MAX_TOKENS = 16;

interface ClassifierBase {
  readonly name: string;
  readonly scope: GuardrailScope;
  /** Every label the classifier can give (the bands, the model's labels, examples' and default). */
  readonly labels: readonly string[];
  /**
   * The definition's identity (its canonical JSON, with the model's): the runtime keeps a
   * classifier's cached results and embedded examples across reloads while it is unchanged.
   */
  readonly key: string;
}

export type CompiledClassifier =
  | (ClassifierBase & { readonly kind: 'complexity'; readonly bands: readonly ScoreBand[] })
  | (ClassifierBase & {
      readonly kind: 'model';
      readonly model: CompiledModel;
      readonly default: string;
      /** The system message, rendered. */
      readonly prompt: string;
      readonly timeoutMs: number;
      readonly maxTokens: number;
      readonly maxEntries: number;
    })
  | (ClassifierBase & {
      readonly kind: 'embedding';
      readonly model: CompiledModel;
      readonly default: string;
      readonly examples: readonly { readonly label: string; readonly text: string }[];
      readonly minSimilarity: number;
      readonly timeoutMs: number;
      readonly maxEntries: number;
    });

/** 0 false, 1 true, 2 unknown (a classifier the condition reads has not run). */
export type Tri = 0 | 1 | 2;
export type TriPredicate = (ctx: RequestContext) => Tri;

export interface ClassRoute {
  /** Position of the route in the routing table. */
  readonly position: number;
  /** The classifiers its `when` reads, in first-mention order. */
  readonly classifiers: readonly string[];
  readonly match: TriPredicate;
}

export interface ClassificationPlan {
  readonly classifiers: ReadonlyMap<string, CompiledClassifier>;
  /** The routes that read a classifier, ascending by position. Empty: classification never runs. */
  readonly routes: readonly ClassRoute[];
}

const CLASS_PREFIX = 'class.';

function compileClassifier(
  name: string,
  def: NonNullable<Classifier>,
  models: ReadonlyMap<string, CompiledModel>,
): CompiledClassifier {
  const scope: GuardrailScope = def.scope ?? 'last_user';
  if (def.kind === 'complexity') {
    const bands = definedEntries(def.labels)
      .map(([label, upTo]) => ({ label, upTo }))
      .sort((a, b) => a.upTo - b.upTo);
    return {
      kind: 'complexity',
      name,
      scope,
      labels: bands.map((b) => b.label),
      bands,
      key: canonicalJson(def),
    };
  }
  const model = models.get(def.model);
  // Validation rejects an unknown model; should one slip through it is an internal bug.
  if (model === undefined) throw new Error(`internal: classifier ${name} names unknown model ${def.model}`);
  const key = canonicalJson({ def, model: model.definition });
  const timeoutMs = def.timeout === undefined ? DEFAULT_CLASSIFIER_TIMEOUT_MS : ms(def.timeout);
  const maxEntries = def.maxEntries ?? DEFAULT_CLASSIFIER_MAX_ENTRIES;
  if (def.kind === 'model') {
    const described = definedEntries(def.labels);
    return {
      kind: 'model',
      name,
      scope,
      labels: described.map(([label]) => label),
      key,
      model,
      default: def.default,
      prompt: renderPrompt(def.prompt ?? DEFAULT_CLASSIFIER_PROMPT, described),
      timeoutMs,
      maxTokens: def.maxTokens ?? DEFAULT_CLASSIFIER_MAX_TOKENS,
      maxEntries,
    };
  }
  const examples: { label: string; text: string }[] = [];
  for (const [label, texts] of definedEntries(def.labels))
    for (const text of texts) examples.push({ label, text });
  const labels = definedEntries(def.labels).map(([label]) => label);
  if (!labels.includes(def.default)) labels.push(def.default);
  return {
    kind: 'embedding',
    name,
    scope,
    labels,
    key,
    model,
    default: def.default,
    examples,
    minSimilarity: def.minSimilarity ?? 0,
    timeoutMs,
    maxEntries,
  };
}

/** The classifiers a `when` reads (any depth), in first-mention order. */
export function classifiersOf(when: When | undefined, out: string[] = []): string[] {
  if (when === undefined) return out;
  for (const [key] of whenConditions(when)) {
    const field = normalizeField(key);
    if (field.startsWith(CLASS_PREFIX)) {
      const name = field.slice(CLASS_PREFIX.length);
      if (!out.includes(name)) out.push(name);
    }
  }
  for (const sub of when.all ?? []) classifiersOf(sub, out);
  for (const sub of when.any ?? []) classifiersOf(sub, out);
  if (when.not !== undefined) classifiersOf(when.not, out);
  return out;
}

function known(pred: Predicate): TriPredicate {
  return (ctx) => (pred(ctx) ? 1 : 0);
}

/** The three-valued form of a `when` (see the header). */
export function compileTri(when: When | undefined): TriPredicate {
  if (when === undefined) return () => 1;
  const parts: TriPredicate[] = [];
  for (const [key, condition] of whenConditions(when)) {
    const field = normalizeField(key);
    const pred = compileCondition(field, condition);
    if (field.startsWith(CLASS_PREFIX)) {
      const name = field.slice(CLASS_PREFIX.length);
      parts.push((ctx) =>
        ctx.classes === undefined || !Object.hasOwn(ctx.classes, name) ? 2 : pred(ctx) ? 1 : 0,
      );
    } else {
      parts.push(known(pred));
    }
  }
  if (when.all !== undefined) parts.push(triAll(when.all.map((w) => compileTri(w))));
  if (when.any !== undefined) {
    const subs = when.any.map((w) => compileTri(w));
    parts.push((ctx) => {
      let unknown = false;
      for (const sub of subs) {
        const v = sub(ctx);
        if (v === 1) return 1;
        if (v === 2) unknown = true;
      }
      return unknown ? 2 : 0;
    });
  }
  if (when.not !== undefined) {
    const inner = compileTri(when.not);
    parts.push((ctx) => {
      const v = inner(ctx);
      return v === 2 ? 2 : v === 1 ? 0 : 1;
    });
  }
  return triAll(parts);
}

function triAll(parts: readonly TriPredicate[]): TriPredicate {
  if (parts.length === 1) return parts[0];
  return (ctx) => {
    let unknown = false;
    for (const part of parts) {
      const v = part(ctx);
      if (v === 0) return 0;
      if (v === 2) unknown = true;
    }
    return unknown ? 2 : 1;
  };
}

/** The classifiers of `policy` and which routes read them. */
export function compileClassification(
  policy: Policy,
  models: ReadonlyMap<string, CompiledModel>,
): ClassificationPlan {
  const classifiers = new Map<string, CompiledClassifier>();
  for (const [name, def] of definedEntries(policy.classifiers)) {
    classifiers.set(name, compileClassifier(name, def, models));
  }
  const routes: ClassRoute[] = [];
  policy.routes.forEach((route, position) => {
    const names = classifiersOf(route.when).filter((n) => classifiers.has(n));
    if (names.length > 0) routes.push({ position, classifiers: names, match: compileTri(route.when) });
  });
  return { classifiers, routes };
}
