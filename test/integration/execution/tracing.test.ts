/**
 * OpenTelemetry traces of the engine (engine/runtime/tracing.ts) with an SDK registered the way an
 * embedding program (or `serve` with OTEL_EXPORTER_OTLP_ENDPOINT) registers it, spans kept in
 * memory: a span per request continuing the incoming `traceparent`, a span per upstream attempt
 * with the GenAI attributes, and each attempt's context sent upstream. Without a registered
 * provider nothing is traced and nothing is sent.
 */
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  InMemorySpanExporter,
  type ReadableSpan,
  type Sampler,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createEngine } from '../../../engine/index.js';
import { OTEL_API_GLOBAL, startRequestSpan } from '../../../engine/runtime/tracing.js';
import { compileYaml, KEYS, trafficYaml } from '../traffic/helpers.js';
import { asJson, asStream, chatBody, engineFor, readStream, useExecutionUpstream } from './helpers.js';

const upstream = useExecutionUpstream();
const exporter = new InMemorySpanExporter();
let provider: NodeTracerProvider | null = null;

/** Registers the in-memory provider once (the API keeps the first registration). */
function register(sampler?: Sampler): void {
  if (provider !== null && sampler === undefined) return;
  provider = new NodeTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
    ...(sampler === undefined ? {} : { sampler }),
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
}

afterAll(async () => {
  await provider?.shutdown();
  trace.disable();
  propagation.disable();
  context.disable();
});

beforeEach(() => exporter.reset());

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;
const NO_RETRY = 'attempts: 0';

function spansOf(kind: SpanKind): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.kind === kind);
}

