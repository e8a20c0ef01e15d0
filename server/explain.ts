/**
 * The explain report: what a policy would do with one request, nothing sent upstream. Shared by
 * `switchyard explain` and `POST /admin/explain` so both speak the same JSON.
 */

import {
  type CompiledGuardrail,
  type CompiledPolicy,
  type Decision,
  maxUpstreamCalls,
  NEVER_RETRIED,
  type PolicyIdentity,
} from '../engine/serving.js';

/** What `engine.decide` returns for a request refused before routing (bad context, auth). */
export interface RejectedDecision {
  readonly kind: 'rejected';
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

type RouteDecision = Extract<Decision, { kind: 'route' }>;
type PlanNode = RouteDecision['plan'];
type ResolvedTarget = RouteDecision['targets'][number];

export type ExplainPlanTree =
  | { readonly target: string }
  | { readonly strategy: string; readonly children: readonly ExplainPlanTree[] };

export interface ExplainTarget {
  readonly name: string;
  readonly provider: string;
  readonly upstreamModel: string;
  readonly context: number | null;
  readonly timeout: ResolvedTarget['timeout'];
  readonly retry: ResolvedTarget['retry'];
  readonly breaker: ResolvedTarget['breaker'];
  /** USD per million tokens (cached rates default to `input`); null when the model has no price. */
  readonly price: ResolvedTarget['price'];
  /** What the route's `promptCache` marks cacheable (Anthropic targets); null when nothing. */
  readonly promptCache: { readonly system: boolean; readonly tools: boolean } | null;
}

export interface ExplainPlan {
  readonly strategy: string;
  readonly tree: ExplainPlanTree;
  /** The route's cap on upstream calls (`maxAttempts`). */
  readonly maxAttempts: number;
  /**
   * The most upstream calls this request can cause: every target once plus its retries, as far
   * as `fallbackOn` lets the walk go, within `maxAttempts` (the engine's `maxUpstreamCalls`).
   */
  readonly maxUpstreamCalls: number;
  readonly timeout: RouteDecision['timeout'];
  readonly stream: RouteDecision['stream'];
  readonly onExhausted: RouteDecision['onExhausted'];
  readonly targets: readonly ExplainTarget[];
  /** The guardrails the route runs, in order (input ones before any upstream call). */
  readonly guardrails: readonly ExplainGuardrail[];
}

export interface ExplainGuardrail {
  readonly name: string;
  readonly stage: 'input' | 'output';
  readonly kind: string;
  readonly action: string;
  readonly shadow: boolean;
  /** Input: what it reads; output: how it runs on streams. */
  readonly reads: string;
}

export interface ExplainReport {
  readonly policy: PolicyIdentity;
  /** The matched route; null when none matched or the request was refused. */
  readonly route: string | null;
  /** Model names in attempt order. */
  readonly targets: readonly string[];
  readonly skipped: readonly { readonly route: string; readonly reason: string }[];
  readonly plan: ExplainPlan | null;
  /** Set when the request would be refused without an upstream call. */
  readonly refused: { readonly status: number; readonly code: string; readonly message: string } | null;
  /** The policy's classifiers and the routes that read them (absent when it declares none). */
  readonly classifiers?: readonly ExplainClassifier[];
  /** The matched route's limits, budgets and cache layers (absent when it has none). */
  readonly rules?: ExplainRules;
}

/** A route's traffic rules as the policy declares them (what admission and the cache apply). */
export interface ExplainRules {
  readonly limits: readonly {
    readonly name: string;
    readonly key: readonly string[];
    readonly requests: string | null;
    readonly tokens: string | null;
    readonly concurrency: number | null;
    /** The limit's own `when`, as declared; null when it applies to every request of the route. */
    readonly when: Readonly<Record<string, unknown>> | null;
  }[];
  readonly budgets: readonly {
    readonly name: string;
    readonly key: readonly string[];
    readonly usd: string;
    readonly onExceeded: string;
  }[];
  /** Cache layers in the order they are asked (exact, then semantic). */
  readonly caches: readonly {
    readonly name: string;
    readonly mode: string;
    readonly ttl: string;
    readonly threshold: number | null;
  }[];
}

export interface ExplainClassifier {
  readonly name: string;
  readonly kind: 'complexity' | 'model' | 'embedding';
  readonly labels: readonly string[];
  /** The model it asks (`model`, `embedding`); null for `complexity`. */
  readonly model: string | null;
  readonly default: string | null;
  readonly timeoutMs: number | null;
  /** The routes whose `when` reads it: only a request one of them could take runs it. */
  readonly routes: readonly string[];
}

/** The classifiers of `policy`, each with the routes that depend on it. */
export function explainClassifiers(policy: CompiledPolicy): ExplainClassifier[] {
  const plan = policy.classification;
  const out: ExplainClassifier[] = [];
  for (const c of plan.classifiers.values()) {
    const routes = plan.routes
      .filter((r) => r.classifiers.includes(c.name))
      .map((r) => policy.routes[r.position]?.name ?? `#${r.position + 1}`);
    out.push({
      name: c.name,
      kind: c.kind,
      labels: c.labels,
      model: c.kind === 'complexity' ? null : c.model.name,
      default: c.kind === 'complexity' ? null : c.default,
      timeoutMs: c.kind === 'complexity' ? null : c.timeoutMs,
      routes,
    });
  }
  return out;
}

/** The report with the policy's classifiers (unchanged when it declares none). */
/** The report with what the policy adds to it: its classifiers, the matched route's rules. */
export function withClassifiers(report: ExplainReport, policy: CompiledPolicy): ExplainReport {
  const classifiers = explainClassifiers(policy);
  const rules = report.route === null ? null : explainRules(policy, report.route);
  return {
    ...report,
    ...(classifiers.length === 0 ? {} : { classifiers }),
    ...(rules === null ? {} : { rules }),
  };
}

/** The route's limits, budgets and caches from the policy document; null when it has none. */
export function explainRules(policy: CompiledPolicy, routeName: string): ExplainRules | null {
  const doc = policy.document;
  const route = doc.routes.find((r) => r.name === routeName);
  if (route === undefined) return null;
  const names = (v: string | readonly string[] | undefined): readonly string[] =>
    v === undefined ? [] : typeof v === 'string' ? [v] : v;
  const limits = names(route.limits).flatMap((name) => {
    // The generated type of a limit is loose (its schema is a union); these are its fields.
    const l = doc.limits?.[name] as
      | {
          key?: string[];
          requests?: string;
          tokens?: string;
          concurrency?: number;
          when?: Record<string, unknown>;
        }
      | undefined;
    if (l === undefined) return [];
    return [
      {
        name,
        key: l.key ?? [],
        requests: l.requests ?? null,
        tokens: l.tokens ?? null,
        concurrency: l.concurrency ?? null,
        when: l.when ?? null,
      },
    ];
  });
  const budgets = names(route.budgets).flatMap((name) => {
    const b = doc.budgets?.[name];
    if (b === undefined) return [];
    const downgrade = typeof b.onExceeded === 'object' ? b.onExceeded.downgradeTo : undefined;
    return [
      {
        name,
        key: b.key ?? [],
        usd: b.usd,
        onExceeded: downgrade === undefined ? 'block' : `downgrade to ${names(downgrade).join(', ')}`,
      },
    ];
  });
  const caches = names(route.cache).flatMap((name) => {
    const c = doc.caches?.[name];
    if (c === undefined) return [];
    const semantic = (c as { mode?: string }).mode === 'semantic';
    return [
      {
        name,
        mode: semantic ? 'semantic' : 'exact',
        ttl: c.ttl,
        threshold: semantic ? ((c as { threshold?: number }).threshold ?? 0.95) : null,
      },
    ];
  });
  if (limits.length === 0 && budgets.length === 0 && caches.length === 0) return null;
  return { limits, budgets, caches };
}

function tree(node: PlanNode): ExplainPlanTree {
  return node.kind === 'target'
    ? { target: node.target.name }
    : { strategy: node.strategy, children: node.children.map(tree) };
}

function target(t: ResolvedTarget): ExplainTarget {
  return {
    name: t.name,
    provider: t.provider,
    upstreamModel: t.upstreamModel,
    context: t.context,
    timeout: t.timeout,
    // The engine never re-sends a request to a target that timed out, went silent or refused it
    // for its context or content (`NEVER_RETRIED`), whatever `retryOn` says; the plan says what happens.
    retry: { ...t.retry, retryOn: t.retry.retryOn.filter((c) => !NEVER_RETRIED.has(c)) },
    breaker: t.breaker,
    price: t.price,
    promptCache: t.promptCache ?? null,
  };
}

/** `$3 in, $15 out, $0.3 cached in, $3.75 cache write per 1M tokens` (cached rates when declared). */
function priceText(price: NonNullable<ExplainTarget['price']>): string {
  const parts = [`$${price.input} in`, `$${price.output} out`];
  if (price.cachedInput !== undefined) parts.push(`$${price.cachedInput} cached in`);
  if (price.cacheWrite !== undefined) parts.push(`$${price.cacheWrite} cache write`);
  return `${parts.join(', ')} per 1M tokens`;
}

function promptCacheText(marks: NonNullable<ExplainTarget['promptCache']>): string {
  const what = [marks.system ? 'system prompt' : null, marks.tools ? 'tools' : null].filter(
    (w) => w !== null,
  );
  return `${what.join(' and ')} marked cacheable (Anthropic cache_control; other providers: unchanged)`;
}

function explainGuardrails(
  names: readonly string[],
  compiled: ReadonlyMap<string, CompiledGuardrail>,
): ExplainGuardrail[] {
  const out: ExplainGuardrail[] = [];
  for (const name of names) {
    const g = compiled.get(name);
    if (g === undefined) continue;
    const reads = g.stage === 'input' ? g.scope : g.streaming;
    out.push({ name, stage: g.stage, kind: g.kind, action: g.action, shadow: g.shadow, reads });
  }
  // The order they run in: every input guardrail before the upstream call, output ones after.
  return [...out.filter((g) => g.stage === 'input'), ...out.filter((g) => g.stage === 'output')];
}

function retriedClasses(retryOn: readonly string[]): string {
  return retryOn.join(', ') || '(nothing)';
}

export function explainDecision(
  policy: PolicyIdentity,
  decision: Decision | RejectedDecision,
  guardrails: ReadonlyMap<string, CompiledGuardrail> = new Map(),
  /** The request's own shape where it matters to the plan (a stream may continue after a cut). */
  request: { readonly stream?: boolean } = {},
): ExplainReport {
  const identity = { name: policy.name, version: policy.version, hash: policy.hash };
  // A request refused before routing has no skipped routes.
  const skipped =
    decision.kind === 'rejected' ? [] : decision.skipped.map((s) => ({ route: s.route, reason: s.reason }));
  if (decision.kind !== 'route') {
    const { status, code, message } = decision;
    return {
      policy: identity,
      route: null,
      targets: [],
      skipped,
      plan: null,
      refused: { status, code, message },
    };
  }
  return {
    policy: identity,
    route: decision.route,
    targets: decision.targets.map((t) => t.name),
    skipped,
    plan: {
      strategy: decision.plan.kind === 'group' ? decision.plan.strategy : 'fallback',
      tree: tree(decision.plan),
      maxAttempts: decision.maxAttempts,
      maxUpstreamCalls: maxUpstreamCalls(decision, { stream: request.stream === true }),
      timeout: decision.timeout,
      stream: decision.stream,
      onExhausted: decision.onExhausted,
      targets: decision.targets.map(target),
      guardrails: explainGuardrails(decision.guardrails, guardrails),
    },
    refused: null,
  };
}

/** `1500` → `1.5s`, `250` → `250ms`, `300000` → `5m`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'none';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000 || ms % 60_000 !== 0) return `${ms / 1000}s`;
  if (ms < 3_600_000 || ms % 3_600_000 !== 0) return `${ms / 60_000}m`;
  return `${ms / 3_600_000}h`;
}

/** The calls the targets alone would allow, ignoring the route's cap (for the wording only). */
function uncapped(plan: ExplainPlan): number {
  return plan.targets.reduce((n, t) => n + 1 + (t.retry.retryOn.length > 0 ? t.retry.attempts : 0), 0);
}

function treeText(node: ExplainPlanTree): string {
  return 'target' in node ? node.target : `${node.strategy}(${node.children.map(treeText).join(', ')})`;
}

/** The route's limits, budgets and cache layers, one line each. */
function rulesText(rules: ExplainRules): string[] {
  const out: string[] = [];
  const per = (key: readonly string[]): string =>
    key.length === 0 ? 'one counter' : `per ${key.join(', ')}`;
  for (const l of rules.limits) {
    const amounts = [
      l.requests === null ? null : l.requests.replace('/', ' requests/'),
      l.tokens === null ? null : l.tokens.replace('/', ' tokens/'),
      l.concurrency === null ? null : `${l.concurrency} at once`,
    ].filter((a) => a !== null);
    const when = l.when === null ? '' : `, when ${JSON.stringify(l.when)}`;
    out.push(`  limit ${l.name}: ${amounts.join(', ')} ${per(l.key)}${when}`);
  }
  for (const b of rules.budgets)
    out.push(`  budget ${b.name}: $${b.usd.replace(/^\$/, '')} ${per(b.key)}; then ${b.onExceeded}`);
  rules.caches.forEach((c, i) => {
    const layer = rules.caches.length > 1 ? ` (layer ${i + 1})` : '';
    const threshold = c.threshold === null ? '' : `, similarity >= ${c.threshold}`;
    out.push(`  cache ${c.name}${layer}: ${c.mode}, ttl ${c.ttl}${threshold}`);
  });
  return out;
}

/** The report for people: the matched route, why earlier routes did not match, the plan. */
export function renderExplainHuman(report: ExplainReport): string {
  const out: string[] = [];
  const p = report.policy;
  out.push(`policy  ${p.name} ${p.version} (${p.hash.slice(0, 12)})`);
  if (report.classifiers !== undefined && report.classifiers.length > 0) {
    out.push('', 'classifiers (each runs only for a request that a route reading it could take):');
    for (const c of report.classifiers) {
      const how =
        c.kind === 'complexity'
          ? 'complexity heuristic, no model call'
          : `${c.kind} via ${c.model}, default ${c.default}, timeout ${formatMs(c.timeoutMs ?? 0)}`;
      out.push(
        `  - ${c.name}: ${how}; labels ${c.labels.join(', ')}; read by ${c.routes.length === 0 ? 'no route' : c.routes.join(', ')}`,
      );
    }
  }
  let unclassifiedRoutes = 0;
  if (report.skipped.length > 0) {
    out.push('', 'routes that did not match:');
    for (const s of report.skipped) {
      // explain sends nothing upstream, so a classifier's label is absent unless the request file gives it.
      const unclassified = /^class\.\S+ is absent/.test(s.reason)
        ? ' (not classified by explain: give "classes": { "<classifier>": "<label>" } in the request file)'
        : '';
      if (unclassified !== '') unclassifiedRoutes++;
      out.push(`  - ${s.route}: ${s.reason}${unclassified}`);
    }
  }
  out.push('');
  if (report.refused !== null) {
    const r = report.refused;
    out.push(
      report.route === null && report.skipped.length > 0
        ? `no route matched: ${r.status} ${r.code}: ${r.message}`
        : `refused: ${r.status} ${r.code}: ${r.message}`,
    );
    return `${out.join('\n')}\n`;
  }
  out.push(`matched route: ${report.route ?? '(none)'}`);
  if (unclassifiedRoutes > 0) {
    out.push(
      '  (taking every route above that reads an unclassified label as not matching; the gateway classifies first)',
    );
  }
  if (report.rules !== undefined) out.push(...rulesText(report.rules));
  const plan = report.plan;
  if (plan === null) return `${out.join('\n')}\n`;
  const t = plan.timeout;
  out.push(
    '',
    `plan: ${treeText(plan.tree)}`,
    `  at most ${plan.maxUpstreamCalls} upstream call${plan.maxUpstreamCalls === 1 ? '' : 's'}` +
      (plan.maxUpstreamCalls === plan.maxAttempts && plan.maxAttempts < uncapped(plan)
        ? ` (the route's maxAttempts)`
        : '') +
      '; ' +
      `total timeout ${formatMs(t.totalMs)}; after the first streamed token a failure is ${
        plan.stream.midStream === 'error' ? 'reported in-band (no fallback)' : 'continued on the next target'
      }`,
  );
  plan.targets.forEach((target, i) => {
    const to = target.timeout;
    const r = target.retry;
    const b = r.backoff;
    out.push(
      `  ${i + 1}. ${target.name} -> ${target.provider}/${target.upstreamModel}` +
        (target.context === null ? '' : ` (context ${target.context})`),
      `       timeouts: connect ${formatMs(to.connectMs)}, first token ${formatMs(to.firstTokenMs)}, ` +
        `idle ${formatMs(to.idleMs)}, total ${formatMs(to.totalMs)}`,
      r.attempts === 0
        ? '       retries: none'
        : `       retries: up to ${r.attempts} on ${retriedClasses(r.retryOn)} ` +
            `(backoff ${formatMs(b.initialMs)}..${formatMs(b.maxMs)} x${b.multiplier}, ${b.jitter} jitter; ` +
            `Retry-After honoured up to ${formatMs(r.respectRetryAfterMs)})`,
      i < plan.targets.length - 1
        ? `       falls back on: ${r.fallbackOn.join(', ') || '(nothing)'}`
        : '       last target',
    );
    if (target.price !== null) out.push(`       price: ${priceText(target.price)}`);
    if (target.promptCache !== null) out.push(`       prompt cache: ${promptCacheText(target.promptCache)}`);
  });
  if (plan.onExhausted !== null) {
    out.push(`  when every target fails: ${plan.onExhausted.status} "${plan.onExhausted.message}"`);
  }
  if (plan.guardrails.length > 0) {
    out.push('', 'guardrails, in the order they run:');
    for (const g of plan.guardrails) {
      out.push(
        `  - ${g.name}: ${g.stage} ${g.kind}, ${g.action}${g.shadow ? ' (shadow: recorded, not applied)' : ''}; ` +
          (g.stage === 'input' ? `reads ${g.reads}` : `streams: ${g.reads}`),
      );
    }
  }
  return `${out.join('\n')}\n`;
}
