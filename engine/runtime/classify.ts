/**
 * Classify, then route: runs exactly the classifiers a request's decision depends on, before
 * `decide` (which stays pure: the labels are an input, in `RequestContext.classes`).
 *
 * Which classifiers: the routes are walked in order with the three-valued form of each class
 * route's `when` (compile/classifiers.ts). A route that matches or fails whatever the labels
 * decides without classifying; the first route that cannot tell runs the classifiers it reads
 * (the ones not yet known), then is evaluated again, now definitely. So a request that a route
 * without class conditions takes never pays for a classifier, and a policy whose routes read no
 * classifier never runs one (test/property/classify.test.ts).
 *
 * Each classifier's result is cached for identical input text (a bounded LRU keyed on a hash of
 * the text, kept across reloads while the definition is unchanged), a model or embedding call has
 * its own timeout, and a failure, timeout or unparseable answer gives the declared `default`.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import {
  bandOf,
  classifiedText,
  complexityScore,
  type LabelledVector,
  nearest,
  norm,
  parseLabel,
} from '../classify/index.js';
import type { ClassificationPlan, CompiledClassifier, CompiledPolicy } from '../compile/compile.js';
import { findFirstMatch } from '../compile/graph.js';
import type { Provider } from '../providers/types.js';
import type { Clock } from '../shared/clock.js';
import type { ClassResult, GivenClass, RequestContext } from '../types.js';
import { answerText, createSideCaller, embeddingVectors, type SideCaller } from './side-call.js';

/** What a classifier's run needs of the request. */
export interface ClassifyRequest {
  readonly providers: ReadonlyMap<string, Provider>;
  readonly signal?: AbortSignal;
}

interface Outcome {
  readonly label: string;
  readonly source: ClassResult['source'];
  readonly costUsd: number;
  readonly similarity?: number;
  readonly detail?: string;
}

/** A classifier's state that outlives one request: cached results, embedded examples. */
class ClassifierState {
  readonly results: LRUCache<string, Outcome> | null;
  readonly inFlight = new Map<string, Promise<Outcome>>();
  examples: Promise<readonly LabelledVector[] | null> | null = null;
  /** Clock time the examples last failed to embed: no new attempt for EXAMPLES_RETRY_MS. */
  examplesFailedAt = Number.NEGATIVE_INFINITY;

  constructor(maxEntries: number) {
    this.results = maxEntries > 0 ? new LRUCache<string, Outcome>({ max: maxEntries }) : null;
  }
}

/**
 * After the examples fail to embed, requests take the default label at once for this long rather
 * than each paying a failing call (an upstream down, a model that serves no embeddings).
 */
const EXAMPLES_RETRY_MS = 30_000;

function textKey(text: string): string {
  // A digest, not the text: an entry costs the same whatever the prompt's length.
  return createHash('sha256').update(text).digest('base64');
}

export interface ClassifiedContext {
  readonly context: RequestContext;
  /** The classifiers that ran (or were given), in the order they were needed. */
  readonly results: readonly ClassResult[];
  readonly costUsd: number;
}

/** A label the caller gave for a classifier, when the policy declares both; else null. */
function givenLabel(
  plan: ClassificationPlan,
  name: string,
  given: GivenClass | undefined,
): { readonly label: string; readonly costUsd: number } | null {
  if (given === undefined) return null;
  const label = typeof given === 'string' ? given : given.label;
  const cost = typeof given === 'string' ? 0 : (given.costUsd ?? 0);
  const c = plan.classifiers.get(name);
  if (c === undefined || typeof label !== 'string' || !c.labels.includes(label)) return null;
  return { label, costUsd: Number.isFinite(cost) && cost > 0 ? cost : 0 };
}

/**
 * The labels the caller gave (`RequestInput.classes`) that the policy declares, as context
 * classes: what `engine.decide` (synchronous, for explain) sees, since it runs no classifier.
 */
export function givenClasses(
  plan: ClassificationPlan,
  given: Readonly<Record<string, GivenClass>> | undefined,
): Record<string, string> | undefined {
  if (given === undefined) return undefined;
  let out: Record<string, string> | undefined;
  for (const name of Object.keys(given)) {
    const g = givenLabel(plan, name, given[name]);
    if (g === null) continue;
    out ??= Object.create(null) as Record<string, string>;
    out[name] = g.label;
  }
  return out;
}

/**
 * What the synchronous `engine.decide` (explain) sees: the labels the caller gave, plus the
 * label of every `complexity` classifier it did not give, since that heuristic makes no call and
 * is a pure function of the request. `model` and `embedding` classifiers stay unlabelled unless
 * given. Undefined when there is nothing to add.
 */