describe('tracing', () => {
  // First: the global provider is registered by the tests after this one.
  it('without a tracer provider: no span context, no traceparent upstream', async () => {
    expect(startRequestSpan({ body: { model: 'x' }, headers: { traceparent: TRACEPARENT } })).toBeNull();
    const engine = engineFor({ url: upstream.url, retry: NO_RETRY });
    const res = asJson(await engine.handle({ body: chatBody(), headers: { traceparent: TRACEPARENT } }));
    expect(res.status).toBe(200);
    expect(upstream.requests[0].headers.traceparent).toBeUndefined();
  });

  it('registering through the API we depend on sets the global the engine checks before loading it', () => {
    register();
    // engine/runtime/tracing.ts skips tracing (without loading the API) while this key is absent.
    const registered = (globalThis as Record<symbol, Record<string, unknown> | undefined>)[OTEL_API_GLOBAL];
    expect(registered?.trace).toBeDefined();
    expect(registered?.propagation).toBeDefined();
  });

  it('a request span continuing the incoming traceparent, an attempt span per upstream call', async () => {
    register();
    upstream.enqueue({ kind: 'status', status: 503 }, { kind: 'ok' });
    const engine = engineFor({ url: upstream.url, retry: NO_RETRY });
    const res = asJson(
      await engine.handle({ body: chatBody(), headers: { traceparent: TRACEPARENT }, requestId: 'req-1' }),
    );
    expect(res.status).toBe(200);

    const [request] = spansOf(SpanKind.INTERNAL);
    expect(request.name).toBe('chat gpt-test');
    expect(request.spanContext().traceId).toBe(TRACE_ID);
    expect(request.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(request.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-test',
      'gen_ai.response.model': 'm-backup',
      'http.response.status_code': 200,
      'switchyard.request_id': 'req-1',
      'switchyard.route': 'main',
      'switchyard.target': 'backup',
      'switchyard.attempts': 2,
      'switchyard.policy': 'execution@1',
    });
    expect(request.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(request.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);

    const attempts = spansOf(SpanKind.CLIENT);
    expect(attempts.map((s) => s.name)).toEqual(['chat m-primary', 'chat m-backup']);
    for (const span of attempts) {
      expect(span.spanContext().traceId).toBe(TRACE_ID);
      expect(span.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    }
    const [failed, served] = attempts;
    expect(failed.attributes).toMatchObject({
      'gen_ai.request.model': 'm-primary',
      'gen_ai.provider.name': 'openai',
      'gen_ai.system': 'openai',
      'switchyard.target': 'primary',
      'switchyard.provider': 'up',
      'switchyard.route': 'main',
      'switchyard.attempt': 1,
      'switchyard.outcome': 'overloaded',
      'error.type': 'overloaded',
      'http.response.status_code': 503,
    });
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(served.attributes).toMatchObject({ 'switchyard.attempt': 2, 'switchyard.outcome': 'ok' });
    expect(served.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(served.attributes['gen_ai.response.model']).toBeTypeOf('string');
    expect(served.status.code).toBe(SpanStatusCode.UNSET);

    // Each upstream call carried its own attempt span's context.
    expect(upstream.requests.map((r) => r.headers.traceparent)).toEqual(
      attempts.map((s) => `00-${TRACE_ID}-${s.spanContext().spanId}-01`),
    );
  });

  it('prompt-cache reads and writes are the GenAI cache_read and cache_creation input tokens', async () => {
    register();
    const completion = {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 0,
      model: 'm-backup',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: 900,
        completion_tokens: 5,
        total_tokens: 905,
        prompt_tokens_details: { cached_tokens: 700, cache_write_tokens: 100 },
      },
    };
    upstream.enqueue({
      kind: 'raw',
      status: 200,
      headers: { 'content-type': 'application/json' },
      chunks: [JSON.stringify(completion)],
    });
    const engine = engineFor({ url: upstream.url, retry: NO_RETRY });
    expect(
      asJson(await engine.handle({ body: chatBody(), headers: { traceparent: TRACEPARENT } })).status,
    ).toBe(200);
    const spans = [...spansOf(SpanKind.INTERNAL), ...spansOf(SpanKind.CLIENT)];
    expect(spans).toHaveLength(2); // the request and its one attempt
    for (const span of spans) {
      expect(span.attributes).toMatchObject({
        'gen_ai.usage.input_tokens': 900,
        'gen_ai.usage.cache_read.input_tokens': 700,
        'gen_ai.usage.cache_creation.input_tokens': 100,
      });
    }
  });

  it('a stream: the request span ends when the stream has, with its usage', async () => {
    register();
    const engine = engineFor({ url: upstream.url, retry: NO_RETRY });
    const res = asStream(await engine.handle({ body: chatBody({ stream: true, includeUsage: true }) }));
    expect(spansOf(SpanKind.INTERNAL)).toHaveLength(0);
    const read = await readStream(res);
    expect(read.done).toBe(true);
    await res.done;
    const [request] = spansOf(SpanKind.INTERNAL);
    // No incoming trace: a new one, and the attempt is still its child.
    expect(request.parentSpanContext).toBeUndefined();
    expect(request.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    const [attempt] = spansOf(SpanKind.CLIENT);
    expect(attempt.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(upstream.requests[0].headers.traceparent).toBe(
      `00-${request.spanContext().traceId}-${attempt.spanContext().spanId}-01`,
    );
  });

  it('a refused request is traced too, as an error only when the gateway is at fault', async () => {
    register();
    upstream.enqueue({ kind: 'status', status: 503 }, { kind: 'status', status: 503 });
    const engine = engineFor({ url: upstream.url, retry: NO_RETRY });
    const exhausted = asJson(await engine.handle({ body: chatBody() }));
    expect(exhausted.status).toBeGreaterThanOrEqual(500);
    const bad = asJson(await engine.handle({ body: { model: 'gpt-test', messages: 'nope' } }));
    expect(bad.status).toBe(400);
    const [first, second] = spansOf(SpanKind.INTERNAL);
    expect(first.status.code).toBe(SpanStatusCode.ERROR);
    expect(second.status.code).toBe(SpanStatusCode.UNSET);
    expect(second.attributes).toMatchObject({
      'http.response.status_code': 400,
      'error.type': 'invalid_request',
    });
  });

  // Last: it replaces the registered provider.
  it('a semantic cache hit: the request span carries the similarity', async () => {
    register();
    const policy = trafficYaml({
      models: `
  primary: { provider: demo, model: m-primary }
  embed: { provider: demo, model: m-embed }`,
      sections: `caches:
  similar: { mode: semantic, ttl: 1h, embedding: embed, dimensions: 256, threshold: 0.85 }
`,
      routes: `
  - name: main
    targets: [primary]
    cache: similar`,
    });
    const engine = createEngine(compileYaml(policy));
    try {
      const ask = (content: string) => ({
        body: { model: 'gpt-test', messages: [{ role: 'user', content }] },
        headers: { authorization: `Bearer ${KEYS.acme}` },
      });
      await engine.handle(ask('What is the capital of France?'));
      const hit = asJson(await engine.handle(ask('What is the capital of France, please?')));
      expect(hit.headers['x-switchyard-cache']).toBe('hit');
      const [miss, served] = spansOf(SpanKind.INTERNAL);
      expect(miss.attributes['switchyard.cache_similarity']).toBeUndefined();
      expect(served.attributes['switchyard.cache']).toBe('hit');
      expect(served.attributes['switchyard.cache_similarity']).toBeCloseTo(
        Number(hit.headers['x-switchyard-cache-similarity']),
        4,
      );
    } finally {
      await engine.close();
    }
  });

  it('a trace the sampler drops: nothing recorded, the context still sent upstream (sampled flag off)', async () => {
    await provider?.shutdown();
    trace.disable();
    register(new AlwaysOffSampler());
    const engine = engineFor({ url: upstream.url, retry: NO_RETRY });
    const unsampled = `00-${TRACE_ID}-${CALLER_SPAN}-00`;
    expect(
      asJson(await engine.handle({ body: chatBody(), headers: { traceparent: unsampled } })).status,
    ).toBe(200);
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(upstream.requests[0].headers.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-00$`));
  });
});
