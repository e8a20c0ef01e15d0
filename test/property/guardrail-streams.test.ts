/**
 * Output redaction and blocking on streams, through the attempt loop's stream relay: however the
 * upstream chunks the answer (fast-check chooses the boundaries, down to one character), the
 * caller receives exactly the one-shot redaction of the whole answer, no span the detectors find
 * survives, and a blocking guardrail never lets any character of a match out.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { CompiledGuardrail } from '../../engine/guardrails/index.js';
import { redact } from '../../engine/guardrails/index.js';
import { parsePolicy } from '../../engine/index.js';
import type { OutputGuard } from '../../engine/runtime/attempts/index.js';
import {
  createHarness,
  makeContext,
  makeDecision,
  makeTarget,
  readEvents,
  streamedText,
} from '../support/decision-fixtures.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 150);

const PIECES = [
  'Contact ',
  'jane.doe@example.com',
  ' or ',
  '+44 20 7946 0958',
  ' today. ',
  'Card 4111 1111 1111 1111',
  ', IBAN GB82 WEST 1234 5698 7654 32',
  ' thanks',
  ' ',
  'x@y.io',
] as const;

function guardrails(action: 'redact' | 'block'): readonly CompiledGuardrail[] {
  const loaded = parsePolicy([
    {
      file: 'p.yaml',
      text: `switchyard: v1
policy: { name: p, version: "1" }
providers:
  demo: { kind: mock }
models:
  fast: { provider: demo, model: m }
guardrails:
  g: { stage: output, kind: pii, entities: [email, phone, card, iban], action: ${action} }
routes:
  - name: r
    targets: [fast]
    guardrails: [g]
`,
    },
  ]);
  if (!loaded.ok) throw new Error('policy');
  return loaded.policy.routes[0].guards.output;
}

const REDACT = guardrails('redact');
const BLOCK = guardrails('block');

const arbStream = fc
  .array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 8 })
  .map((parts) => parts.join(''))
  .chain((text) =>
    fc
      .uniqueArray(fc.integer({ min: 1, max: Math.max(1, text.length - 1) }), { maxLength: 12 })
      .map((cuts) => {
        const points = [0, ...cuts.filter((c) => c < text.length).sort((a, b) => a - b), text.length];
        const chunks: string[] = [];
        for (let i = 1; i < points.length; i++)
          if (points[i] > points[i - 1]) chunks.push(text.slice(points[i - 1], points[i]));
        return { text, chunks };
      }),
  );

async function stream(guards: readonly CompiledGuardrail[], chunks: readonly string[]) {
  const h = createHarness({ script: { a: [{ type: 'ok', chunks: chunks.map((text) => ({ text })) }] } });
  const output: OutputGuard = { guardrails: guards, buffer: false, onVerdict: () => undefined };
  const res = await h.executor.execute(
    makeDecision([makeTarget('a')]),
    makeContext({ stream: true }),
    undefined,
    undefined,
    {
      output,
    },
  );
  if (res.kind !== 'stream') throw new Error(`expected a stream, got ${res.status}`);
  return readEvents(res.events);
}

/** The frames the caller receives, and the guardrail's detector to check them with. */
async function streamWith(guards: readonly CompiledGuardrail[], chunks: readonly string[]) {
  const detector = guards[0].detector;
  if (detector === null) throw new Error('the guardrail has no detector');
  return [await stream(guards, chunks), detector] as const;
}

describe('output guardrails on streams', () => {
  test.prop([arbStream], { numRuns: NUM_RUNS })(
    'redaction equals the one-shot redaction however the stream is chunked',
    async ({ text, chunks }) => {
      const [frames, detector] = await streamWith(REDACT, chunks);
      const expected = redact(text, detector.find(text));
      expect(streamedText(frames)).toBe(expected);
      expect(detector.find(streamedText(frames))).toEqual([]);
      expect(frames.at(-1)).toBe('data: [DONE]\n\n');
    },
  );

  test.prop([arbStream], { numRuns: NUM_RUNS })(
    'a block sends nothing of a match, ends in band and without [DONE]',
    async ({ text, chunks }) => {
      const [frames, detector] = await streamWith(BLOCK, chunks);
      const spans = detector.find(text);
      const sent = streamedText(frames);
      if (spans.length === 0) {
        expect(sent).toBe(text);
        expect(frames.at(-1)).toBe('data: [DONE]\n\n');
      } else {
        // Only text before the first match may have been sent.
        expect(text.startsWith(sent)).toBe(true);
        expect(sent.length).toBeLessThanOrEqual(spans[0].start);
        expect(frames.at(-1)).toContain('"code":"guardrail_blocked"');
        expect(frames).not.toContain('data: [DONE]\n\n');
      }
    },
  );
});
