/**
 * The provider layer's entry point: `createProvider` picks the adapter for a spec's `kind`.
 */
import { createAnthropicProvider } from './anthropic.js';
import { createAnthropicBatchApi } from './anthropic-batch.js';
import type { NativeBatchApi } from './batch.js';
import { createMockProvider } from './mock.js';
import { createMockBatchApi } from './mock-batch.js';
import { createOpenAIProvider } from './openai.js';
import { createOpenAIBatchApi } from './openai-batch.js';
import { scrubberFor } from './scrub.js';
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
  const provider = FACTORIES[spec.kind](spec, deps);
  const batch = nativeBatchApi(provider, deps);
  return batch === undefined ? provider : { spec: provider.spec, call: provider.call, batch };
}

/** The provider's native batch API, on the same transport and credentials as its calls; undefined when it has none. */
export function nativeBatchApi(provider: Provider, deps: ProviderDeps): NativeBatchApi | undefined {
  const { spec } = provider;
  const http = { transport: deps.transport, spec, scrubber: scrubberFor(spec), clock: deps.clock };
  switch (spec.kind) {
    case 'openai':
      return createOpenAIBatchApi(http);
    case 'anthropic':
      return createAnthropicBatchApi(http);
    case 'mock':
      return createMockBatchApi(provider, deps.clock);
  }
}

export { anthropicBatchItem } from './anthropic-batch.js';
export type { BatchItem, BatchResult, BatchState, BatchSubmission, NativeBatchApi } from './batch.js';
export { classifyHttpError, parseRetryAfter, providerError } from './classify.js';
export { callerWantsStreamUsage, isUsageOnlyChunk, usageFromOpenAI } from './openai.js';
export { openAIBatchItem } from './openai-batch.js';
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