export function decideClasses(
  plan: ClassificationPlan,
  body: Readonly<Record<string, unknown>>,
  given: Readonly<Record<string, GivenClass>> | undefined,
): Record<string, string> | undefined {
  let out = givenClasses(plan, given);
  for (const c of plan.classifiers.values()) {
    if (c.kind !== 'complexity' || (out !== undefined && c.name in out)) continue;
    out ??= Object.create(null) as Record<string, string>;
    out[c.name] = bandOf(c.bands, complexityScore(classifiedText(body, c.scope)));
  }
  return out;
}

/**
 * Walks the routes as the header says and returns the context `decide` should see. A classifier
 * that must run takes the caller's `given` label when there is one (a test case, `replay`), else
 * `run` is asked; it never rejects.
 */
export async function classifyForRoutes(
  policy: CompiledPolicy,
  ctx: RequestContext,
  run: (classifier: CompiledClassifier) => Promise<ClassResult>,
  given?: Readonly<Record<string, GivenClass>>,
): Promise<ClassifiedContext> {
  const plan = policy.classification;
  const results: ClassResult[] = [];
  if (plan.routes.length === 0) return { context: ctx, results, costUsd: 0 };
  // Fast path: a route before the first class route matches, and class labels cannot change that.
  const first = findFirstMatch(policy.index, policy.routes, ctx);
  if (first >= 0 && first < plan.routes[0].position) return { context: ctx, results, costUsd: 0 };
  const one = (name: string): Promise<ClassResult> => {
    const g = givenLabel(plan, name, given?.[name]);
    if (g !== null)
      return Promise.resolve({ classifier: name, label: g.label, source: 'given', costUsd: g.costUsd });
    const classifier = plan.classifiers.get(name);
    // compileClassification keeps only declared classifiers in a route's list.
    if (classifier === undefined) throw new Error(`internal: unknown classifier ${name}`);
    return run(classifier);
  };
  let context = ctx;
  let costUsd = 0;
  let k = 0;
  for (let i = plan.routes[0].position; i < policy.routes.length; i++) {
    const classRoute = k < plan.routes.length && plan.routes[k].position === i ? plan.routes[k++] : null;
    if (classRoute === null) {
      if (policy.routes[i].match(context)) break;
      continue;
    }
    let v = classRoute.match(context);
    if (v === 2) {
      const known = context.classes;
      const needed = classRoute.classifiers.filter((n) => known === undefined || !Object.hasOwn(known, n));
      const ran = await Promise.all(needed.map(one));
      const classes: Record<string, string> = Object.assign(Object.create(null), context.classes);
      for (const r of ran) {
        classes[r.classifier] = r.label;
        results.push(r);
        costUsd += r.costUsd;
      }
      context = { ...context, classes };
      v = classRoute.match(context);
    }
    if (v === 1) break;
  }
  return { context, results, costUsd };
}

/**
 * The classifiers' runtime: one per engine; each classifier's state is kept by its definition's
 * key, so a reload that leaves a classifier unchanged keeps its cache and embedded examples.
 */
export class Classifiers {
  readonly #states = new Map<string, ClassifierState>();

  constructor(private readonly clock: Clock) {}

