/** A small `RecordInput` (what the record stage hands a recorder), overridable per test. */
import type { CompiledRecording } from '../../engine/compile/compile.js';
import type { RecordInput } from '../../engine/replay/record.js';
import type { RequestContext } from '../../engine/types.js';

export const RECORD_POLICY = { name: 'rec', version: '1', hash: '0123456789abcdef' };

export function recordContext(o: Partial<RequestContext> = {}): RequestContext {
  return {
    path: '/v1/chat/completions',
    endpoint: 'chat',
    model: 'gpt-5',
    body: { model: 'gpt-5', messages: [{ role: 'user', content: 'private words' }] },
    headers: { 'x-team': 'search', authorization: 'Bearer sk-secret' },
    tenant: 'acme',
    labels: {},
    metadata: {},
    stream: false,
    tools: false,
    inputTokens: 5,
    inputChars: 13,
    seed: 1,
    ...o,
  };
}

export function recordInput(o: Partial<RecordInput> = {}): RecordInput {
  return {
    requestId: 'req-1',
    context: recordContext(),
    decision: null,
    meta: {
      policy: RECORD_POLICY,
      route: null,
      tenant: 'acme',
      target: null,
      attempts: [],
      cache: null,
      usage: null,
      costUsd: null,
      overheadMs: 0,
    },
    status: 200,
    kind: 'json',
    startedAt: Date.UTC(2025, 0, 31, 12),
    durationMs: 1,
    ...o,
  };
}

/** A compiled `recording` block. */
export function recording(path: string, o: Partial<CompiledRecording> = {}): CompiledRecording {
  return { path, content: 'hash', headers: [], rotate: null, ...o };
}
