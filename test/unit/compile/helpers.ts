/** Small builders shared by the compile and decide unit tests. */
import { parse } from 'yaml';
import { type CompiledPolicy, compilePolicy } from '../../../engine/compile/compile.js';
import { createContext } from '../../../engine/context.js';
import type { Policy } from '../../../engine/policy/types.generated.js';
import type { RequestContext, RequestInput } from '../../../engine/types.js';

/** Parses a YAML policy; `providers`/`models` default to a mock catalogue of `fast`, `strong`, `any`. */
export function policyFrom(yaml: string): Policy {
  const doc = parse(yaml) as Partial<Policy>;
  return {
    switchyard: 'v1',
    policy: { name: 'test', version: '1' },
    providers: { demo: { kind: 'mock' } },
    models: {
      fast: { provider: 'demo', model: 'fast-1' },
      strong: { provider: 'demo', model: 'strong-1' },
      any: { provider: 'demo', model: '*' },
    },
    ...doc,
  } as Policy;
}

export function compileYaml(yaml: string): CompiledPolicy {
  return compilePolicy(policyFrom(yaml));
}

export function ctxFor(
  policy: CompiledPolicy,
  input: Partial<RequestInput> & { body?: unknown },
): RequestContext {
  const r = createContext(policy, { body: input.body ?? {}, ...input }, () => 0.25);
  if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
  return r.context;
}

/** A context built by hand, for the matcher tests. */
export function makeContext(over: Partial<RequestContext> = {}): RequestContext {
  return {
    path: '/v1/chat/completions',
    endpoint: 'chat',
    model: 'gpt-5',
    body: {},
    headers: {},
    tenant: null,
    labels: {},
    metadata: {},
    stream: false,
    tools: false,
    inputTokens: 10,
    inputChars: 24,
    seed: 1,
    ...over,
  };
}
