/**
 * Type-directed generators of valid policies (docs/properties.md): a catalogue of providers and models
 * first, then routes whose targets and conditions use its names, so that every generated policy
 * passes `validate` with no error (warnings such as an unused model are allowed).
 *
 * Shared by the property tests of several stages: extend by adding exports, keep `arbPolicy()`'s
 * contract (a valid policy as a plain object, and the same policy printed as YAML).
 */
import fc from 'fast-check';
import { stringify } from 'yaml';

export type PlainPolicy = Record<string, unknown>;

export interface GeneratedPolicy {
  /** The policy as plain JSON-compatible data (what `load` returns as `document`). */
  policy: PlainPolicy;
  /** `policy` printed as YAML. */
  yaml: string;
}

/**
 * Name pools. Names within a pool are far apart (edit distance ≥ 3), so a name misspelt by one
 * or two edits has exactly one nearest original — what "did you mean" must find.
 */
export const PROVIDER_NAMES = ['openai', 'anthropic', 'local', 'demo'] as const;
export const MODEL_NAMES = ['fast', 'strong', 'cheap', 'vision', 'backup', 'reasoner'] as const;
export const TENANT_NAMES = ['acme', 'globex', 'initech'] as const;
export const ROUTE_NAMES = ['classification', 'chat', 'long-context', 'batch', 'premium', 'default'] as const;

/** Prints a policy the way authors write one (block style, keys in insertion order). */
export function printPolicy(policy: PlainPolicy): string {
  return stringify(policy, { lineWidth: 0 });
}

const arbDuration = (maxSeconds: number): fc.Arbitrary<string> =>
  fc.oneof(
    fc.integer({ min: 1, max: maxSeconds }).map((s) => `${s}s`),
    fc.integer({ min: 1, max: maxSeconds * 1000 }).map((ms) => `${ms}ms`),
  );

function arbProvider(name: string): fc.Arbitrary<Record<string, unknown>> {
  switch (name) {
    case 'openai':
      return fc.record(
        {
          kind: fc.constant('openai'),
          baseUrl: fc.constant('https://api.openai.com/v1'),
          // biome-ignore lint/suspicious/noTemplateCurlyInString: an interpolation as authors write it
          apiKey: fc.constant('${OPENAI_API_KEY:-sk-test}'),
        },
        { requiredKeys: ['kind', 'baseUrl'] },
      );
    case 'anthropic':
      return fc.record(
        { kind: fc.constant('anthropic'), version: fc.constant('2023-06-01') },
        { requiredKeys: ['kind'] },
      );
    case 'local':
      return fc.record({ kind: fc.constant('openai'), baseUrl: fc.constant('http://127.0.0.1:11434/v1') });
    default:
      return fc.record(
        { kind: fc.constant('mock'), reply: fc.constantFrom('ok', 'hello'), latency: arbDuration(2) },
        { requiredKeys: ['kind'] },
      );
  }
}

function arbModel(providers: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    {
      provider: fc.constantFrom(...providers),
      model: fc.constantFrom('gpt-5-nano', 'gpt-5', 'claude-4-sonnet', 'llama-3', '*'),
      price: fc.record({
        input: fc.integer({ min: 0, max: 30 }),
        output: fc.integer({ min: 0, max: 60 }),
      }),
      context: fc.integer({ min: 1000, max: 400_000 }),
      capabilities: fc.record(
        { prefill: fc.boolean(), tools: fc.boolean(), vision: fc.boolean() },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['provider', 'model'] },
  );
}

/** A condition that is valid for its field: text operators on text, numbers on numbers. */
function arbCondition(field: string): fc.Arbitrary<unknown> {
  if (field === 'input.tokens' || field === 'input.chars') {
    return fc.oneof(
      fc.integer({ min: 0, max: 200_000 }),
      fc
        .record(
          {
            gt: fc.integer({ min: 0, max: 100_000 }),
            lte: fc.integer({ min: 100_000, max: 400_000 }),
          },
          { requiredKeys: [] },
        )
        .filter((o) => Object.keys(o).length > 0),
    );
  }
  if (field === 'stream' || field === 'tools') {
    return fc.oneof(fc.boolean(), fc.record({ exists: fc.boolean() }));
  }
  return fc.oneof(
    fc.constantFrom('gpt-5', 'default', 'free', 'paid', '/v1/chat/completions'),
    fc.record({ in: fc.uniqueArray(fc.constantFrom('gpt-5', 'gpt-5-mini', 'default'), { minLength: 1 }) }),
    fc.record({ glob: fc.constantFrom('gpt-4*', 'claude-?', '*') }),
    fc.record({ regex: fc.constantFrom('^gpt-5', '(?i)claude', 'mini$', '[0-9]+') }),
    fc.record({ exists: fc.boolean() }),
  );
}

const WHEN_FIELDS = [
  'model',
  'path',
  'tenant',
  'stream',
  'tools',
  'input.tokens',
  'input.chars',
  'label.tier',
  'header.x-team',
  'metadata.task',
] as const;

const arbWhen: fc.Arbitrary<Record<string, unknown>> = fc
  .uniqueArray(fc.constantFrom(...WHEN_FIELDS), { minLength: 1, maxLength: 3 })
  .chain((fields) =>
    fc.tuple(...fields.map((f) => arbCondition(f))).map((conds) => {
      const when: Record<string, unknown> = {};
      fields.forEach((f, i) => {
        when[f] = conds[i];
      });
      return when;
    }),
  );

