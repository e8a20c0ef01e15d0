/**
 * Shared pieces of the execution integration suite: a policy template with short timeouts, an
 * engine built from it (the real undici transport, the real clock), and readers for what the
 * caller got (JSON or SSE frames) and what the upstream saw.
 */
import { afterEach, expect } from 'vitest';
import {
  createEngine,
  type Engine,
  type EngineResponse,
  formatHuman,
  parsePolicy,
  type ResponseMeta,
} from '../../../engine/index.js';
import { isRecord } from '../../../engine/shared/guards.js';
import type { RecordedRequest, Upstream } from '../../support/upstream.js';
import { useUpstream } from '../../support/use-upstream.js';

export { until } from '../../support/wait.js';

/** Timeouts and backoff small enough that a whole file runs in a few seconds. */
export const TIMEOUTS = { connectMs: 200, firstTokenMs: 300, idleMs: 200 } as const;
export const BACKOFF = { initialMs: 10, maxMs: 50 } as const;
/** Timers may fire a millisecond early relative to another clock; spacing checks allow this much. */
export const SLACK_MS = 3;

export interface PolicyParts {
  /** The upstream's `/v1` base URL. */
  url: string;
  /** `models:` entries (indented two spaces); defaults to primary + backup on the upstream. */
  models?: string;
  /** Extra `providers:` entries. */
  providers?: string;
  /** `routes:` entries; defaults to one route `main` with targets [primary, backup]. */
  routes?: string;
  /** Overrides of `defaults.retry` (a YAML flow mapping body). */
  retry?: string;
  /** `defaults.breaker` flow mapping body; the breaker is off by default so tests stay independent. */
  breaker?: string;
  midStream?: 'error' | 'continue';
}

export const PRICES = {
  primary: { input: 10, output: 20 },
  backup: { input: 1, output: 2 },
} as const;

const DEFAULT_MODELS = `
  primary: { provider: up, model: m-primary, price: { input: ${PRICES.primary.input}, output: ${PRICES.primary.output} }, context: 16000 }
  backup: { provider: up, model: m-backup, price: { input: ${PRICES.backup.input}, output: ${PRICES.backup.output} }, context: 16000 }`;

const DEFAULT_ROUTES = `
  - name: main
    targets: [primary, backup]`;

export function policyYaml(parts: PolicyParts): string {
  const retry =
    parts.retry ??
    'attempts: 2, backoff: { initial: 10ms, max: 50ms, jitter: none }, respectRetryAfter: 200ms';
  return `switchyard: v1
policy: { name: execution, version: "1" }
providers:
  up: { kind: openai, baseUrl: "${parts.url}", apiKey: sk-upstream-test }${parts.providers ?? ''}
models:${parts.models ?? DEFAULT_MODELS}
defaults:
  timeout: { connect: ${TIMEOUTS.connectMs}ms, firstToken: ${TIMEOUTS.firstTokenMs}ms, idle: ${TIMEOUTS.idleMs}ms, total: 3s }
  retry: { ${retry} }
  breaker: { ${parts.breaker ?? 'enabled: false'} }
  stream: { midStream: ${parts.midStream ?? 'error'} }
routes:${parts.routes ?? DEFAULT_ROUTES}
`;
}

/** Engines created by {@link engineFor}, closed by {@link closeEngines} (afterEach). */
const open: Engine[] = [];

/** A real engine (undici transport, system clock) for a policy; a broken policy fails the test. */
export function engineFor(parts: PolicyParts): Engine {
  const yaml = policyYaml(parts);
  const loaded = parsePolicy([{ file: 'execution.yaml', text: yaml }]);
  if (!loaded.ok)
    throw new Error(`test policy is invalid:\n${formatHuman(loaded.diagnostics, loaded.sources)}`);
  const engine = createEngine(loaded.policy);
  open.push(engine);
  return engine;
}

export async function closeEngines(): Promise<void> {
  await Promise.all(open.splice(0).map((e) => e.close()));
}

