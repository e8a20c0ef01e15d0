import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatHuman, loadPolicy } from '../../engine/index.js';

const root = join(import.meta.dirname, '../..');
const policiesDir = join(root, 'policies');

/** What an operator would export before validating the examples; the values are placeholders. */
const exampleEnv = {
  OPENAI_API_KEY: 'sk-test-openai',
  ANTHROPIC_API_KEY: 'sk-ant-test',
  AZURE_OPENAI_KEY: 'azure-test-key',
  HELPDESK_WEB_KEY: 'helpdesk-web-test',
  HELPDESK_TRIAL_KEY: 'helpdesk-trial-test',
};

const examples = readdirSync(policiesDir, { withFileTypes: true })
  .filter((e) => e.isDirectory() || (e.name.endsWith('.yaml') && !e.name.endsWith('.test.yaml')))
  .map((e) => e.name)
  .sort();

describe('example policies', () => {
  it('includes the quickstart and at least three realistic policies', () => {
    expect(examples).toContain('quickstart.yaml');
    expect(examples.length).toBeGreaterThanOrEqual(4);
  });

  it.each(examples)('%s validates with no errors and no warnings', async (name) => {
    const loaded = await loadPolicy(join(policiesDir, name), { env: exampleEnv });
    const report = formatHuman(loaded.diagnostics, loaded.sources);
    expect(loaded.diagnostics, report).toEqual([]);
    expect(loaded.ok).toBe(true);
  });

  it('reports a missing API key variable at its line instead of starting with an empty key', async () => {
    const { OPENAI_API_KEY: _omitted, ...env } = exampleEnv;
    const loaded = await loadPolicy(join(policiesDir, 'cost-router.yaml'), { env });
    expect(loaded.ok).toBe(false);
    const missing = loaded.diagnostics.filter((d) => d.code === 'PARSE_ENV_MISSING');
    expect(missing.length).toBeGreaterThan(0);
    expect(missing[0].line).toBe(10);
  });
});

describe('example policies keep their `midStream: continue` promise', () => {
  type Node = string | { model?: string; strategy?: string; targets?: Node[] };
  const leaves = (n: Node): string[] =>
    typeof n === 'string' ? [n] : n.targets !== undefined ? n.targets.flatMap(leaves) : [n.model ?? ''];

  it.each(examples)('%s: whichever target goes first, a prefill-capable target follows', async (name) => {
    const loaded = await loadPolicy(join(policiesDir, name), { env: exampleEnv });
    if (!loaded.ok) throw new Error(formatHuman(loaded.diagnostics, loaded.sources));
    const doc = loaded.policy.document;
    for (const route of doc.routes) {
      const mode = route.stream?.midStream ?? doc.defaults?.stream?.midStream ?? 'error';
      if (mode !== 'continue') continue;
      const members = route.targets as Node[];
      // Only `fallback` has a fixed first member; the other strategies may start with any.
      const firsts = (route.strategy ?? 'fallback') === 'fallback' ? members.slice(0, 1) : members;
      for (const first of firsts) {
        const head = leaves(first)[0];
        const rest = members.flatMap(leaves).filter((m) => m !== head);
        const capable = rest.some((m) => doc.models?.[m]?.capabilities?.prefill === true);
        expect(capable, `route ${route.name} starting on ${head}`).toBe(true);
      }
    }
  });
});
