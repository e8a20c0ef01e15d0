/** `SEM_PROMPT_CACHE_NO_EFFECT`: promptCache on a route without an Anthropic target is a warning. */
import { describe, expect, it } from 'vitest';
import { check, HEAD, withCode } from './helpers.js';

const policy = (targets: string, promptCache = 'true') => `${HEAD}providers:
  demo: { kind: mock }
  claude: { kind: anthropic, apiKey: sk-ant-test }
models:
  fast: { provider: demo, model: m }
  sonnet: { provider: claude, model: claude-sonnet-4-5 }
routes:
  - name: chat
    promptCache: ${promptCache}
    targets: ${targets}
`;

describe('promptCache targets', () => {
  it('warns when no target of the route is an Anthropic model', () => {
    const r = check(policy('[fast]'));
    expect(r.errors).toEqual([]);
    expect(withCode(r, 'SEM_PROMPT_CACHE_NO_EFFECT').map((d) => [d.severity, d.pointer])).toEqual([
      ['warning', '/routes/0/promptCache'],
    ]);
  });

  it('is quiet with an Anthropic target, also inside a group, and when nothing is marked', () => {
    expect(withCode(check(policy('[fast, sonnet]')), 'SEM_PROMPT_CACHE_NO_EFFECT')).toEqual([]);
    const grouped = check(policy('[{ strategy: weighted, targets: [fast, { model: sonnet }] }]'));
    expect(grouped.errors).toEqual([]);
    expect(withCode(grouped, 'SEM_PROMPT_CACHE_NO_EFFECT')).toEqual([]);
    expect(withCode(check(policy('[fast]', 'false')), 'SEM_PROMPT_CACHE_NO_EFFECT')).toEqual([]);
    expect(withCode(check(policy('[fast]', '{ system: false }')), 'SEM_PROMPT_CACHE_NO_EFFECT')).toEqual([]);
  });
});
