/**
 * The mock provider's native batch API (see batch.ts), offline and deterministic: a submitted
 * batch ends `batchLatencyMs` later on the engine's clock, and each of its requests is answered
 * when the results are read, by the mock's own `call` (so its `sequence` applies: a request whose
 * outcome is a failure has no answer and runs again through the route's plan). Batches live in
 * this process's memory (their requests, until the results are read): after a restart the mock
 * no longer knows a batch, and polling it fails.
 */
import type { Clock } from '../shared/clock.js';
import { isRecord } from '../shared/guards.js';
import type { BatchItem, NativeBatchApi } from './batch.js';
import { bodyLines } from './batch.js';
import { providerError } from './classify.js';
import type { Provider } from './types.js';

interface MockBatch {
  readonly endsAt: number;
  cancelled: boolean;
  readonly requests: { readonly customId: string; readonly body: Record<string, unknown> }[];
}

export function createMockBatchApi(provider: Provider, clock: Clock): NativeBatchApi {
  const latencyMs = provider.spec.mock?.batchLatencyMs ?? 1000;
  const batches = new Map<string, MockBatch>();
  let next = 0;

  const unknown = (id: string) => ({
    ok: false as const,
    error: providerError(
      'bad_request',
      `no batch ${JSON.stringify(id)} (mock: batches do not survive a restart)`,
      {
        status: 404,
      },
    ),
  });

  return {
    encode(customId, body, upstreamModel) {
      return {
        ok: true,
        line: JSON.stringify({ custom_id: customId, body: { ...body, model: upstreamModel } }),
      };
    },

    async submit(s) {
      const requests: MockBatch['requests'] = [];
      for await (const text of bodyLines(s.open())) {
        let parsed: unknown = null;
        try {
          parsed = text === null ? null : JSON.parse(text);
        } catch {
          parsed = null;
        }
        if (!isRecord(parsed) || typeof parsed.custom_id !== 'string' || !isRecord(parsed.body)) {
          return {
            ok: false,
            error: providerError('bad_request', 'a batch line is malformed (mock)', { status: 400 }),
          };
        }
        requests.push({ customId: parsed.custom_id, body: parsed.body });
      }
      next++;
      const id = `mockbatch_${next}`;
      batches.set(id, { endsAt: clock.now() + latencyMs, cancelled: false, requests });
      return { ok: true, value: { id } };
    },

    async poll(id) {
      const batch = batches.get(id);
      if (batch === undefined) return unknown(id);
      if (batch.cancelled) return { ok: true, value: { ended: true, status: 'cancelled', message: null } };
      if (clock.now() < batch.endsAt) return { ok: true, value: { ended: false, status: 'in_progress' } };
      return { ok: true, value: { ended: true, status: 'completed', message: null } };
    },

    async *results(id, signal): AsyncGenerator<BatchItem> {
      const batch = batches.get(id);
      if (batch === undefined) return;
      for (const request of batch.requests) {
        if (batch.cancelled) {
          yield { customId: request.customId, ok: false, reason: 'cancelled' };
          continue;
        }
        const model = typeof request.body.model === 'string' ? request.body.model : 'mock';
        const result = await provider.call({
          upstreamModel: model,
          endpoint: 'chat',
          body: request.body,
          stream: false,
          signal,
          connectTimeoutMs: 0,
        });
        if (result.ok && result.kind === 'json') {
          yield { customId: request.customId, ok: true, body: result.body, usage: result.usage };
        } else {
          const reason = result.ok ? 'the answer was a stream (mock)' : result.error.message;
          yield { customId: request.customId, ok: false, reason };
        }
      }
      batches.delete(id);
    },

    async cancel(id) {
      const batch = batches.get(id);
      if (batch === undefined) return unknown(id);
      batch.cancelled = true;
      return { ok: true, value: undefined };
    },
  };
}
