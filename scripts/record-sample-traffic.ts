/**
 * Makes `examples/traffic/shared-gateway.jsonl`: real traffic recorded by the real server. It
 * starts `switchyard serve --policy policies/shared-gateway.yaml --record <file>` (its own
 * process, the in-process mock providers, port 0) and sends it about a minute of traffic from
 * three tenants: 3,000 requests at ~50/s, eight in flight at most, a quarter streamed, questions
 * drawn from a small pool (so the cache answers repeats), some for other model names (the local
 * route), and the free-tier tenant sending more than its limit allows in bursts. The primary mock
 * fails now and then (503, 500, a cut stream), so requests fall back or end in an in-band error.
 * Message text is hashed, as `serve --record` does by default. Then SIGTERM: the server drains
 * and flushes the recording. Deterministic in what is sent; the timings are the machine's.
 *
 * Run: `npx tsx scripts/record-sample-traffic.ts` (about a minute).
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '../..');
const out = join(root, 'examples/traffic/shared-gateway.jsonl');
const TOTAL = Number(process.env.SAMPLE_REQUESTS ?? 3000);
const INTERVAL_MS = 20;
const IN_FLIGHT = 8;

rmSync(out, { force: true });
const server = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    join(root, 'cli/bin.ts'),
    'serve',
    '--policy',
    join(root, 'policies/shared-gateway.yaml'),
    '--port',
    '0',
    '--record',
    out,
    '--log-level',
    'warn',
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const base = await new Promise<string>((resolve, reject) => {
  let seen = '';
  server.stdout.on('data', (data: Buffer) => {
    seen += data.toString();
    const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
    if (m !== null) resolve(m[1]);
  });
  server.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
});

const KEYS = { acme: 'sk-demo-acme', globex: 'sk-demo-globex', initech: 'sk-demo-initech' };
const QUESTIONS = [
  'What is our refund policy?',
  'Summarise this ticket: the customer cannot log in after the update.',
  'Translate to French: good morning, how can I help?',
  'Draft a polite reply to a late delivery complaint.',
  'Which plan includes SSO?',
  'How do I reset my password?',
  'Classify this ticket: billing, technical or other?',
  'Write a haiku about on-call rotations.',
];

/** The i-th request: who sends it, what, how. */
function requestOf(i: number): { tenant: keyof typeof KEYS; body: Record<string, unknown> } {
  // initech (free tier) sends a burst of 100 every 20 s, far above its 120/min; acme and globex
  // share the rest.
  const second = Math.floor((i * INTERVAL_MS) / 1000);
  const tenant: keyof typeof KEYS = second % 20 < 2 ? 'initech' : i % 3 === 0 ? 'globex' : 'acme';
  const model = i % 11 === 0 ? 'llama-local' : 'gpt-5';
  // Half the questions come from the pool (cache repeats), half are new.
  const content =
    i % 2 === 0 ? `${QUESTIONS[i % QUESTIONS.length]} (ticket ${i})` : QUESTIONS[(i * 7) % QUESTIONS.length];
  return { tenant, body: { model, messages: [{ role: 'user', content }], stream: i % 4 === 1 } };
}

let inFlight = 0;
let done = 0;
const statuses = new Map<number, number>();
async function send(i: number): Promise<void> {
  const { tenant, body } = requestOf(i);
  try {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${KEYS[tenant]}`,
        'x-request-id': `sample-${String(i).padStart(5, '0')}`,
        'user-agent': 'sample-traffic',
      },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  } finally {
    inFlight--;
    done++;
  }
}

const started = performance.now();
const pending: Promise<void>[] = [];
for (let i = 0; i < TOTAL; i++) {
  const due = started + i * INTERVAL_MS;
  const wait = due - performance.now();
  if (wait > 0) await sleep(wait);
  while (inFlight >= IN_FLIGHT) await sleep(1);
  inFlight++;
  pending.push(send(i));
}
await Promise.all(pending);
server.kill('SIGTERM');
await new Promise((resolve) => server.once('exit', resolve));
console.log(
  `wrote ${out}: ${done} requests in ${((performance.now() - started) / 1000).toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
);
