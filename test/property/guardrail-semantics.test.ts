/**
 * P7 (guardrail precedence) and P12 (shadow isolation) of docs/properties.md, on generated valid
 * policies (test/support/arb-policy.ts) and generated requests, through the whole engine with a
 * transport that would answer anything.
 *
 * - P7: an enforced input guardrail that blocks a request blocks it whatever route it takes, and
 *   no upstream is called. (Guardrails belong to routes, here through `defaults.guardrails`: a
 *   request no route accepts is refused before them, with no upstream call either.)
 * - P12: with a rule in shadow mode the served responses equal those with the rule removed, and
 *   the recorded would-be verdicts equal those of the same rule enforced.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  createEngine,
  type EngineResponse,
  type GuardrailVerdict,
  parsePolicy,
  VirtualClock,
} from '../../engine/index.js';
import { arbDecideRequest } from '../support/arb-decide.js';
import { arbPolicy, type PlainPolicy, printPolicy } from '../support/arb-policy.js';
import { fakeTransport } from '../support/fake-transport.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 40);

/** Answers every upstream call with a small chat completion (or a short stream). */
const transport = fakeTransport(['ok']);

const TERM = 'bluebird';

function withGuardrail(policy: PlainPolicy, rule: Record<string, unknown> | null): string {
  const next: PlainPolicy = structuredClone(policy);
  if (rule !== null) {
    next.guardrails = { g: rule };
    const defaults = (next.defaults ?? {}) as Record<string, unknown>;
    next.defaults = { ...defaults, guardrails: ['g'] };
  }
  return printPolicy(next);
}

function build(yaml: string) {
  const loaded = parsePolicy([{ file: 'p.yaml', text: yaml }], { env: {} });
  if (!loaded.ok) throw new Error(loaded.diagnostics.map((d) => `${d.code} ${d.message}`).join('\n'));
  let calls = 0;
  const verdicts: GuardrailVerdict[] = [];
  const engine = createEngine(loaded.policy, {
    clock: new VirtualClock({ auto: true }),
    random: () => 0.5,
    transport,
    onAttempt: () => calls++,
    onGuardrail: (v) => verdicts.push(v),
  });
  return { engine, calls: () => calls, verdicts };
}

/** A request whose last user message carries the term (or not). */
const arbRequest = fc
  .tuple(arbDecideRequest, fc.boolean(), fc.constantFrom('', 'please ', 'about '))
  .map(([r, carries, lead]) => {
    const body = { ...(r.body as Record<string, unknown>) };
    const text = carries ? `${lead}tell me about ${TERM.toUpperCase()} today` : `${lead}hello there`;
    const messages = Array.isArray(body.messages) ? [...body.messages] : [];
    messages.push({ role: 'user', content: text });
    body.messages = messages;
    return { input: { ...r, body }, carries };
  });

async function settle(res: EngineResponse): Promise<unknown> {
  if (res.kind === 'json') return { status: res.status, body: res.body };
  const frames: string[] = [];
  for await (const f of res.events) frames.push(f);
  await res.done;
  return { status: res.status, frames: frames.map((f) => f.replace(/"created":\d+/, '')) };
}

describe('guardrail semantics', () => {
  test.prop([arbPolicy(), arbRequest], { numRuns: NUM_RUNS })(
    'P7: an enforced blocking input guardrail blocks whatever the routes say, with no upstream call',
    async (generated, { input, carries }) => {
      const rule = {
        kind: 'keywords',
        stage: 'input',
        action: 'block',
        keywords: [TERM],
        scope: 'conversation',
      };
      const h = build(withGuardrail(generated.policy, rule));
      const res = await h.engine.handle(input);
      if (carries) {
        // No upstream call, ever. Guardrails belong to routes (here through `defaults`): a request
        // no route accepts is refused before them (404 no_route), and so is a malformed body
        // (400 invalid_request, e.g. chat messages sent to /v1/embeddings).
        expect(h.calls()).toBe(0);
        const code = res.kind === 'json' ? (res.body as { error?: { code: string } }).error?.code : undefined;
        if (h.engine.decide(input).kind === 'route' && code !== 'invalid_request') {
          expect(res.status).toBe(400);
          expect(res.kind === 'json' && (res.body as { error: { code: string } }).error.code).toBe(
            'guardrail_blocked',
          );
        } else {
          expect(res.status).toBeGreaterThanOrEqual(400);
        }
      } else {
        expect(res.kind === 'json' && (res.body as { error?: { code: string } }).error?.code).not.toBe(
          'guardrail_blocked',
        );
      }
      await h.engine.close();
    },
  );

  test.prop(
    [arbPolicy(), arbRequest, fc.constantFrom('block', 'flag', 'redact'), fc.constantFrom('keywords', 'pii')],
    { numRuns: NUM_RUNS },
  )(
    'P12: a shadow rule serves what no rule serves, and records what the enforced rule decides',
    async (generated, { input }, action, kind) => {
      const rule =
        kind === 'keywords'
          ? { kind, stage: 'input', action, keywords: [TERM], scope: 'conversation' }
          : { kind, stage: 'input', action, entities: ['email'], scope: 'conversation' };
      const shadow = build(withGuardrail(generated.policy, { ...rule, shadow: true }));
      const none = build(withGuardrail(generated.policy, null));
      const enforced = build(withGuardrail(generated.policy, rule));
      const served = await settle(await shadow.engine.handle(input));
      const plain = await settle(await none.engine.handle(input));
      await settle(await enforced.engine.handle(input));
      expect(served).toEqual(plain);
      const strip = (vs: GuardrailVerdict[]) =>
        vs.map(({ guardrail, stage, outcome, found }) => ({ guardrail, stage, outcome, found }));
      expect(strip(shadow.verdicts)).toEqual(strip(enforced.verdicts));
      expect(shadow.verdicts.every((v) => !v.enforced)).toBe(true);
      for (const h of [shadow, none, enforced]) await h.engine.close();
    },
  );
});