/**
 * The file's loopback upstream (see {@link useUpstream}: one server, reset before each test), and
 * the engines {@link engineFor} built closed after each test.
 */
export function useExecutionUpstream(): Upstream {
  afterEach(closeEngines);
  return useUpstream();
}

export function chatBody(options: { stream?: boolean; content?: string; includeUsage?: boolean } = {}) {
  return {
    model: 'gpt-test',
    messages: [{ role: 'user', content: options.content ?? 'Say hello.' }],
    ...(options.stream ? { stream: true } : {}),
    ...(options.includeUsage ? { stream_options: { include_usage: true } } : {}),
  };
}

export type JsonResponse = Extract<EngineResponse, { kind: 'json' }>;
export type StreamResponse = Extract<EngineResponse, { kind: 'stream' }>;

export function asJson(res: EngineResponse): JsonResponse {
  if (res.kind !== 'json') throw new Error(`expected a JSON response, got a stream (status ${res.status})`);
  return res;
}

export function asStream(res: EngineResponse): StreamResponse {
  if (res.kind !== 'stream')
    throw new Error(`expected a stream, got JSON ${res.status}: ${JSON.stringify(res.body)}`);
  return res;
}

export interface ReadStream {
  /** Every frame as sent. */
  frames: string[];
  /** The JSON payloads of the frames, `[DONE]` excluded. */
  payloads: Record<string, unknown>[];
  /** Concatenated `delta.content`. */
  text: string;
  /** The stream ended with `data: [DONE]`. */
  done: boolean;
  /** In-band error events. */
  errors: { message: string; type: string; code: string | null }[];
  finishReasons: string[];
  meta: ResponseMeta;
}

/** Reads a stream response to its end; every frame must be a well-formed SSE `data:` frame. */
export async function readStream(res: EngineResponse): Promise<ReadStream> {
  const stream = asStream(res);
  const out: Omit<ReadStream, 'meta'> = {
    frames: [],
    payloads: [],
    text: '',
    done: false,
    errors: [],
    finishReasons: [],
  };
  for await (const frame of stream.events) {
    out.frames.push(frame);
    expect(frame).toMatch(/^data: .*\n\n$/s);
    expect(out.done, 'nothing may follow [DONE]').toBe(false);
    const data = frame.slice('data: '.length, -2);
    if (data === '[DONE]') {
      out.done = true;
      continue;
    }
    const payload: unknown = JSON.parse(data); // garbage would throw here
    if (!isRecord(payload)) throw new Error(`frame is not a JSON object: ${frame}`);
    out.payloads.push(payload);
    if (isRecord(payload.error)) {
      out.errors.push(payload.error as ReadStream['errors'][number]);
      continue;
    }
    const choices = Array.isArray(payload.choices) ? payload.choices : [];
    for (const choice of choices) {
      if (!isRecord(choice)) continue;
      if (isRecord(choice.delta) && typeof choice.delta.content === 'string')
        out.text += choice.delta.content;
      if (typeof choice.finish_reason === 'string') out.finishReasons.push(choice.finish_reason);
    }
  }
  return { ...out, meta: await stream.done };
}

export function requestsFor(requests: readonly RecordedRequest[], model: string): RecordedRequest[] {
  return requests.filter((r) => isRecord(r.body) && r.body.model === model);
}

export function modelOf(r: RecordedRequest): string {
  return isRecord(r.body) && typeof r.body.model === 'string' ? r.body.model : '';
}

/** Gaps between consecutive recorded requests, in ms. */
export function gaps(requests: readonly RecordedRequest[]): number[] {
  return requests.slice(1).map((r, i) => r.at - requests[i].at);
}

export function outcomes(meta: ResponseMeta): string[] {
  return meta.attempts.map((a) => `${a.target}:${a.outcome}`);
}

export function lastMessage(r: RecordedRequest): unknown {
  if (!isRecord(r.body) || !Array.isArray(r.body.messages)) return undefined;
  return r.body.messages.at(-1);
}
