/**
 * A stub of a real (not mock) embedding model for the replay tests, as an engine
 * `createProvider`: every `openai` provider of the policy answers embeddings from a table, every
 * other provider is the policy's own. Text `t` of the table embeds as
 * cos(θ)·e_topic + sin(θ)·e_(own row), so two texts of one topic have similarity cos(θ1)·cos(θ2)
 * and texts of different topics 0 — similarities the mock's character features would not give.
 * The usage is its own token count (one per word, plus two), not the mock's (characters / 4):
 * replay must price the embedding call with the tokens the recording kept
 * (`outcome.cacheEmbeddingTokens`), not with a count of its own, for the costs to agree.
 */
import { createProvider } from '../../engine/providers/index.js';
import type {
  Provider,
  ProviderCallRequest,
  ProviderCallResult,
  ProviderDeps,
  ProviderSpec,
} from '../../engine/providers/types.js';

export interface StubText {
  readonly text: string;
  readonly topic: number;
  /** cos(θ): 1 for a topic's own direction. */
  readonly cos: number;
}

/** The stub's vector of `input` (the cache embeds `user: <text>`: matched by its end). */
export function stubEmbedding(texts: readonly StubText[], input: string, dimensions: number): number[] {
  const row = texts.findIndex((t) => input.endsWith(t.text));
  if (row < 0) throw new Error(`unexpected embedding input ${input}`);
  const { topic, cos } = texts[row];
  const topics = Math.max(...texts.map((t) => t.topic)) + 1;
  if (topics + texts.length > dimensions) throw new Error('too few dimensions for the stub table');
  const v = new Array<number>(dimensions).fill(0);
  v[topic] = cos;
  // The first row of the same text: identical texts embed identically.
  v[topics + texts.findIndex((t) => t.text === texts[row].text)] = Math.sqrt(Math.max(0, 1 - cos * cos));
  return v;
}

export function stubEmbeddingProviders(
  texts: readonly StubText[],
): (spec: ProviderSpec, deps: ProviderDeps) => Provider {
  return (spec, deps) => {
    if (spec.kind !== 'openai') return createProvider(spec, deps);
    return {
      spec,
      call: async (req: ProviderCallRequest): Promise<ProviderCallResult> => {
        if (req.endpoint !== 'embeddings') throw new Error('the stub only embeds');
        const dimensions = typeof req.body.dimensions === 'number' ? req.body.dimensions : 1536;
        const embedding = stubEmbedding(texts, String(req.body.input), dimensions);
        const words = String(req.body.input)
          .split(/\s+/)
          .filter((w) => w !== '');
        const tokens = words.length + 2;
        return {
          ok: true,
          kind: 'json',
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: {
            object: 'list',
            data: [{ object: 'embedding', index: 0, embedding }],
            model: req.upstreamModel,
            usage: { prompt_tokens: tokens, total_tokens: tokens },
          },
          usage: { promptTokens: tokens, completionTokens: 0, totalTokens: tokens },
        };
      },
    };
  };
}

/** A policy whose semantic cache embeds on a stub `openai` model, answers from the mock. */
export function semanticRealPolicyYaml(threshold: number, dimensions = 64): string {
  return `switchyard: v1
policy: { name: sem-real, version: "${threshold}" }
providers:
  mock: { kind: mock, latency: 20ms }
  openai: { kind: openai, baseUrl: "http://127.0.0.1:9/v1", apiKey: "sk-test" }
models:
  fast: { provider: mock, model: m, price: { input: 1, output: 1 } }
  embed: { provider: openai, model: text-embedding-3-small, price: { input: 0.02, output: 0 } }
caches:
  similar: { mode: semantic, ttl: 1h, embedding: embed, threshold: ${threshold}, dimensions: ${dimensions} }
routes:
  - name: chat
    targets: [fast]
    cache: similar
`;
}
