import type { Model, Provider } from '../policy/types.generated.js';
import type { ProviderSpec } from '../providers/types.js';
import { DEFAULT_CONNECTIONS, DEFAULT_KEEP_ALIVE_MS, type PoolSettings } from '../shared/pool-settings.js';
import { parseSize } from '../shared/units.js';
import type { Capabilities, Price } from '../types.js';
import {
  DEFAULT_ANTHROPIC_BASE_URL,
  DEFAULT_ANTHROPIC_VERSION,
  DEFAULT_MAX_RESPONSE_BYTES,
  ms,
} from './settings.js';

/** The schema's default mock `batchLatency`. */
export const DEFAULT_MOCK_BATCH_LATENCY_MS = 1000;

export interface CompiledModel {
  readonly name: string;
  readonly provider: string;
  /** The upstream model name, or '*' for a wildcard. */
  readonly upstreamModel: string;
  readonly wildcard: boolean;
  readonly price: Price | null;
  /** The price of answers through the provider's native batch API (`batchPrice`); null: `price`. */
  readonly batchPrice: Price | null;
  readonly context: number | null;
  readonly capabilities: Capabilities;
  readonly definition: Model;
}

// ---------------------------------------------------------------------------------------------
// Providers, models, tenants

/**
 * A network provider's connection pool: `connections` as given, `keepAlive` as milliseconds of
 * idle time, `false` and a zero duration both meaning 0 (close after every response).
 */
export function compilePool(
  connections: number | undefined,
  keepAlive: string | false | undefined,
): PoolSettings {
  return {
    connections: connections ?? DEFAULT_CONNECTIONS,
    keepAliveMs: keepAlive === undefined ? DEFAULT_KEEP_ALIVE_MS : keepAlive === false ? 0 : ms(keepAlive),
  };
}

/** OpenAI's own API: its providers serve the Responses API unless they say otherwise. */
const OPENAI_BASE_URL = /^https:\/\/api\.openai\.com\/v1\/?$/;

/** Whether `/v1/responses` requests are passed through to the provider (its `responses` flag). */
export function servesResponses(p: NonNullable<Provider> | undefined): boolean {
  if (p === undefined || p.kind !== 'openai') return false;
  return p.responses ?? OPENAI_BASE_URL.test(p.baseUrl);
}

export function compileProvider(name: string, p: NonNullable<Provider>): ProviderSpec {
  const maxBytes = (size: string | undefined): number => {
    if (size === undefined) return DEFAULT_MAX_RESPONSE_BYTES;
    const r = parseSize(size);
    if (!r.ok) throw new Error(`internal: invalid size reached compile: ${r.error}`);
    return r.value;
  };
  switch (p.kind) {
    case 'openai':
      return {
        name,
        kind: 'openai',
        baseUrl: p.baseUrl,
        apiKey: p.apiKey ?? null,
        headers: Object.fromEntries(definedEntries(p.headers)),
        azure: p.azure ? { apiVersion: p.azure.apiVersion, deployment: p.azure.deployment ?? null } : null,
        anthropicVersion: DEFAULT_ANTHROPIC_VERSION,
        mock: null,
        responses: servesResponses(p),
        maxResponseBytes: maxBytes(p.maxResponseSize),
        pool: compilePool(p.connections, p.keepAlive),
      };
    case 'anthropic':
      return {
        name,
        kind: 'anthropic',
        baseUrl: p.baseUrl ?? DEFAULT_ANTHROPIC_BASE_URL,
        apiKey: p.apiKey ?? null,
        headers: Object.fromEntries(definedEntries(p.headers)),
        azure: null,
        anthropicVersion: p.version ?? DEFAULT_ANTHROPIC_VERSION,
        mock: null,
        maxResponseBytes: maxBytes(p.maxResponseSize),
        pool: compilePool(p.connections, p.keepAlive),
      };
    case 'mock':
      return {
        name,
        kind: 'mock',
        baseUrl: null,
        apiKey: null,
        headers: {},
        azure: null,
        anthropicVersion: DEFAULT_ANTHROPIC_VERSION,
        mock: {
          reply: p.reply ?? null,
          latencyMs: p.latency === undefined ? 0 : ms(p.latency),
          chunkDelayMs: p.chunkDelay === undefined ? 0 : ms(p.chunkDelay),
          batchLatencyMs: p.batchLatency === undefined ? DEFAULT_MOCK_BATCH_LATENCY_MS : ms(p.batchLatency),
          sequence: [...(p.sequence ?? [])],
          ...(p.cutAfter === undefined ? {} : { cutAfter: p.cutAfter }),
        },
        maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
      };
  }
}

export function compileModel(name: string, m: Model): CompiledModel {
  return {
    name,
    provider: m.provider,
    upstreamModel: m.model,
    wildcard: m.model === '*',
    price: m.price
      ? {
          input: m.price.input,
          output: m.price.output,
          ...(m.price.cachedInput === undefined ? {} : { cachedInput: m.price.cachedInput }),
          ...(m.price.cacheWrite === undefined ? {} : { cacheWrite: m.price.cacheWrite }),
        }
      : null,
    batchPrice: m.batchPrice ? { input: m.batchPrice.input, output: m.batchPrice.output } : null,
    context: m.context ?? null,
    capabilities: {
      prefill: m.capabilities?.prefill ?? false,
      tools: m.capabilities?.tools ?? true,
      vision: m.capabilities?.vision ?? true,
    },
    definition: m,
  };
}

export function definedEntries<V>(record: { [k: string]: V | undefined } | undefined): [string, V][] {
  const out: [string, V][] = [];
  if (record === undefined) return out;
  for (const key of Object.keys(record)) {
    const v = record[key];
    if (v !== undefined) out.push([key, v]);
  }
  return out;
}
