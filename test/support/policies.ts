/** Policy texts for tests. */

export interface MockPolicyParts {
  name: string;
  /** Default "1". */
  version?: string;
  /** `models:` entries, two-space indented, on the mock provider `demo`. */
  models: string;
  /** Top-level sections (stores, limits, ...) between `models:` and `routes:`, at column 0. */
  sections?: string;
  /** `routes:` entries, two-space indented. */
  routes: string;
}

/**
 * A policy whose one provider is the in-process mock `demo`, as YAML. The layout is fixed (line 1
 * `switchyard`, 2 `policy`, 3-4 the provider, 5 `models:`), so tests may name diagnostic lines.
 */
export function mockPolicyYaml(p: MockPolicyParts): string {
  return `switchyard: v1
policy: { name: ${p.name}, version: "${p.version ?? '1'}" }
providers:
  demo: { kind: mock }
models:
${p.models}
${p.sections ?? ''}routes:
${p.routes}
`;
}
