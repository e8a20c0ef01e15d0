/**
 * What the ingress translations cost. (1) The translators alone, per request: the request into
 * chat, a chat answer back (JSON), and a 40-chunk chat stream back into events — CPU time, no
 * I/O. (2) `engine.handle()` in process against the mock provider for the same conversation (a
 * system prompt, three turns, a tool call and its result, a tool) asked as a chat completion, a
 * Responses request and a Messages request, JSON; the cases run in interleaved rounds so that
 * drift on a shared machine hits them alike. Prints the mean time per operation.
 *
 * Run: `npx tsx bench/ingress.ts` (optionally `BENCH_MS=2000`).
 */
import { createEngine, type EngineResponse, parsePolicy, type RequestInput } from '../engine/index.js';
import { chatToMessage, MessagesStreamWriter, messagesToChat } from '../engine/ingress/messages.js';
import { chatToResponse, ResponsesStreamWriter, responsesToChat } from '../engine/ingress/responses.js';
import type { ChatCompletion } from '../engine/providers/openai-types.js';

const DURATION_MS = Number(process.env.BENCH_MS ?? 1500);
const WARMUP_MS = Math.min(500, DURATION_MS / 2);

const POLICY = `switchyard: v1
policy: { name: bench, version: "1" }
providers:
  demo: { kind: mock, reply: "The weather in Paris is sunny, 24 degrees, with a light breeze from the west." }
models:
  m: { provider: demo, model: mock-1 }
routes:
  - name: chat
    targets: [m]
`;

const tool = {
  name: 'get_weather',
  description: 'Weather',
  schema: { type: 'object', properties: { city: { type: 'string' } } },
};

function chat(stream: boolean): RequestInput {
  return {
    path: '/v1/chat/completions',
    body: {
      model: 'm',
      stream,
      messages: [
        { role: 'system', content: 'You are a weather assistant.' },
        { role: 'user', content: 'What is the weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: '{"sky":"sunny","temp":24}' },
        { role: 'user', content: 'Tell me in one sentence.' },
      ],
      tools: [
        {
          type: 'function',
          function: { name: tool.name, description: tool.description, parameters: tool.schema },
        },
      ],
    },
  };
}

function responses(stream: boolean): RequestInput {
  return {
    path: '/v1/responses',
    body: {
      model: 'm',
      stream,
      instructions: 'You are a weather assistant.',
      input: [
        { role: 'user', content: 'What is the weather in Paris?' },
        { type: 'function_call', call_id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'c1', output: '{"sky":"sunny","temp":24}' },
        { role: 'user', content: 'Tell me in one sentence.' },
      ],
      tools: [{ type: 'function', name: tool.name, description: tool.description, parameters: tool.schema }],
    },
  };
}

function messages(stream: boolean): RequestInput {
  return {
    path: '/v1/messages',
    body: {
      model: 'm',
      max_tokens: 256,
      stream,
      system: 'You are a weather assistant.',
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        {
          role: 'assistant',
          content: [{ type: 'tool_use', id: 'c1', name: 'get_weather', input: { city: 'Paris' } }],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'c1', content: '{"sky":"sunny","temp":24}' },
            { type: 'text', text: 'Tell me in one sentence.' },
          ],
        },
      ],
      tools: [{ name: tool.name, description: tool.description, input_schema: tool.schema }],
    },
  };
}

async function consume(response: EngineResponse): Promise<void> {
  if (response.status !== 200)
    throw new Error(
      `status ${response.status}: ${JSON.stringify(response.kind === 'json' ? response.body : '')}`,
    );
  if (response.kind === 'json') {
    JSON.stringify(response.body);
    return;
  }
  for await (const _frame of response.events) {
    // every frame read, as the server writes them
  }
  await response.done;
}

function engineFor() {
  const loaded = parsePolicy([{ file: 'bench.yaml', text: POLICY }]);
  if (!loaded.ok) throw new Error('policy');
  return createEngine(loaded.policy);
}

