import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../../engine/index.js';

function policy(route: string): string {
  return `switchyard: v1
policy: { name: p, version: "1" }
providers: { d: { kind: mock } }
models:
  a: { provider: d, model: a, capabilities: { prefill: true } }
  b: { provider: d, model: b }
  c: { provider: d, model: c, capabilities: { prefill: true } }
routes:
  - name: r
    stream: { midStream: continue }
${route}
`;
}

const warns = (route: string) =>
  parsePolicy([{ file: 'p.yaml', text: policy(route) }]).diagnostics.some(
    (d) => d.code === 'SEM_PREFILL_CONTINUE',
  );

describe('SEM_PREFILL_CONTINUE follows the order a route can really take', () => {
  it('a fallback chain needs a prefill-capable target after the first', () => {
    expect(warns('    targets: [b, a, c]')).toBe(false);
    expect(warns('    targets: [a, b]')).toBe(true);
  });

  it('a weighted, sticky or latency order needs one for whichever target goes first', () => {
    // b first could continue on a; a first could only continue on b, which cannot.
    expect(warns('    strategy: weighted\n    targets: [a, b]')).toBe(true);
    expect(warns('    strategy: sticky\n    stickyKey: header.x-s\n    targets: [b, a]')).toBe(true);
    expect(warns('    strategy: latency\n    targets: [a, b, c]')).toBe(false);
    // A reordering group nested in a fallback chain reorders the route too.
    expect(warns('    targets: [ { strategy: weighted, targets: [a, b] } ]')).toBe(true);
  });
});
