/**
 * A transport that answers every upstream call from a script, without a network: a small chat
 * completion (or its stream), a 500, garbage, or a refused connection, in turn.
 */
import type { HttpRequest, HttpResponse, Transport } from '../../engine/providers/transport.js';
import { TransportError } from '../../engine/providers/transport.js';
import { sse } from './upstream.js';

export type Upstream = 'connect' | 'server_error' | 'ok' | 'garbage';

function body(text: string): AsyncIterable<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return (async function* () {
    yield bytes;
  })();
}

export function fakeTransport(outcomes: readonly Upstream[]): Transport {
  let i = 0;
  return {
    async request(req: HttpRequest): Promise<HttpResponse> {
      const outcome = outcomes[i++ % outcomes.length];
      if (outcome === 'connect') throw new TransportError('connect', 'connection refused');
      const stream = typeof req.body === 'string' && req.body.includes('"stream":true');
      let text: string;
      let status = 200;
      if (outcome === 'server_error') {
        status = 500;
        text = JSON.stringify({ error: { message: 'boom', type: 'server_error', code: null } });
      } else if (outcome === 'garbage') {
        text = stream ? 'data: {not json\n\n' : '{not json';
      } else if (stream) {
        const chunk = (delta: object, finish: string | null) =>
          sse({
            id: 'x',
            object: 'chat.completion.chunk',
            created: 1,
            model: 'm',
            choices: [{ index: 0, delta, finish_reason: finish }],
          });
        text = `${chunk({ role: 'assistant', content: 'hi' }, null)}${chunk({}, 'stop')}${sse('[DONE]')}`;
      } else {
        text = JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          created: 1,
          model: 'm',
          choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        });
      }
      const headers = { 'content-type': stream && status === 200 ? 'text/event-stream' : 'application/json' };
      return { status, headers, body: body(text), text: async () => text };
    },
    async close() {},
  };
}
