/**
 * Shared pieces of the traffic suite (limits, budgets, cache through `createEngine().handle()`):
 * policies on the in-process mock provider, an engine that counts upstream attempts and collects
 * the traffic hooks' events, and readers for JSON and SSE answers.
 */

import type { CompiledPolicy } from '../../../engine/compile/compile.js';
import {
  type BudgetAlertEvent,
  type CacheEvent,
  type Clock,
  createEngine,
  type Engine,
  type EngineOptions,
  type EngineResponse,
  formatHuman,
  type LimitEvent,
  parsePolicy,
  type StoreEvent,
} from '../../../engine/index.js';

export const KEYS = { acme: 'sk-acme-test-key', globex: 'sk-globex-test-key' } as const;

/** 2026-01-01T00:00:00Z: budgets count per UTC calendar period. */
export const T0 = 1_767_225_600_000;

export interface TrafficPolicy {
  /** Top-level sections (limits, budgets, caches, stores) as YAML, at column 0. */
  sections?: string;
  /** `routes:` entries. */
  routes: string;
  /** `models:` entries; defaults to primary (dear) and backup (cheap) on the mock provider. */
  models?: string;
  /** Policy version (a reload needs a different one to change the hash). */
  version?: string;
  /** The mock provider's extra settings (flow mapping body), e.g. `latency: 50ms`. */
  mock?: string;
}

export const PRICES = { primary: { input: 100, output: 200 }, backup: { input: 1, output: 2 } } as const;

export function trafficYaml(p: TrafficPolicy): string {
  return `switchyard: v1
policy: { name: traffic, version: "${p.version ?? '1'}" }
providers:
  demo: { kind: mock${p.mock === undefined ? '' : `, ${p.mock}`} }
models:${
    p.models ??
    `
  primary: { provider: demo, model: m-primary, price: { input: ${PRICES.primary.input}, output: ${PRICES.primary.output} } }
  backup: { provider: demo, model: m-backup, price: { input: ${PRICES.backup.input}, output: ${PRICES.backup.output} } }`
  }
tenants:
  acme: { keys: [${KEYS.acme}], labels: { tier: paid } }
  globex: { keys: [${KEYS.globex}], labels: { tier: free } }
defaults:
  retry: { attempts: 0 }
  breaker: { enabled: false }
${p.sections ?? ''}
routes:${p.routes}
`;
}

export function compileYaml(yaml: string): CompiledPolicy {
  const loaded = parsePolicy([{ file: 'traffic.yaml', text: yaml }]);
  if (!loaded.ok)
    throw new Error(`test policy is invalid:\n${formatHuman(loaded.diagnostics, loaded.sources)}`);
  return loaded.policy;
}

export interface Harness {
  readonly engine: Engine;
  /** Upstream attempts, in order (target names). */
  readonly calls: string[];
  readonly limits: LimitEvent[];
  readonly alerts: BudgetAlertEvent[];
  readonly caches: CacheEvent[];
  readonly storeEvents: StoreEvent[];
}

const open: Engine[] = [];

export function harness(
  policy: TrafficPolicy | string,
  options: { clock?: Clock } & EngineOptions = {},
): Harness {
  const calls: string[] = [];
  const limits: LimitEvent[] = [];
  const alerts: BudgetAlertEvent[] = [];
  const caches: CacheEvent[] = [];
  const storeEvents: StoreEvent[] = [];
  const engine = createEngine(compileYaml(typeof policy === 'string' ? policy : trafficYaml(policy)), {
    ...options,
    onAttempt: (a) => calls.push(a.target),
    onLimit: (e) => limits.push(e),
    onBudgetAlert: (e) => alerts.push(e),
    onCache: (e) => caches.push(e),
    onStoreError: (e) => storeEvents.push(e),
  });
  open.push(engine);
  return { engine, calls, limits, alerts, caches, storeEvents };
}

export async function closeEngines(): Promise<void> {
  await Promise.all(open.splice(0).map((e) => e.close()));
}

export interface Ask {
  tenant?: keyof typeof KEYS;
  content?: string;
  stream?: boolean;
  includeUsage?: boolean;
  maxTokens?: number;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export function request(ask: Ask = {}) {
  const body: Record<string, unknown> = {
    model: 'gpt-test',
    messages: [{ role: 'user', content: ask.content ?? 'Say hello.' }],
  };
  if (ask.stream) body.stream = true;
  if (ask.includeUsage) body.stream_options = { include_usage: true };
  if (ask.maxTokens !== undefined) body.max_tokens = ask.maxTokens;
  return {
    body,
    headers: { authorization: `Bearer ${KEYS[ask.tenant ?? 'acme']}`, ...(ask.headers ?? {}) },
    signal: ask.signal,
  };
}

export type JsonResponse = Extract<EngineResponse, { kind: 'json' }>;
export type StreamResponse = Extract<EngineResponse, { kind: 'stream' }>;

export function asJson(res: EngineResponse): JsonResponse {
  if (res.kind !== 'json') throw new Error(`expected JSON, got a stream (status ${res.status})`);
  return res;
}

export function asStream(res: EngineResponse): StreamResponse {
  if (res.kind !== 'stream')
    throw new Error(`expected a stream, got JSON ${res.status}: ${JSON.stringify(res.body)}`);
  return res;
}

/** The answer's text, whatever its kind; streams are read to the end (and `done` awaited). */
export async function text(res: EngineResponse): Promise<string> {
  if (res.kind === 'json') {
    const body = res.body as { choices?: { message?: { content?: string } }[] };
    return body.choices?.[0]?.message?.content ?? '';
  }
  return (await readStream(res)).text;
}

export interface ReadStream {
  frames: string[];
  text: string;
  done: boolean;
  errors: unknown[];
  usage: unknown;
}

export async function readStream(res: EngineResponse): Promise<ReadStream> {
  const s = asStream(res);
  const out: ReadStream = { frames: [], text: '', done: false, errors: [], usage: null };
  for await (const frame of s.events) {
    out.frames.push(frame);
    const data = frame.slice('data: '.length).trim();
    if (data === '[DONE]') {
      out.done = true;
      continue;
    }
    const payload = JSON.parse(data) as {
      error?: unknown;
      usage?: unknown;
      choices?: { delta?: { content?: string } }[];
    };
    if (payload.error !== undefined) out.errors.push(payload.error);
    if (payload.usage) out.usage = payload.usage;
    for (const c of payload.choices ?? []) out.text += c.delta?.content ?? '';
  }
  await s.done;
  return out;
}

/** Lets fire-and-forget accounting (stores resolve in microtasks) settle. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
