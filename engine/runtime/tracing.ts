/**
 * OpenTelemetry traces, through `@opentelemetry/api` only: the engine never loads an SDK. The
 * embedding program (or `switchyard serve` with `OTEL_EXPORTER_OTLP_ENDPOINT`) registers a tracer
 * provider and a propagator; without them every call here is a no-op.
 *
 * Spans (OpenTelemetry GenAI semantic conventions, plus `switchyard.*` attributes):
 * - one per request, `{operation} {requested model}` (INTERNAL), child of the caller's context:
 *   the active context of `engine.handle`'s caller, or the `traceparent` of the request's headers;
 * - one per upstream attempt, `{operation} {upstream model}` (CLIENT), child of the request span;
 *   its context is sent upstream in the request headers (`traceparent`), so a traced upstream
 *   continues the trace.
 *
 * Cost when nothing is registered: none; the API is not even loaded (see {@link OTEL_API_GLOBAL}).
 * When something is (a context manager, say, but no tracer provider), the request span is the
 * API's non-recording span; no attribute is built (every attribute write is behind
 * `isRecording()`), and when its context is not valid (no SDK, no incoming trace) no attempt span
 * is started and no header is injected.
 */
import type { Attributes, Context, Span, Tracer } from '@opentelemetry/api';
import type { ProviderSpec } from '../providers/types.js';
import { lazyRequire } from '../shared/lazy-require.js';
import type { AttemptRecord, EngineResponse, ResolvedTarget, ResponseMeta } from '../types.js';

/**
 * The API keeps everything registered with it (tracer provider, propagator, context manager, diag
 * logger) in one global object under this key, named after its major version (its
 * `internal/global-utils`): while the key is absent nothing is registered, so every span would be
 * the API's non-recording span with an invalid context, and {@link startRequestSpan} returns null
 * without loading the API (its 44 modules, in a gateway without tracing) and without a span, a
 * context and a header extraction per request (docs/footprint.md). A test checks that registering
 * through the API we depend on sets this key, so a new major version cannot slip by.
 */
export const OTEL_API_GLOBAL = Symbol.for('opentelemetry.js.api.1');

const loadApi = lazyRequire<typeof import('@opentelemetry/api')>('@opentelemetry/api');
let otel: { readonly api: typeof import('@opentelemetry/api'); readonly tracer: Tracer } | undefined;

/** The API and our tracer, loaded the first time something is registered. */
function api(): { readonly api: typeof import('@opentelemetry/api'); readonly tracer: Tracer } {
  if (otel === undefined) {
    const loaded = loadApi();
    // A ProxyTracer: a provider registered later is still used.
    otel = { api: loaded, tracer: loaded.trace.getTracer('switchyard') };
  }
  return otel;
}

/** What the attempt loop needs from the request's trace: the context its spans are children of. */
export interface RequestTrace {
  readonly context: Context;
}

type Headers = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Reads request headers for the propagator, whatever the case of their names. */
const headerGetter = {
  keys: (carrier: Headers): string[] => Object.keys(carrier),
  get(carrier: Headers, key: string): string | string[] | undefined {
    const value = carrier[key] ?? carrier[key.toLowerCase()];
    return value === undefined ? undefined : typeof value === 'string' ? value : [...value];
  },
};

function operation(path: string | undefined): 'chat' | 'embeddings' {
  return path?.endsWith('/embeddings') ? 'embeddings' : 'chat';
}

function requestedModel(body: unknown): string {
  return typeof body === 'object' && body !== null && typeof (body as { model?: unknown }).model === 'string'
    ? (body as { model: string }).model
    : '';
}

/**
 * Starts the span of one request. Returns null (and starts nothing worth ending) when the span
 * neither records nor carries a valid context, the case when no tracer provider is registered.
 */
export function startRequestSpan(input: {
  readonly body: unknown;
  readonly headers?: Headers;
  readonly path?: string;
  readonly requestId?: string;
}): { readonly span: Span; readonly trace: RequestTrace } | null {
  if ((globalThis as Record<symbol, unknown>)[OTEL_API_GLOBAL] === undefined) return null;
  const {
    api: { context, isSpanContextValid, propagation, SpanKind, trace },
    tracer,
  } = api();
  const active = context.active();
  const parent =
    input.headers === undefined ? active : propagation.extract(active, input.headers, headerGetter);
  const op = operation(input.path);
  const model = requestedModel(input.body);
  const span = tracer.startSpan(model === '' ? op : `${op} ${model}`, { kind: SpanKind.INTERNAL }, parent);
  if (!span.isRecording() && !isSpanContextValid(span.spanContext())) return null;
  if (span.isRecording()) {
    const attributes: Attributes = { 'gen_ai.operation.name': op };
    if (model !== '') attributes['gen_ai.request.model'] = model;
    if (input.requestId !== undefined) attributes['switchyard.request_id'] = input.requestId;
    span.setAttributes(attributes);
  }
  return { span, trace: { context: trace.setSpan(parent, span) } };
}

