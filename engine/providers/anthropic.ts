/**
 * The Anthropic Messages adapter: chat completions in, `/v1/messages` out, and the answer (JSON or
 * event stream) translated back into OpenAI shapes, so nothing above this layer knows Anthropic
 * exists. The translations (request, response, stream: `anthropic-*.ts`) are exported here for
 * tests and for `replay`.
 */
import { fromOpenAIUsage } from '../shared/usage.js';
import { type AnthropicRequest, TranslationError, toAnthropicRequest } from './anthropic-request.js';
import { fromAnthropicMessage } from './anthropic-response.js';
import { AnthropicStreamTranslator, anthropicStreamItems } from './anthropic-stream.js';
import { classifyException, classifyHttpError, providerError, rethrowIfAborted } from './classify.js';
import type { ChatCompletion } from './openai-types.js';
import { scrubberFor } from './scrub.js';
import type { HttpResponse } from './transport.js';
import type {
  Provider,
  ProviderCallRequest,
  ProviderCallResult,
  ProviderDeps,
  ProviderSpec,
} from './types.js';

export { type AnthropicRequest, DEFAULT_MAX_TOKENS, toAnthropicRequest } from './anthropic-request.js';
export { fromAnthropicMessage } from './anthropic-response.js';
export { AnthropicStreamTranslator, anthropicStreamItems } from './anthropic-stream.js';

export function anthropicUrl(spec: ProviderSpec): string {
  const base = (spec.baseUrl ?? 'https://api.anthropic.com').replace(/\/+$/, '');
  return base.endsWith('/v1') ? `${base}/messages` : `${base}/v1/messages`;
}

export function anthropicHeaders(spec: ProviderSpec, stream: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: stream ? 'text/event-stream' : 'application/json',
    'anthropic-version': spec.anthropicVersion || '2023-06-01',
  };
  if (spec.apiKey !== null) headers['x-api-key'] = spec.apiKey;
  for (const [name, value] of Object.entries(spec.headers)) headers[name.toLowerCase()] = value;
  return headers;
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
      rethrowIfAborted(req.signal);
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
        payload = toAnthropicRequest(req.body, req.upstreamModel, req.stream, req.prefill);
      } catch (err) {
        if (!(err instanceof TranslationError)) throw err;
        return { ok: false, error: providerError('bad_request', err.message) };
      }
      let res: HttpResponse;
      try {
        res = await transport.request({
          url: anthropicUrl(spec),
          method: 'POST',
          headers: anthropicHeaders(spec, req.stream),
          body: JSON.stringify(payload),
          signal: req.signal,
          connectTimeoutMs: req.connectTimeoutMs,
          maxResponseBytes: spec.maxResponseBytes,
          pool: spec.pool,
        });
      } catch (err) {
        rethrowIfAborted(req.signal);
        return { ok: false, error: classifyException(err, 'request') };
      }
      const created = Math.floor(clock.now() / 1000);
      if (
        res.status >= 200 &&
        res.status < 300 &&
        req.stream &&
        (res.headers['content-type'] ?? '').includes('event-stream')
      ) {
        const translator = new AnthropicStreamTranslator(req.upstreamModel, created);
        return {
          ok: true,
          kind: 'stream',
          status: res.status,
          headers: res.headers,
          items: anthropicStreamItems(res.body, translator, req.signal, scrubber),
        };
      }
      let text: string;
      try {
        text = await res.text();
      } catch (err) {
        rethrowIfAborted(req.signal);
        if (res.status >= 200 && res.status < 300)
          return { ok: false, error: classifyException(err, 'body') };
        text = '';
      }
      if (res.status < 200 || res.status >= 300) {
        // Scrubbed before the message is cut from it, and again once parsed (see openai.ts).
        const clean = scrubber.text(text);
        return {
          ok: false,
          error: scrubber.error(classifyHttpError(res.status, clean, res.headers, clock.now())),
        };
      }
      if (req.stream) {
        return {
          ok: false,
          error: providerError('malformed', 'upstream sent JSON instead of an event stream', {
            status: res.status,
          }),
        };
      }
      let body: ChatCompletion;
      try {
        body = fromAnthropicMessage(JSON.parse(text), req.upstreamModel, created);
      } catch {
        return {
          ok: false,
          error: providerError('malformed', 'upstream answer is not an Anthropic message', {
            status: res.status,
          }),
        };
      }
      return {
        ok: true,
        kind: 'json',
        status: res.status,
        headers: res.headers,
        body,
        usage: body.usage ? fromOpenAIUsage(body.usage) : null,
      };
    },
  };
}
