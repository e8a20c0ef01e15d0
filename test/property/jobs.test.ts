/**
 * Jobs (issue 14): a job's results equal running its requests one by one under the same
 * simulated upstream. The upstream answers from the request's content (model and text, through a
 * seeded hash), never from the order of calls, so it is "the same" for both runs; the policy has
 * no state that depends on order (no limits, caches or breakers, no same-target retries). The
 * job runs at a generated concurrency through the runner's loop (`executeJob`); the reference
 * runs each request alone, in file order, honouring the same put-backs. Both on virtual time.
 *
 * Also: each custom_id appears exactly once in the job's results, whatever the concurrency.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { createEngine, jobs, parsePolicy, VirtualClock } from '../../engine/index.js';
import type { HttpRequest, HttpResponse, Transport } from '../../engine/providers/http.js';
import { TransportError } from '../../engine/providers/http.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 25);

const OUTCOMES = ['ok', 'ok', 'ok', 'server_error', 'bad_request', 'overloaded', 'connect'] as const;
type Outcome = (typeof OUTCOMES)[number];

/** FNV-1a over the seed and the text: the simulated upstream's choice for one request. */
function outcomeFor(seed: number, text: string): Outcome {
  let h = (2166136261 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return OUTCOMES[h % OUTCOMES.length];
}

function contentUpstream(seed: number): Transport {
  return {
    async request(req: HttpRequest): Promise<HttpResponse> {
      const body = JSON.parse(req.body ?? '{}') as { model: string; messages: { content: string }[] };
      const text = body.messages.map((m) => m.content).join('|');
      const outcome = outcomeFor(seed, `${body.model}:${text}`);
      if (outcome === 'connect') throw new TransportError('connect', 'connection refused (simulated)');
      const [status, payload] =
        outcome === 'ok'
          ? [
              200,
              {
                id: `cmpl-${body.model}-${text.length}`,
                object: 'chat.completion',
                created: 1,
                model: body.model,
                choices: [
                  {
                    index: 0,
                    message: { role: 'assistant', content: `${body.model} says ${text}` },
                    finish_reason: 'stop',
                    logprobs: null,
                  },
                ],
                usage: { prompt_tokens: text.length, completion_tokens: 3, total_tokens: text.length + 3 },
              },
            ]
          : [
              outcome === 'server_error' ? 500 : outcome === 'bad_request' ? 400 : 503,
              { error: { message: `simulated ${outcome}`, type: 'api_error', code: null } },
            ];
      const json = JSON.stringify(payload);
      return {
        status,
        headers: { 'content-type': 'application/json' },
        body: (async function* () {
          yield new TextEncoder().encode(json);
        })(),
        text: async () => json,
      };
    },
    async close() {},
  };
}

const POLICY = `switchyard: v1
policy: { name: jobs-property, version: "1" }
providers:
  up: { kind: openai, baseUrl: "http://upstream.invalid/v1", apiKey: sk-test }
models:
  a: { provider: up, model: model-a }
  b: { provider: up, model: model-b }
defaults:
  retry: { attempts: 0 }
  breaker: { enabled: false }
routes:
  - name: only-b
    when: { model: b }
    targets: [b]
  - name: chat
    targets: [a, b]
`;

function compiled() {
  const loaded = parsePolicy([{ file: 'p.yaml', text: POLICY }], { env: {} });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.diagnostics));
  return loaded.policy;
}

const requestArb = fc.record({
  model: fc.constantFrom('a', 'b', 'gpt-x'),
  text: fc.string({ minLength: 1, maxLength: 12 }),
});

async function* linesOf(
  requests: readonly { model: string; text: string }[],
): AsyncGenerator<jobs.ParsedLine> {
  for (const [index, r] of requests.entries()) {
    yield {
      ok: true,
      line: {
        index,
        lineNumber: index + 1,
        customId: `c${index}`,
        url: '/v1/chat/completions',
        body: { model: r.model, messages: [{ role: 'user', content: r.text }] },
      },
    };
  }
}

type Result = { status: number; body: unknown };

describe('jobs: a job equals its requests run one by one', () => {
  test.prop(
    [fc.array(requestArb, { minLength: 1, maxLength: 14 }), fc.integer({ min: 1, max: 6 }), fc.nat()],
    {
      numRuns: NUM_RUNS,
    },
  )('same statuses and bodies per custom_id, each once', async (requests, concurrency, seed) => {
    const policy = compiled();
    const signal = new AbortController().signal;
    const context = (deferrals: number) => ({
      jobId: 'batch_prop',
      jobKind: 'batch' as const,
      tenant: null,
      headers: {},
      deferrals,
      signal,
    });

    // The job: bounded concurrency through the runner's loop.
    const jobClock = new VirtualClock({ auto: true });
    const jobEngine = createEngine(policy, {
      clock: jobClock,
      transport: contentUpstream(seed),
      random: () => 0.5,
    });
    const got = new Map<string, Result[]>();
    const result = await jobs.executeJob({
      lines: linesOf(requests),
      isDone: () => false,
      slots: new jobs.Slots(() => concurrency),
      priority: 'low',
      haltSignal: signal,
      wakeup: new jobs.Wakeup(),
      clock: jobClock,
      halted: () => null,
      run: (line, deferrals) => jobs.runJobLine(jobEngine, line, context(deferrals)),
      onDone: async (line, outcome) => {
        const list = got.get(line.customId) ?? [];
        list.push({ status: outcome.out.response?.status_code ?? 0, body: outcome.out.response?.body });
        got.set(line.customId, list);
      },
    });
    expect(result.kind).toBe('exhausted');
    await jobEngine.close();

    // The reference: each request alone, in order, put back as often as the job would.
    const refClock = new VirtualClock({ auto: true });
    const refEngine = createEngine(policy, {
      clock: refClock,
      transport: contentUpstream(seed),
      random: () => 0.5,
    });
    const want = new Map<string, Result>();
    for await (const parsed of linesOf(requests)) {
      if (!parsed.ok) throw new Error('unreachable');
      for (let deferrals = 0; ; deferrals++) {
        const outcome = await jobs.runJobLine(refEngine, parsed.line, context(deferrals));
        if (outcome.kind === 'later') {
          await refClock.sleep(outcome.waitMs);
          continue;
        }
        if (outcome.kind !== 'done') throw new Error('unexpected abort');
        want.set(parsed.line.customId, {
          status: outcome.out.response?.status_code ?? 0,
          body: outcome.out.response?.body,
        });
        break;
      }
    }
    await refEngine.close();

    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [id, results] of got) {
      expect(results, `${id} answered once`).toHaveLength(1);
      expect(results[0], id).toEqual(want.get(id));
    }
  });
});
