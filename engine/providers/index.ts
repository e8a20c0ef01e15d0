/**
 * The provider layer's entry point: `createProvider` picks the adapter for a spec's `kind`.
 */
import { createAnthropicProvider } from './anthropic.js';
import { createMockProvider } from './mock.js';
import { createOpenAIProvider } from './openai.js';
import type { Provider, ProviderDeps, ProviderSpec } from './types.js';

const FACTORIES: Readonly<
  Record<ProviderSpec['kind'], (spec: ProviderSpec, deps: ProviderDeps) => Provider>
> = {
  openai: createOpenAIProvider,
  anthropic: createAnthropicProvider,
  mock: createMockProvider,
};

/**
 * @example
 * const transport = createUndiciTransport();
 * const provider = createProvider(spec, { transport, clock: systemClock });
 * const result = await provider.call({ upstreamModel: 'gpt-5-nano', endpoint: 'chat', body, stream: false, signal, connectTimeoutMs: 2000 });
 */
export function createProvider(spec: ProviderSpec, deps: ProviderDeps): Provider {
  return FACTORIES[spec.kind](spec, deps);
}

export { classifyHttpError, parseRetryAfter, providerError } from './classify.js';
export { callerWantsStreamUsage, isUsageOnlyChunk, usageFromOpenAI } from './openai.js';
export { DEFAULT_POOL, type PoolSettings } from './pool.js';
export { parseSse, SseParser, sseFrame } from './sse.js';
export {
  createUndiciTransport,
  type HttpRequest,
  type HttpResponse,
  type Transport,
  TransportError,
  type TransportErrorCode,
} from './transport.js';
export * from './types.js';