function usageAttributes(attributes: Attributes, usage: AttemptRecord['usage']): void {
  if (usage === null) return;
  attributes['gen_ai.usage.input_tokens'] = usage.promptTokens;
  attributes['gen_ai.usage.output_tokens'] = usage.completionTokens;
  // OpenTelemetry GenAI semantic conventions (experimental): both are included in input_tokens.
  if (usage.cachedTokens !== undefined)
    attributes['gen_ai.usage.cache_read.input_tokens'] = usage.cachedTokens;
  if (usage.cacheWriteTokens !== undefined)
    attributes['gen_ai.usage.cache_creation.input_tokens'] = usage.cacheWriteTokens;
}

/** Ends the request span with the routing outcome: at once for JSON, when a stream has ended. */
export function endRequestSpan(span: Span, response: EngineResponse): void {
  if (!span.isRecording()) return;
  if (response.kind === 'json') {
    finish(span, response.status, response.meta, response.body);
    return;
  }
  response.done.then(
    (meta) => finish(span, response.status, meta, null),
    () => finish(span, response.status, response.meta, null),
  );
}

function finish(span: Span, status: number, meta: ResponseMeta, body: unknown): void {
  const attributes: Attributes = {
    'http.response.status_code': status,
    'switchyard.policy': `${meta.policy.name}@${meta.policy.version}`,
    'switchyard.attempts': meta.attempts.length,
  };
  if (meta.route !== null) attributes['switchyard.route'] = meta.route;
  if (meta.target !== null) attributes['switchyard.target'] = meta.target;
  if (meta.tenant !== null) attributes['switchyard.tenant'] = meta.tenant;
  if (meta.cache !== null) attributes['switchyard.cache'] = meta.cache;
  if (meta.cacheSimilarity !== undefined) attributes['switchyard.cache_similarity'] = meta.cacheSimilarity;
  if (meta.costUsd !== null) attributes['switchyard.cost_usd'] = meta.costUsd;
  const served = meta.attempts.findLast((a) => a.outcome === 'ok');
  if (served !== undefined) attributes['gen_ai.response.model'] = served.upstreamModel;
  usageAttributes(attributes, meta.usage);
  const code = errorCode(body);
  if (code !== null) attributes['error.type'] = code;
  span.setAttributes(attributes);
  // Client errors are the caller's; only a failure of the gateway or its upstreams is an error.
  if (status >= 500)
    span.setStatus({ code: api().api.SpanStatusCode.ERROR, message: code ?? String(status) });
  span.end();
}

function errorCode(body: unknown): string | null {
  const error = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : null;
}

/** The `gen_ai.provider.name` of a provider kind (the semantic conventions' well-known values). */
function providerName(spec: ProviderSpec): string {
  return spec.kind === 'openai' && spec.azure !== null ? 'azure.ai.openai' : spec.kind;
}

/**
 * Starts the span of one upstream attempt, a child of the request span, and the headers that carry
 * its context upstream (`traceparent`; null when the propagator injects nothing).
 */
export function startAttemptSpan(
  parent: RequestTrace,
  attempt: {
    readonly target: ResolvedTarget;
    readonly provider: ProviderSpec;
    readonly route: string;
    readonly number: number;
    readonly path: string;
    readonly continuation: boolean;
  },
): { readonly span: Span; readonly headers: Record<string, string> | null } {
  // Only reached with a request span, so the API is loaded.
  const {
    api: { propagation, SpanKind, trace },
    tracer,
  } = api();
  const op = operation(attempt.path);
  const span = tracer.startSpan(
    `${op} ${attempt.target.upstreamModel}`,
    { kind: SpanKind.CLIENT },
    parent.context,
  );
  if (span.isRecording()) {
    const system = providerName(attempt.provider);
    span.setAttributes({
      'gen_ai.operation.name': op,
      'gen_ai.request.model': attempt.target.upstreamModel,
      'gen_ai.provider.name': system,
      'gen_ai.system': system,
      'switchyard.route': attempt.route,
      'switchyard.target': attempt.target.name,
      'switchyard.provider': attempt.target.provider,
      'switchyard.attempt': attempt.number,
      ...(attempt.continuation ? { 'switchyard.continuation': true } : {}),
    });
  }
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(parent.context, span), carrier);
  return { span, headers: Object.keys(carrier).length === 0 ? null : carrier };
}

/** Notes the model that answered (the upstream's `model` field). */
export function setResponseModel(span: Span | null, model: unknown): void {
  if (span === null || !span.isRecording() || typeof model !== 'string') return;
  span.setAttribute('gen_ai.response.model', model);
}

/** Ends an attempt span with its record; `cancelled`: the caller went away first. */
export function endAttemptSpan(span: Span, record: AttemptRecord | 'cancelled'): void {
  if (span.isRecording()) {
    if (record === 'cancelled') {
      span.setAttributes({ 'switchyard.outcome': 'cancelled', 'error.type': 'cancelled' });
    } else {
      const attributes: Attributes = { 'switchyard.outcome': record.outcome };
      if (record.status !== null) attributes['http.response.status_code'] = record.status;
      if (record.firstTokenMs !== null) attributes['switchyard.first_token_ms'] = record.firstTokenMs;
      usageAttributes(attributes, record.usage);
      if (record.outcome !== 'ok') attributes['error.type'] = record.outcome;
      span.setAttributes(attributes);
      if (record.outcome !== 'ok')
        span.setStatus({ code: api().api.SpanStatusCode.ERROR, message: record.outcome });
    }
  }
  span.end();
}
