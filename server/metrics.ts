/**
 * Prometheus metrics of one server instance. Every metric lives in the instance's own registry,
 * never prom-client's global one, so several servers (tests, embedding programs) never collide.
 */

import type { Registry } from 'prom-client';
import type {
  AttemptRecord,
  BudgetAlertEvent,
  CacheEvent,
  ClassResult,
  GuardrailVerdict,
  LimitEvent,
  PolicyIdentity,
  ResponseMeta,
  StoreEvent,
} from '../engine/index.js';
import { CostTally, type CostTallyReport } from './cost-tally.js';
import {
  type CounterCell,
  FastCounter,
  FastGauge,
  FastHistogram,
  LazyRegistry,
  type MetricTarget,
} from './fast-metrics.js';

export interface ServerMetrics {
  /**
   * The prom-client registry the metrics are exposed through, made (and prom-client loaded) when
   * first read: until something scrapes, the metrics count without it (server/fast-metrics.ts).
   */
  readonly registry: Registry;
  /** Where more metrics register (the jobs' gauges and counter), before or after the first scrape. */
  readonly target: MetricTarget;
  /** One finished request (its meta is null when it never reached the engine). */
  observeRequest(status: number, meta: ResponseMeta | null, seconds: number): void;
  observeReload(result: 'success' | 'failure' | 'unchanged'): void;
  setPolicy(identity: PolicyIdentity | null): void;
  /** One upstream attempt (from the engine's `onAttempt`): latency and time to first token. */
  observeAttempt(attempt: AttemptRecord): void;
  observeLimit(event: LimitEvent): void;
  observeBudgetAlert(event: BudgetAlertEvent): void;
  /** This replica's spend since it started, by tenant, route, model and attributed field (`GET /admin/spend`). */
  spendByAttribution(): CostTallyReport;
  /** A budget alert's webhook delivery ended: delivered, failed after its retries, or dropped. */
  observeAlertDelivery(budget: string, outcome: 'delivered' | 'failed' | 'dropped'): void;
  observeStore(event: StoreEvent): void;
  observeCache(event: CacheEvent): void;
  /** One guardrail verdict: counted by guardrail, stage and verdict (`shadow_*` when not enforced); its check time. */
  observeGuardrail(verdict: GuardrailVerdict): void;
  /** One classification: counted by classifier, label and source (model, cache, default, ...). */
  observeClassification(result: ClassResult): void;
  /** Where the breaker-state gauge reads from at scrape time (the serving engine). */
  setBreakerSource(source: () => ReadonlyArray<{ target: string; state: string }>): void;
  /** Lines the recorder dropped (queue full or write failure). */
  observeRecordingDropped(count: number): void;
  /** Streams still running when the shutdown's grace period ended, cut with an in-band error. */
  observeStreamsCutOnShutdown(count: number): void;
}

/** HTTP statuses as label values, made once. */
const STATUS_LABELS: readonly string[] = Array.from({ length: 600 }, (_, i) => String(i));

/** A counter only goes up: a negative or non-finite amount (a bad usage report) is not counted. */
function addTo(cell: CounterCell, amount: number): void {
  if (Number.isFinite(amount) && amount > 0) cell.value += amount;
}

