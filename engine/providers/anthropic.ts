/**
 * The Anthropic Messages adapter: chat completions in, `/v1/messages` out, and the answer (JSON or
 * event stream) translated back into OpenAI shapes, so nothing above this layer knows Anthropic
 * exists. The translations (request, response, stream: `anthropic-*.ts`) are exported here for
 * tests and for `replay`.
 */
import {
  type AnthropicRequest,
  JSON_PREFILL,
  jsonPrefill,
  TranslationError,
  toAnthropicRequest,
} from './anthropic-request.js';
import { fromAnthropicMessage } from './anthropic-response.js';
import { AnthropicStreamTranslator } from './anthropic-stream.js';
import { providerError, rethrowIfAborted } from './classify.js';
import { scrubberFor } from './scrub.js';
import { translatedAnswer } from './stream-translator.js';
import type {
  Provider,
  ProviderCallRequest,
  ProviderCallResult,
  ProviderDeps,
  ProviderSpec,
} from './types.js';
import { httpFailure, isSuccess, post, requestHeaders } from './upstream.js';

export { type AnthropicRequest, DEFAULT_MAX_TOKENS, toAnthropicRequest } from './anthropic-request.js';
export { fromAnthropicMessage } from './anthropic-response.js';
export { AnthropicStreamTranslator } from './anthropic-stream.js';

export function anthropicUrl(spec: ProviderSpec): string {
  const base = (spec.baseUrl ?? 'https://api.anthropic.com').replace(/\/+$/, '');
  return base.endsWith('/v1') ? `${base}/messages` : `${base}/v1/messages`;
}

export function anthropicHeaders(spec: ProviderSpec, stream: boolean): Record<string, string> {
  const auth: Record<string, string> = { 'anthropic-version': spec.anthropicVersion || '2023-06-01' };
  if (spec.apiKey !== null) auth['x-api-key'] = spec.apiKey;
  return requestHeaders(spec, stream, auth);
}

/**
 * @example
 * const provider = createAnthropicProvider(spec, { transport, clock });
 * await provider.call({ upstreamModel: 'claude-sonnet-4-5', endpoint: 'chat', body, stream: true, signal, connectTimeoutMs: 2000 });
 */
export function createAnthropicProvider(spec: ProviderSpec, deps: ProviderDeps): Provider {
  const { transport, clock } = deps;
  const scrubber = scrubberFor(spec);
  return {
    spec,
    async call(req: ProviderCallRequest): Promise<ProviderCallResult> {
      rethrowIfAborted(req.cancel ?? req.signal);
      if (req.endpoint !== 'chat') {
        return {
          ok: false,
          error: providerError(
            'bad_request',
            `provider "${spec.name}" (anthropic) has no ${req.endpoint} endpoint`,
          ),
        };
      }
      let payload: AnthropicRequest;
      try {
        payload = toAnthropicRequest(req.body, req.upstreamModel, req.stream, req.prefill, req.promptCache);
      } catch (err) {
        if (!(err instanceof TranslationError)) throw err;
        return { ok: false, error: providerError('bad_request', err.message) };
      }
      const sent = await post(
        transport,
        spec,
        req,
        anthropicUrl(spec),
        anthropicHeaders(spec, req.stream),
        JSON.stringify(payload),
      );
      if (!sent.ok) return sent;
      const { res } = sent;
      if (!isSuccess(res.status)) {
        return { ok: false, error: await httpFailure(res, req, scrubber, clock) };
      }
      const created = Math.floor(clock.now() / 1000);
      // JSON mode put `{` in the answer's mouth: the answer gets it back.
      const prefix = jsonPrefill(req.body, req.prefill) ? JSON_PREFILL : '';
      return translatedAnswer(
        res,
        req,
        {
          translator: () => new AnthropicStreamTranslator(req.upstreamModel, created, prefix),
          parse: (value) => fromAnthropicMessage(value, req.upstreamModel, created, prefix),
          what: 'an Anthropic message',
        },
        scrubber,
      );
    },
  };
}
