import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../cli/main.js';

const policies = join(import.meta.dirname, '../../../policies');

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  let out = '';
  const write = (s: string): void => {
    out += s;
  };
  const code = await main(args, { stdout: { write }, stderr: { write }, env } as never);
  return { code, out };
}

describe('validate: a folder of separate policies, and no secrets needed', () => {
  it('validating a folder of separate policies as one says how to validate each', async () => {
    const { code, out } = await run(['validate', policies]);
    expect(code).toBe(1);
    expect(out).toContain(`hint: ${policies} holds several complete policies`);
    expect(out).toContain(`switchyard validate --each ${policies}`);
  });

  it('--each validates every policy of the folder on its own, with placeholders for unset keys', async () => {
    const { code, out } = await run(['validate', '--each', policies]);
    expect(code).toBe(0);
    expect(out).toContain('ok: policy quickstart');
    expect(out).toContain('ok: policy support-bot');
    expect(out).toContain('ok: policy customer-support');
    expect(out).toContain(
      'warning: ${AZURE_OPENAI_KEY} is not set; validated with a placeholder (serve needs it)',
    );
    expect(out.trimEnd().split('\n').at(-1)).toMatch(/^(\d+) of \1 policies valid$/);
  });

  it('JSON and SARIF carry each unset secret as a warning where it is used; the policy is still valid', async () => {
    const policy = join(policies, 'code-generation.yaml');
    const json = await run(['validate', policy, '--format', 'json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.out) as {
      ok: boolean;
      diagnostics: { code: string; severity: string; message: string; line: number }[];
    };
    expect(report.ok).toBe(true);
    const warnings = report.diagnostics.filter((d) => d.code === 'PARSE_ENV_MISSING');
    expect(warnings.length).toBeGreaterThan(0);
    for (const w of warnings) {
      expect(w.severity).toBe('warning');
      expect(w.message).toMatch(/is not set.*checked with a placeholder \(serve needs it\)$/);
      expect(w.line).toBeGreaterThan(0);
    }
    const sarif = await run(['validate', policy, '--format', 'sarif']);
    expect(sarif.code).toBe(0);
    const results = (JSON.parse(sarif.out) as { runs: { results: { ruleId: string; level: string }[] }[] })
      .runs[0].results;
    expect(results.filter((r) => r.ruleId === 'PARSE_ENV_MISSING').map((r) => r.level)).toEqual(
      warnings.map(() => 'warning'),
    );
  });

  it('takes several paths and exits 1 when one of them has errors', async () => {
    const { code, out } = await run([
      'validate',
      join(policies, 'quickstart.yaml'),
      join(policies, 'support-bot'),
      policies,
    ]);
    expect(code).toBe(1);
    expect(out).toContain('2 of 3 policies valid');
  });

  it('a set key is used as given, with no warning', async () => {
    const { code, out } = await run(['validate', join(policies, 'cost-router.yaml')], {
      OPENAI_API_KEY: 'sk-test',
      ANTHROPIC_API_KEY: 'sk-ant-test',
    });
    expect(code).toBe(0);
    expect(out).not.toContain('warning');
  });
});
