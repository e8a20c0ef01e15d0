import type { Policy } from '../engine/policy/types.generated.js';
import type { HttpRequest, HttpResponse, Transport } from '../engine/providers/transport.js';
import type { EngineResponse } from '../engine/types.js';
import { loadDistEngine } from './dist-engine.js';
import { STREAM_REPLY } from './payloads.js';

const { compilePolicy, createEngine } = await loadDistEngine('bench/engine.ts');

const DURATION_MS = Number(process.env.BENCH_MS ?? 1000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const CONCURRENCY = Math.max(1, Number(process.env.BENCH_CONC ?? 50));
const CASES = (process.env.BENCH_CASES ?? 'json,sse').split(',');

const POLICY: Policy = {
  switchyard: 'v1',
  policy: { name: 'bench-engine', version: '1' },
  providers: { up: { kind: 'openai', baseUrl: 'http://upstream.invalid/v1', apiKey: 'sk-bench-upstream' } },
  models: { main: { provider: 'up', model: 'bench-model' } },
  defaults: { breaker: { enabled: false } },
  routes: [{ name: 'chat', targets: ['main'], retry: { attempts: 0 } }],
};

const MESSAGES = [
  { role: 'system', content: 'You are a concise assistant.' },
  {
    role: 'user',
    content: 'Summarise the plot of Hamlet in two sentences, for a reader who has never seen it.',
  },
];

const JSON_ANSWER = JSON.stringify({
  id: 'chatcmpl-upstream',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'bench-model',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'Hello from the upstream.' },
      finish_reason: 'stop',
      logprobs: null,
    },
  ],
  usage: { prompt_tokens: 52, completion_tokens: 6, total_tokens: 58 },
});

function chunk(delta: object, finish: string | null, usage?: object): string {
  const payload = {
    id: 'chatcmpl-upstream',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'bench-model',
    choices: usage === undefined ? [{ index: 0, delta, finish_reason: finish }] : [],
    ...(usage === undefined ? {} : { usage }),
  };
  return `data: ${JSON.stringify(payload)}\n\n`;
}

const SSE_ANSWER = new TextEncoder().encode(
  [
    chunk({ role: 'assistant', content: '' }, null),
    ...(STREAM_REPLY.match(/\s*\S+\s*/g) ?? []).map((w) => chunk({ content: w }, null)),
    chunk({}, 'stop'),
    chunk({}, null, { prompt_tokens: 52, completion_tokens: 48, total_tokens: 100 }),
    'data: [DONE]\n\n',
  ].join(''),
);

/** Answers at once, from memory: the body in one piece, as one read of a fast upstream. */
function memoryTransport(): Transport {
  return {
    async request(req: HttpRequest): Promise<HttpResponse> {
      const stream = typeof req.body === 'string' && req.body.includes('"stream":true');
      const bytes = stream ? SSE_ANSWER : null;
      return {
        status: 200,
        headers: { 'content-type': stream ? 'text/event-stream' : 'application/json' },
        body: (async function* () {
          yield bytes ?? new TextEncoder().encode(JSON_ANSWER);
        })(),
        text: async () => JSON_ANSWER,
      };
    },
    async close() {},
  };
}

async function consume(response: EngineResponse): Promise<void> {
  if (response.status !== 200) throw new Error(`status ${response.status}: ${JSON.stringify(response)}`);
  if (response.kind === 'json') {
    JSON.stringify(response.body);
    return;
  }
  let frames = 0;
  for await (const _ of response.events) frames++;
  await response.done;
  if (frames !== 51) throw new Error(`expected 51 frames, got ${frames}`);
}

async function run(stream: boolean, ms: number): Promise<{ perSec: number; cpuUs: number }> {
  const engine = createEngine(compilePolicy(POLICY), { transport: memoryTransport() });
  const body = {
    model: 'gpt-bench',
    messages: MESSAGES,
    temperature: 0.2,
    ...(stream ? { stream: true } : {}),
  };
  const headers = { 'content-type': 'application/json', authorization: 'Bearer sk-bench-client' };
  let done = 0;
  const end = performance.now() + ms;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const controller = new AbortController();
      await consume(
        await engine.handle({
          body,
          headers,
          path: '/v1/chat/completions',
          signal: controller.signal,
          requestId: 'bench',
        }),
      );
      done++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await engine.close();
  return { perSec: (done * 1000) / elapsed, cpuUs: (cpu.user + cpu.system) / done };
}

async function main(): Promise<void> {
  console.log(
    `engine.handle, in-memory transport, ${CONCURRENCY} in flight, median of ${ROUNDS} x ${DURATION_MS} ms (node ${process.version}; load ${(
      await import('node:os')
    )
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')})`,
  );
  for (const stream of [false, true]) {
    if (!CASES.includes(stream ? 'sse' : 'json')) continue;
    await run(stream, Math.min(500, DURATION_MS));
    const results: { perSec: number; cpuUs: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) results.push(await run(stream, DURATION_MS));
    results.sort((a, b) => a.cpuUs - b.cpuUs);
    const median = results[Math.floor(results.length / 2)];
    console.log(
      `${stream ? 'sse (51 frames)' : 'json           '}  ${median.perSec.toFixed(0).padStart(7)} req/s  ${median.cpuUs.toFixed(1).padStart(6)} µs CPU/request`,
    );
  }
}

await main();
