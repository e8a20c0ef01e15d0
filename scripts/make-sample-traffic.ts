/**
 * Makes `examples/traffic/quickstart.jsonl`: a recording of 2,000 requests to the quickstart
 * policy, made by the real engine and recorder on a virtual clock (a request every 300 ms or so,
 * a quarter of them streamed, some for models the passthrough route answers), so the README's
 * dry-run section and `examples/ci/` work offline. Message text is hashed, as `serve --record`
 * does by default. Run: `npx tsx scripts/make-sample-traffic.ts`.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine, createRecorder, loadPolicy, VirtualClock } from '../engine/index.js';

const root = join(fileURLToPath(import.meta.url), '../..');
const out = join(root, 'examples/traffic/quickstart.jsonl');
const loaded = await loadPolicy(join(root, 'policies/quickstart.yaml'));
if (!loaded.ok) throw new Error('the quickstart policy does not load');

rmSync(out, { force: true });
const recorder = createRecorder({ path: out, content: 'hash' });
const clock = new VirtualClock({ auto: true, start: Date.UTC(2026, 11, 1, 9) });
let draw = 0;
const engine = createEngine(loaded.policy, { clock, recorder, random: () => (draw++ * 0.6180339887) % 1 });
const questions = [
  'Summarise this ticket.',
  'Translate to French: good morning',
  'What is our refund policy?',
];
for (let i = 0; i < 2_000; i++) {
  const res = await engine.handle({
    body: {
      model: i % 9 === 0 ? 'llama-local' : 'gpt-5',
      messages: [{ role: 'user', content: `${questions[i % questions.length]} (${i})` }],
      stream: i % 4 === 0,
    },
    headers: { 'x-request-id': `sample-${String(i).padStart(4, '0')}`, 'user-agent': 'sample-traffic' },
  });
  if (res.kind === 'stream') {
    for await (const _frame of res.events) {
      // drain, as a client would
    }
    await res.done;
  }
  await new Promise((resolve) => setImmediate(resolve));
  await clock.advance(150 + (i % 5) * 75);
}
await recorder.close();
await engine.close();
console.log(`wrote ${out}`);