const arbStrategy = fc.constantFrom('fallback', 'weighted', 'latency', 'sticky');

/** Targets of a route or group; groups nest at most `depth` more levels. */
function arbTargets(models: readonly string[], depth: number): fc.Arbitrary<unknown[]> {
  const leaf = fc.oneof(
    fc.constantFrom(...models),
    fc.record(
      { model: fc.constantFrom(...models), weight: fc.integer({ min: 1, max: 100 }) },
      { requiredKeys: ['model'] },
    ),
  );
  const item: fc.Arbitrary<unknown> =
    depth <= 0
      ? leaf
      : fc.oneof({ weight: 4, arbitrary: leaf }, { weight: 1, arbitrary: arbGroup(models, depth - 1) });
  return fc.array(item, { minLength: 1, maxLength: 3 });
}

/** Fields shared by routes and groups: a strategy and, for sticky ones only, its key. */
function withStrategy(
  base: Record<string, unknown>,
  strategy: string | undefined,
  stickyKey: string,
): Record<string, unknown> {
  if (strategy === undefined) return base;
  const out: Record<string, unknown> = { ...base, strategy };
  if (strategy === 'sticky') out.stickyKey = stickyKey;
  return out;
}

function arbGroup(models: readonly string[], depth: number): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record({
      strategy: fc.option(arbStrategy, { nil: undefined }),
      stickyKey: fc.constantFrom('header.x-session-id', 'tenant', 'metadata.user'),
      targets: arbTargets(models, depth),
    })
    .map(({ strategy, stickyKey, targets }) => withStrategy({ targets }, strategy, stickyKey));
}

function arbRoute(
  name: string,
  models: readonly string[],
  catchAll: boolean,
): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record({
      when: catchAll ? fc.constant(undefined) : arbWhen,
      strategy: fc.option(arbStrategy, { nil: undefined }),
      stickyKey: fc.constantFrom('header.x-session-id', 'tenant', 'metadata.user'),
      targets: arbTargets(models, 2),
      timeout: fc.option(
        fc.record({ connect: arbDuration(5), total: fc.integer({ min: 10, max: 300 }).map((s) => `${s}s`) }),
        { nil: undefined },
      ),
      retry: fc.option(fc.record({ attempts: fc.integer({ min: 0, max: 5 }) }), { nil: undefined }),
      maxAttempts: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
    })
    .map(({ when, strategy, stickyKey, targets, timeout, retry, maxAttempts }) => {
      let route: Record<string, unknown> = { name };
      if (when !== undefined) route.when = when;
      route = withStrategy(route, strategy, stickyKey);
      route.targets = targets;
      if (timeout !== undefined) route.timeout = timeout;
      if (retry !== undefined) route.retry = retry;
      if (maxAttempts !== undefined) route.maxAttempts = maxAttempts;
      return route;
    });
}

/** A catalogue (providers, models) then routes over it; always valid. */
export function arbPolicy(): fc.Arbitrary<GeneratedPolicy> {
  return fc
    .record({
      providers: fc.uniqueArray(fc.constantFrom(...PROVIDER_NAMES), { minLength: 1, maxLength: 3 }),
      models: fc.uniqueArray(fc.constantFrom(...MODEL_NAMES), { minLength: 1, maxLength: 4 }),
      tenants: fc.uniqueArray(fc.constantFrom(...TENANT_NAMES), { maxLength: 2 }),
      routes: fc.uniqueArray(fc.constantFrom(...ROUTE_NAMES), { minLength: 1, maxLength: 4 }),
      catchAll: fc.boolean(),
    })
    .chain(({ providers, models, tenants, routes, catchAll }) =>
      fc
        .record({
          providers: fc.tuple(...providers.map((p) => arbProvider(p))),
          models: fc.tuple(...models.map(() => arbModel(providers))),
          tiers: fc.tuple(...tenants.map(() => fc.constantFrom('free', 'paid')), fc.constant('x')),
          routes: fc.tuple(...routes.map((r, i) => arbRoute(r, models, catchAll && i === routes.length - 1))),
          defaults: fc.option(
            fc.record(
              {
                timeout: fc.record({
                  connect: fc.constant('2s'),
                  firstToken: fc.constant('15s'),
                  total: fc.constant('60s'),
                }),
                retry: fc.record({
                  attempts: fc.integer({ min: 0, max: 3 }),
                  backoff: fc.record({
                    initial: fc.constant('250ms'),
                    max: fc.constant('8s'),
                    jitter: fc.constantFrom('full', 'equal', 'none'),
                  }),
                }),
                stream: fc.record({ midStream: fc.constant('error') }),
              },
              { requiredKeys: [] },
            ),
            { nil: undefined },
          ),
        })
        .map((parts) => {
          const policy: PlainPolicy = {
            switchyard: 'v1',
            policy: { name: 'generated', version: '1' },
            providers: Object.fromEntries(providers.map((p, i) => [p, parts.providers[i]])),
            models: Object.fromEntries(models.map((m, i) => [m, parts.models[i]])),
          };
          if (tenants.length > 0) {
            policy.tenants = Object.fromEntries(
              tenants.map((t, i) => [t, { keys: [`key-${t}`], labels: { tier: parts.tiers[i] } }]),
            );
          }
          if (parts.defaults !== undefined) policy.defaults = parts.defaults;
          policy.routes = parts.routes;
          return { policy, yaml: printPolicy(policy) };
        }),
    );
}