/** Mean µs per call of `fn`, over `DURATION_MS` after a warm-up. */
function timeSync(fn: () => void): number {
  const until = (ms: number) => performance.now() + ms;
  for (const end = until(WARMUP_MS); performance.now() < end; ) fn();
  let n = 0;
  const started = performance.now();
  for (const end = until(DURATION_MS); performance.now() < end; n++) fn();
  return ((performance.now() - started) * 1000) / n;
}

const ANSWER: ChatCompletion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'mock-1',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: 'The weather in Paris is sunny, 24 degrees, with a light breeze from the west.',
        tool_calls: [
          { id: 'c2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lyon"}' } },
        ],
      },
      finish_reason: 'tool_calls',
    },
  ],
  usage: {
    prompt_tokens: 120,
    completion_tokens: 30,
    total_tokens: 150,
    prompt_tokens_details: { cached_tokens: 64 },
  },
};

/** A 40-chunk stream of ANSWER's text and call, as the engine frames it. */
const FRAMES: string[] = (() => {
  const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'mock-1' };
  const frame = (delta: object, finish: string | null = null) =>
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const text = String(ANSWER.choices[0].message.content);
  const out = [frame({ role: 'assistant', content: '' })];
  for (let i = 0; i < 36; i++)
    out.push(frame({ content: text.slice((i * text.length) / 36, ((i + 1) * text.length) / 36) }));
  out.push(
    frame({
      tool_calls: [
        {
          index: 0,
          id: 'c2',
          type: 'function',
          function: { name: 'get_weather', arguments: '{"city":"Lyon"}' },
        },
      ],
    }),
  );
  out.push(frame({}, 'tool_calls'));
  out.push(`data: ${JSON.stringify({ ...base, choices: [], usage: ANSWER.usage })}\n\n`, 'data: [DONE]\n\n');
  return out;
})();

console.log(`(1) the translators alone, ${DURATION_MS} ms per case\n`);
const rq = responses(false).body;
const mq = messages(false).body;
const rows: [string, () => void][] = [
  ['responses request', () => responsesToChat(rq)],
  ['responses answer', () => chatToResponse(ANSWER, rq as Record<string, unknown>)],
  [
    'responses stream (40)',
    () => {
      const w = new ResponsesStreamWriter(rq as Record<string, unknown>);
      for (const f of FRAMES) w.frame(f);
    },
  ],
  ['messages request', () => messagesToChat(mq)],
  ['messages answer', () => chatToMessage(ANSWER)],
  [
    'messages stream (40)',
    () => {
      const w = new MessagesStreamWriter();
      for (const f of FRAMES) w.frame(f);
    },
  ],
];
for (const [label, fn] of rows) console.log(`${label.padEnd(24)} ${timeSync(fn).toFixed(2).padStart(8)} µs`);

console.log(`\n(2) engine.handle() in process, mock provider, JSON, interleaved rounds\n`);
const cases: [string, () => RequestInput][] = [
  ['chat', () => chat(false)],
  ['responses', () => responses(false)],
  ['messages', () => messages(false)],
];
const engine = engineFor();
const totals = new Map<string, { us: number; n: number }>();
const ROUNDS = 10;
for (let round = 0; round < ROUNDS + 1; round++) {
  for (const [label, make] of cases) {
    const end = performance.now() + DURATION_MS / ROUNDS;
    let n = 0;
    const started = performance.now();
    while (performance.now() < end) {
      await consume(await engine.handle(make()));
      n++;
    }
    if (round === 0) continue; // warm-up round
    const t = totals.get(label) ?? { us: 0, n: 0 };
    t.us += (performance.now() - started) * 1000;
    t.n += n;
    totals.set(label, t);
  }
}
await engine.close();
const chatUs = (totals.get('chat')?.us ?? 0) / (totals.get('chat')?.n ?? 1);
for (const [label] of cases) {
  const t = totals.get(label) ?? { us: 0, n: 1 };
  const us = t.us / t.n;
  const delta =
    label === 'chat' ? '' : `   (${us - chatUs >= 0 ? '+' : ''}${(us - chatUs).toFixed(1)} µs vs chat)`;
  console.log(
    `${label.padEnd(12)} ${String(Math.round(1e6 / us)).padStart(7)} req/s ${us.toFixed(1).padStart(8)} µs/request${delta}`,
  );
}
