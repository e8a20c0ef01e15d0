import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../../engine/compile/load-policy.js';
import { formatHuman, maskSecretsInLine } from '../../../engine/policy/format.js';

const HEAD = 'switchyard: v1\npolicy: { name: demo, version: "1" }\n';

describe('parsePolicy: load errors do not hide schema and semantic problems', () => {
  it('reports a misspelt key next to PARSE_ENV_MISSING', () => {
    const text = `${HEAD}providers:\n  o: { kind: openai, baseUrl: "https://x", apiKey: "\${OPENAI_API_KEY}" }\nmodels:\n  fast: { provider: o, model: m }\nroutes:\n  - name: chat\n    targets: [fast]\n    fallbak: [fast]\n`;
    const r = parsePolicy([{ file: 'p.yaml', text }], { env: {} });
    expect(r.ok).toBe(false);
    const codes = r.diagnostics.map((d) => d.code);
    expect(codes).toContain('PARSE_ENV_MISSING');
    expect(codes).toContain('SCHEMA_UNKNOWN_KEY');
    // The pointer the loader explained is not reported twice.
    expect(r.diagnostics.filter((d) => d.pointer === '/providers/o/apiKey')).toHaveLength(1);
  });

  it('a document-level load error still stands alone', () => {
    const r = parsePolicy([{ file: 'p.yaml', text: 'switchyard: [\n' }], { env: {} });
    expect(r.ok).toBe(false);
    expect(r.diagnostics.every((d) => d.code.startsWith('PARSE_'))).toBe(true);
  });
});

describe('code frames mask secrets', () => {
  const frame = (text: string, env: Record<string, string> = {}): string => {
    const r = parsePolicy([{ file: 'p.yaml', text }], { env });
    expect(r.ok).toBe(false);
    return formatHuman(r.diagnostics, r.sources);
  };

  it('masks a literal apiKey and header values on the offending line', () => {
    const text = `${HEAD}providers:\n  o: { kind: openai, baseUrl: "https://x", apiKey: sk-live-LEAK1, headers: { X-Org: "org-LEAK2" }, bogus: 1 }\nmodels:\n  fast: { provider: o, model: m }\nroutes:\n  - name: chat\n    targets: [fast]\n`;
    const out = frame(text);
    expect(out).toContain('SCHEMA_UNKNOWN_KEY');
    expect(out).toContain('apiKey: *************');
    expect(out).not.toContain('LEAK1');
    expect(out).not.toContain('LEAK2');
  });

  it('masks tenant keys (flow and block) but keeps environment references readable', () => {
    const flow = `${HEAD}providers:\n  m: { kind: mock }\nmodels:\n  fast: { provider: m, model: m }\ntenants:\n  acme: { keys: [sk-acme-LEAK3, "\${ACME}"], bogus: 1 }\nroutes:\n  - name: chat\n    targets: [fast]\n`;
    const out = frame(flow, { ACME: 'x' });
    expect(out).not.toContain('LEAK3');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an interpolation as authors write it
    expect(out).toContain('"${ACME}"');
    const lines = ['tenants:', '  acme:', '    keys:', '      - "sk acme LEAK4"'];
    expect(maskSecretsInLine(lines, 3)).toBe('      - ***************');
  });

  it('masks the redis url and block-style header values; leaves other lines alone', () => {
    expect(maskSecretsInLine(['stores:', '  redis: { url: "redis://u:pw@h" }'], 1)).toBe(
      '  redis: { url: **************** }',
    );
    expect(maskSecretsInLine(['stores:', '  redis:', '    url: redis://u:pw@h'], 2)).toBe(
      '    url: **************',
    );
    expect(maskSecretsInLine(['    headers:', '      x-token: tok-abc'], 1)).toBe('      x-token: *******');
    expect(maskSecretsInLine(['    when: { header.x: abc }'], 0)).toBe('    when: { header.x: abc }');
    expect(maskSecretsInLine(['    baseUrl: https://x'], 0)).toBe('    baseUrl: https://x');
  });
});