export function createServerMetrics(): ServerMetrics {
  // The default process metrics (CPU, memory, GC, event loop) are made with the registry, at the
  // first scrape: those read at scrape time are whole from the start; the GC and event-loop ones
  // count from then.
  const lazy = new LazyRegistry((register, prom) => prom.collectDefaultMetrics({ register }));
  const counter = (name: string, help: string, labelNames: readonly string[]): FastCounter =>
    new FastCounter(name, help, labelNames, lazy);
  const histogram = (name: string, help: string, labelNames: readonly string[], buckets: number[]) =>
    new FastHistogram(name, help, labelNames, buckets, lazy);

  // FastCounter/FastHistogram (fast-metrics.ts): prom-client's exposition, without its label
  // hashing on each observation, and without loading prom-client before the first scrape.
  const requests = counter(
    'switchyard_requests_total',
    'Requests answered, by route, target and HTTP status.',
    ['route', 'target', 'status'],
  );
  const duration = histogram(
    'switchyard_request_duration_seconds',
    'Time from receiving a request to the end of its response (streams: the last event).',
    ['route', 'target', 'status'],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  );
  const attempts = counter(
    'switchyard_upstream_attempts_total',
    'Upstream calls, by target and outcome (ok or an error class).',
    ['target', 'outcome'],
  );
  const tokens = counter(
    'switchyard_tokens_total',
    "Tokens reported by upstreams, by target (model), tenant and kind (prompt, completion; cached_prompt and cache_write_prompt: the part of prompt the provider's prompt cache served or stored).",
    ['target', 'tenant', 'kind'],
  );
  const cost = counter(
    'switchyard_cost_usd_total',
    'Cost of answered requests in USD (usage x the model price), by target (model), tenant and route.',
    ['target', 'tenant', 'route'],
  );
  const attributedCost = counter(
    'switchyard_attributed_cost_usd_total',
    "Cost of answered requests in USD by each field of the policy's accounting.attribute (attribute) and its value (value; none when absent, other past the accounting.maxValues cap).",
    ['attribute', 'value'],
  );
  const reloads = counter(
    'switchyard_policy_reloads_total',
    'Policy loads and reloads, by result (success, failure, unchanged).',
    ['result'],
  );
  const policyInfo = new FastGauge(
    'switchyard_policy_info',
    'The serving policy: always 1, identified by its labels.',
    ['name', 'version', 'hash'],
    lazy,
  );
  const upstreamLatency = histogram(
    'switchyard_upstream_duration_seconds',
    'Duration of upstream attempts, by target and outcome (ok or an error class).',
    ['target', 'outcome'],
    [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  );
  const guardrailVerdicts = counter(
    'switchyard_guardrail_verdicts_total',
    'Guardrail verdicts by guardrail, stage (input, output) and verdict (pass, block, flag, redact, fallback; shadow_<verdict> for shadow guardrails).',
    ['guardrail', 'stage', 'verdict'],
  );
  const classifications = counter(
    'switchyard_classifications_total',
    'Classifier results by classifier, label and source (heuristic, model, embedding, cache, default, given); a classifier runs only for requests a route reading it could take.',
    ['classifier', 'label', 'source'],
  );
  const guardrailLatency = histogram(
    'switchyard_guardrail_check_seconds',
    'Time one guardrail check took, by guardrail and stage.',
    ['guardrail', 'stage'],
    [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.001, 0.005, 0.025],
  );
  const firstToken = histogram(
    'switchyard_upstream_first_token_seconds',
    'Time from the start of an upstream attempt to its first content token, by target.',
    ['target'],
    [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
  );
  const limitEvents = counter(
    'switchyard_limit_events_total',
    'Rate-limit and budget outcomes: rate_limited, budget_exceeded, downgraded, target_rate_limited, target_over_budget; degraded=true when a store outage decided it.',
    ['kind', 'route', 'degraded'],
  );
  const budgetAlerts = counter(
    'switchyard_budget_alerts_total',
    'Budget thresholds crossed (each once per key and period), by budget, kind and threshold.',
    ['budget', 'kind', 'threshold'],
  );
  const alertDeliveries = counter(
    'switchyard_budget_alert_deliveries_total',
    'Budget alert webhook deliveries by budget and outcome: delivered, failed (after its retries), dropped (queue full or shutdown).',
    ['budget', 'outcome'],
  );
  const storeEvents = counter(
    'switchyard_store_events_total',
    'Shared-store (Redis) failures and recoveries, by store (limits, budgets, cache) and kind.',
    ['store', 'kind'],
  );
  const cacheEvents = counter(
    'switchyard_cache_total',
    'Cache outcomes by route, cache and outcome (hit, miss, bypass, stored, embedding_failed).',
    ['route', 'cache', 'outcome'],
  );
  const recordingDropped = counter(
    'switchyard_recording_dropped_total',
    'Recording lines dropped because the writer could not keep up or failed.',
    [],
  );
  const streamsCut = counter(
    'switchyard_streams_cut_on_shutdown_total',
    'Streams still running when the shutdown grace period ended, ended with an in-band shutting_down error.',
    [],
  );
  let breakerSource: () => ReadonlyArray<{ target: string; state: string }> = () => [];
  const breakerCode: Readonly<Record<string, number>> = { closed: 0, half_open: 1, open: 2 };
  new FastGauge(
    'switchyard_breaker_state',
    'Circuit breaker state per target: 0 closed, 1 half-open, 2 open (read at scrape time).',
    ['target'],
    lazy,
    (gauge) => {
      gauge.reset();
      for (const b of breakerSource()) gauge.cell(b.target).value = breakerCode[b.state] ?? 0;
    },
  );
  for (const result of ['success', 'failure', 'unchanged'] as const) reloads.cell(result);

  const spend = new CostTally();

  return {
    get registry() {
      return lazy.registry;
    },
    target: lazy,
    spendByAttribution: () => spend.report(),
    observeRequest(status, meta, seconds) {
      const route = meta?.route ?? 'none';
      const target = meta?.target ?? 'none';
      const code = STATUS_LABELS[status] ?? String(status);
      requests.cell(route, target, code).value += 1;
      duration.observe(duration.cell(route, target, code), seconds);
      if (meta === null) return;
      for (const attempt of meta.attempts) attempts.cell(attempt.target, attempt.outcome).value += 1;
      const tenant = meta.tenant ?? 'none';
      if (meta.target !== null && meta.usage !== null) {
        addTo(tokens.cell(meta.target, tenant, 'prompt'), meta.usage.promptTokens);
        addTo(tokens.cell(meta.target, tenant, 'completion'), meta.usage.completionTokens);
        // Of the prompt tokens, those the provider's prompt cache served or stored (when reported).
        const { cachedTokens, cacheWriteTokens } = meta.usage;
        if (cachedTokens !== undefined)
          addTo(tokens.cell(meta.target, tenant, 'cached_prompt'), cachedTokens);
        if (cacheWriteTokens !== undefined)
          addTo(tokens.cell(meta.target, tenant, 'cache_write_prompt'), cacheWriteTokens);
      }
      if (meta.target !== null && meta.costUsd !== null) {
        addTo(cost.cell(meta.target, tenant, route), meta.costUsd);
        // Bounded: the engine caps each attribute's values (engine/runtime/attribution.ts).
        const attribution = meta.attribution;
        if (attribution !== undefined && meta.costUsd > 0) {
          for (const field in attribution)
            addTo(attributedCost.cell(field, attribution[field]), meta.costUsd);
        }
        spend.add(meta);
      }
    },
    observeReload(result) {
      reloads.cell(result).value += 1;
    },
    observeAttempt(attempt) {
      upstreamLatency.observe(
        upstreamLatency.cell(attempt.target, attempt.outcome),
        attempt.durationMs / 1000,
      );
      if (attempt.firstTokenMs !== null)
        firstToken.observe(firstToken.cell(attempt.target), attempt.firstTokenMs / 1000);
    },
    observeGuardrail(verdict) {
      const outcome = verdict.enforced ? verdict.outcome : `shadow_${verdict.outcome}`;
      guardrailVerdicts.cell(verdict.guardrail, verdict.stage, outcome).value += 1;
      guardrailLatency.observe(guardrailLatency.cell(verdict.guardrail, verdict.stage), verdict.ms / 1000);
    },
    observeClassification(result) {
      classifications.cell(result.classifier, result.label, result.source).value += 1;
    },
    observeLimit(event) {
      limitEvents.cell(event.kind, event.route, String(event.degraded === true)).value += 1;
    },
    observeBudgetAlert(event) {
      budgetAlerts.cell(event.budget, event.kind, String(event.threshold)).value += 1;
    },
    observeAlertDelivery(budget, outcome) {
      alertDeliveries.cell(budget, outcome).value += 1;
    },
    observeStore(event) {
      storeEvents.cell(event.store, event.kind).value += 1;
    },
    observeCache(event) {
      cacheEvents.cell(event.route, event.cache, event.outcome).value += 1;
    },
    setBreakerSource(source) {
      breakerSource = source;
    },
    observeRecordingDropped(count) {
      addTo(recordingDropped.cell(), count);
    },
    observeStreamsCutOnShutdown(count) {
      addTo(streamsCut.cell(), count);
    },
    setPolicy(identity) {
      policyInfo.reset();
      if (identity !== null) policyInfo.cell(identity.name, identity.version, identity.hash).value = 1;
    },
  };
}