  /** Drops the state of classifiers `policy` no longer declares (called on swap). */
  retain(policy: CompiledPolicy): void {
    const keep = new Set<string>();
    for (const c of policy.classification.classifiers.values()) keep.add(c.key);
    for (const key of [...this.#states.keys()]) if (!keep.has(key)) this.#states.delete(key);
  }

  #state(c: CompiledClassifier): ClassifierState {
    let state = this.#states.get(c.key);
    if (state === undefined) {
      state = new ClassifierState(c.kind === 'complexity' ? 0 : c.maxEntries);
      this.#states.set(c.key, state);
    }
    return state;
  }

  /** Runs one classifier on the request's text. Never rejects. */
  async run(c: CompiledClassifier, ctx: RequestContext, request: ClassifyRequest): Promise<ClassResult> {
    const text = classifiedText(ctx.body, c.scope);
    if (c.kind === 'complexity') {
      const score = complexityScore(text);
      return { classifier: c.name, label: bandOf(c.bands, score), source: 'heuristic', costUsd: 0, score };
    }
    const state = this.#state(c);
    const key = textKey(text);
    const cached = state.results?.get(key);
    if (cached !== undefined) {
      return {
        classifier: c.name,
        label: cached.label,
        source: 'cache',
        costUsd: 0,
        ...(cached.similarity === undefined ? {} : { similarity: cached.similarity }),
      };
    }
    let pending = state.inFlight.get(key);
    const leader = pending === undefined;
    if (pending === undefined) {
      const caller = createSideCaller(request.providers, this.clock);
      pending = (
        c.kind === 'model'
          ? this.#askModel(c, text, caller, request)
          : this.#nearest(c, state, text, caller, request)
      ).catch((): Outcome => ({ label: c.default, source: 'default', costUsd: 0, detail: 'error' }));
      state.inFlight.set(key, pending);
    }
    try {
      const outcome = await pending;
      if (leader && outcome.source !== 'default') state.results?.set(key, outcome);
      // A follower shares the answer, not the bill: the leader's request paid for the call.
      return {
        classifier: c.name,
        label: outcome.label,
        source: leader ? outcome.source : outcome.source === 'default' ? 'default' : 'cache',
        costUsd: leader ? outcome.costUsd : 0,
        ...(outcome.similarity === undefined ? {} : { similarity: outcome.similarity }),
        ...(outcome.detail === undefined ? {} : { detail: outcome.detail }),
      };
    } finally {
      if (leader) state.inFlight.delete(key);
    }
  }

  async #askModel(
    c: Extract<CompiledClassifier, { kind: 'model' }>,
    text: string,
    caller: SideCaller,
    request: ClassifyRequest,
  ): Promise<Outcome> {
    const answer = await caller.call({
      model: c.model,
      endpoint: 'chat',
      body: {
        messages: [
          { role: 'system', content: c.prompt },
          { role: 'user', content: text },
        ],
        max_tokens: c.maxTokens,
        temperature: 0,
      },
      timeoutMs: c.timeoutMs,
      signal: request.signal,
    });
    if (!answer.ok) return { label: c.default, source: 'default', costUsd: 0, detail: answer.reason };
    const content = answerText(answer.body);
    const label = content === null ? null : parseLabel(content, c.labels);
    if (label === null)
      return { label: c.default, source: 'default', costUsd: answer.costUsd, detail: 'unparsed' };
    return { label, source: 'model', costUsd: answer.costUsd };
  }

  async #nearest(
    c: Extract<CompiledClassifier, { kind: 'embedding' }>,
    state: ClassifierState,
    text: string,
    caller: SideCaller,
    request: ClassifyRequest,
  ): Promise<Outcome> {
    const deadline = this.clock.now() + c.timeoutMs;
    let cost = 0;
    const embed = async (inputs: string[], timeoutMs: number) => {
      const answer = await caller.call({
        model: c.model,
        endpoint: 'embeddings',
        body: { input: inputs, encoding_format: 'float' },
        timeoutMs,
        signal: request.signal,
      });
      if (!answer.ok) return { vectors: null, reason: answer.reason };
      cost += answer.costUsd;
      const vectors = embeddingVectors(answer.body);
      return {
        vectors: vectors !== null && vectors.length === inputs.length ? vectors : null,
        reason: 'error' as const,
      };
    };
    // The examples are embedded once (the first request that needs them pays); a failure is
    // forgotten, so the next request tries again.
    if (state.examples === null) {
      if (this.clock.now() - state.examplesFailedAt < EXAMPLES_RETRY_MS) {
        return { label: c.default, source: 'default', costUsd: 0, detail: 'examples' };
      }
      const examples = c.examples;
      state.examples = embed(
        examples.map((e) => e.text),
        c.timeoutMs,
      ).then(({ vectors }) =>
        vectors === null
          ? null
          : vectors.map((vector, i) => ({ label: examples[i].label, vector, norm: norm(vector) })),
      );
    }
    const examples = await state.examples;
    if (examples === null) {
      state.examples = null;
      state.examplesFailedAt = this.clock.now();
      return { label: c.default, source: 'default', costUsd: cost, detail: 'examples' };
    }
    const left = deadline - this.clock.now();
    if (left <= 0) return { label: c.default, source: 'default', costUsd: cost, detail: 'timeout' };
    const { vectors, reason } = await embed([text], left);
    if (vectors === null) return { label: c.default, source: 'default', costUsd: cost, detail: reason };
    const best = nearest(examples, vectors[0]);
    if (best === null || best.similarity < c.minSimilarity) {
      return { label: c.default, source: 'default', costUsd: cost, detail: 'below_similarity' };
    }
    return {
      label: best.label,
      source: 'embedding',
      costUsd: cost,
      similarity: Math.round(best.similarity * 1e4) / 1e4,
    };
  }
}
