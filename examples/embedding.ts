/**
 * Embedding Switchyard in a Node program: no extra hop, the same policy and semantics as the
 * gateway. Run with `npx tsx examples/embedding.ts` (offline: the quickstart policy uses mocks).
 */
import { createEngine, formatHuman, loadPolicy } from '../engine/index.js';

const loaded = await loadPolicy(new URL('../policies/quickstart.yaml', import.meta.url).pathname);
if (!loaded.ok) {
  process.stderr.write(formatHuman(loaded.diagnostics, loaded.sources));
  process.exit(1);
}

const engine = createEngine(loaded.policy);
const body = { model: 'gpt-5', messages: [{ role: 'user', content: 'What is a switchyard?' }] };

// A decision is pure and cheap: which route, which targets in which order, with what timeouts.
const decision = engine.decide({ body });
if (decision.kind === 'route') {
  console.log(`route ${decision.route} → ${decision.targets.map((t) => t.name).join(', ')}`);
}

// handle() runs it: retries, fallback, timeouts, streaming.
for (let i = 0; i < 2; i++) {
  const response = await engine.handle({ body });
  if (response.kind === 'json') {
    const attempts = response.meta.attempts.map((a) => `${a.target}:${a.outcome}`).join(' → ');
    console.log(`${response.status} served by ${response.meta.target} (${attempts})`);
  }
}

const stream = await engine.handle({ body: { ...body, stream: true } });
if (stream.kind === 'stream') {
  for await (const frame of stream.events) process.stdout.write(frame);
  const meta = await stream.done;
  console.log(`streamed by ${meta.target}`);
}
await engine.close();
