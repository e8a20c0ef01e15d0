/**
 * Type-directed generators for the decide properties: a catalogue of providers and models first,
 * then policies whose routes use those names and every match operator, and requests drawn mostly
 * from the values the policies mention (so routes do match), with a minority of other values.
 */
import fc from 'fast-check';
import type { Policy, Route, Target, When } from '../../engine/policy/types.generated.js';
import type { RequestInput } from '../../engine/types.js';

export const MODELS = ['fast', 'strong', 'cheap', 'wild', 'notools', 'novision'] as const;
export const REQUEST_MODELS = ['gpt-5', 'gpt-5-nano', 'claude-4', 'default', 'llama3', 'o3'] as const;
export const TASKS = ['chat', 'classification', 'summarize'] as const;
export const TEAMS = ['red', 'blue'] as const;
export const TENANT_KEYS = ['key-acme', 'key-globex', 'key-unknown'] as const;
export const PATHS = ['/v1/chat/completions', '/v1/embeddings'] as const;
const DURATIONS = ['250ms', '1s', '2s', '5s', '30s', '1m', '1.5s'] as const;

const FIELD_VALUES: Record<string, readonly (string | number | boolean)[]> = {
  model: REQUEST_MODELS,
  path: PATHS,
  tenant: ['acme', 'globex'],
  stream: [true, false],
  tools: [true, false],
  'input.tokens': [5, 10, 50, 1000],
  'input.chars': [0, 10, 100, 4000],
  'label.tier': ['free', 'paid'],
  'header.X-Team': TEAMS,
  'metadata.task': TASKS,
  'metadata.priority': [1, 2, '3'],
  'body.temperature': [0, 0.2, 1],
  'body.user': ['alice', 'bob'],
};
const FIELDS = Object.keys(FIELD_VALUES);

const arbScalarFor = (field: string) => fc.constantFrom(...FIELD_VALUES[field]);

function arbOperators(field: string): fc.Arbitrary<Record<string, unknown>> {
  const values = FIELD_VALUES[field];
  const strings = values.map(String);
  return fc
    .record(
      {
        in: fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 3 }),
        glob: fc.constantFrom(...strings.map((s) => `${s.slice(0, 2)}*`), '*', '?*', 'gpt-?'),
        regex: fc.constantFrom(
          ...strings.map((s) => `^${s.slice(0, 3).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`),
          '(?i)CLAUDE',
          '5$',
        ),
        gt: fc.constantFrom(0, 1, 10, 100),
        gte: fc.constantFrom(0, 1, 10, 100),
        lt: fc.constantFrom(1, 10, 1000),
        lte: fc.constantFrom(1, 10, 1000),
        exists: fc.boolean(),
      },
      { requiredKeys: [] },
    )
    .filter((o) => Object.keys(o).length > 0);
}

function arbCondition(field: string): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 3, arbitrary: arbScalarFor(field) },
    { weight: 2, arbitrary: arbOperators(field) },
  );
}

const arbFieldConditions: fc.Arbitrary<Record<string, unknown>> = fc
  .uniqueArray(fc.constantFrom(...FIELDS), { minLength: 1, maxLength: 2 })
  .chain((fields) => fc.tuple(...fields.map((f) => arbCondition(f).map((c) => [f, c] as const))))
  .map((pairs) => Object.fromEntries(pairs));

const arbWhen: fc.Arbitrary<When> = fc.letrec<{ when: Record<string, unknown> }>((tie) => ({
  when: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 6, arbitrary: arbFieldConditions },
    { weight: 1, arbitrary: fc.array(tie('when'), { minLength: 1, maxLength: 2 }).map((all) => ({ all })) },
    { weight: 1, arbitrary: fc.array(tie('when'), { minLength: 1, maxLength: 2 }).map((any) => ({ any })) },
    { weight: 1, arbitrary: tie('when').map((not) => ({ not })) },
  ),
})).when as fc.Arbitrary<When>;

const arbStickyKey = fc.constantFrom('header.x-session', 'metadata.user', 'tenant', 'model');

const arbLeaf: fc.Arbitrary<Target> = fc.oneof(
  fc.constantFrom(...MODELS),
  fc.record(
    { model: fc.constantFrom(...MODELS), weight: fc.constantFrom(0, 1, 2, 5) },
    { requiredKeys: ['model'] },
  ),
);

const arbTargets: fc.Arbitrary<Target[]> = fc.letrec<{ targets: Target[]; target: Target }>((tie) => ({
  targets: fc.array(tie('target'), { minLength: 1, maxLength: 4 }),
  target: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 5, arbitrary: arbLeaf },
    {
      weight: 1,
      arbitrary: fc.record(
        {
          strategy: fc.constantFrom('fallback', 'weighted', 'latency', 'sticky'),
          stickyKey: arbStickyKey,
          targets: tie('targets'),
          weight: fc.constantFrom(0, 1, 3),
        },
        { requiredKeys: ['targets'] },
      ) as fc.Arbitrary<Target>,
    },
  ),
})).targets;

const arbTimeout = fc.record(
  {
    connect: fc.constantFrom(...DURATIONS),
    firstToken: fc.constantFrom(...DURATIONS),
    idle: fc.constantFrom(...DURATIONS),
    total: fc.constantFrom(...DURATIONS),
  },
  { requiredKeys: [] },
);

const arbRetry = fc.record(
  {
    attempts: fc.integer({ min: 0, max: 4 }),
    backoff: fc.record(
      {
        initial: fc.constantFrom(...DURATIONS),
        max: fc.constantFrom(...DURATIONS),
        multiplier: fc.constantFrom(1, 1.5, 3),
        jitter: fc.constantFrom('full', 'equal', 'none'),
      },
      { requiredKeys: [] },
    ),
    respectRetryAfter: fc.constantFrom(...DURATIONS),
    retryOn: fc.uniqueArray(fc.constantFrom('connect', 'timeout', 'rate_limited', 'server_error'), {
      maxLength: 3,
    }),
    fallbackOn: fc.uniqueArray(fc.constantFrom('connect', 'auth', 'bad_request', 'idle'), { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

const arbBreaker = fc.record(
  {
    enabled: fc.boolean(),
    failures: fc.integer({ min: 1, max: 9 }),
    window: fc.constantFrom(...DURATIONS),
    cooldown: fc.constantFrom(...DURATIONS),
  },
  { requiredKeys: [] },
);

const arbSettings = fc.record(
  { timeout: arbTimeout, retry: arbRetry, breaker: arbBreaker },
  { requiredKeys: [] },
);

function arbRoute(name: string): fc.Arbitrary<Route> {
  return fc
    .record(
      {
        when: arbWhen,
        strategy: fc.constantFrom('fallback', 'weighted', 'latency', 'sticky'),
        stickyKey: arbStickyKey,
        targets: arbTargets,
        settings: arbSettings,
        maxAttempts: fc.integer({ min: 1, max: 10 }),
        stream: fc.record({ midStream: fc.constantFrom('error', 'continue') }),
      },
      { requiredKeys: ['targets', 'settings'] },
    )
    .map(({ settings, ...r }) => ({ name, ...r, ...settings }) as Route);
}

/** A policy over the fixed catalogue: 1–8 routes, the last often a catch-all. */
export const arbDecidePolicy: fc.Arbitrary<Policy> = fc
  .record({
    count: fc.integer({ min: 1, max: 8 }),
    catchAll: fc.boolean(),
    defaults: fc.option(
      fc.record(
        {
          timeout: arbTimeout,
          retry: arbRetry,
          breaker: arbBreaker,
          maxAttempts: fc.integer({ min: 1, max: 10 }),
          stream: fc.record({ midStream: fc.constantFrom('error', 'continue') }),
        },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    ),
    modelSettings: fc.array(fc.option(arbSettings, { nil: undefined }), {
      minLength: MODELS.length,
      maxLength: MODELS.length,
    }),
  })
  .chain(({ count, catchAll, defaults, modelSettings }) =>
    fc.tuple(...Array.from({ length: count }, (_, i) => arbRoute(`r${i}`))).map((routes) => {
      if (catchAll) {
        const last = routes[routes.length - 1];
        delete last.when;
      }
      const upstream: Record<string, string> = {
        fast: 'gpt-5-nano',
        strong: 'claude-4',
        cheap: 'llama3',
        wild: '*',
        notools: 'o3',
        novision: 'gpt-5',
      };
      const models: NonNullable<Policy['models']> = {};
      MODELS.forEach((m, i) => {
        models[m] = {
          provider: m === 'strong' ? 'anthropic' : m === 'cheap' ? 'local' : 'openai',
          model: upstream[m],
          ...(m === 'notools' ? { capabilities: { tools: false } } : {}),
          ...(m === 'novision' ? { capabilities: { vision: false, prefill: true } } : {}),
          ...modelSettings[i],
        };
      });
      const policy: Policy = {
        switchyard: 'v1',
        policy: { name: 'generated', version: '1' },
        providers: {
          openai: { kind: 'openai', baseUrl: 'https://api.openai.com/v1' },
          anthropic: { kind: 'anthropic' },
          local: { kind: 'mock', reply: 'hi' },
        },
        models,
        tenants: {
          acme: { keys: ['key-acme'], labels: { tier: 'paid' } },
          globex: { keys: ['key-globex'], labels: { tier: 'free' } },
        },
        routes: routes as Policy['routes'],
      };
      if (defaults !== undefined) policy.defaults = defaults as Policy['defaults'];
      return policy;
    }),
  );

const arbContent = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.array(
    fc.oneof(
      fc.record({ type: fc.constant('text'), text: fc.string({ maxLength: 20 }) }),
      fc.record({
        type: fc.constant('image_url'),
        image_url: fc.record({ url: fc.constant('https://x/y.png') }),
      }),
    ),
    { maxLength: 3 },
  ),
);

/** A request drawn mostly from the catalogue's values, always with a seed header. */
export const arbDecideRequest: fc.Arbitrary<RequestInput> = fc
  .record(
    {
      model: fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(...REQUEST_MODELS) },
        { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
      ),
      messages: fc.array(fc.record({ role: fc.constantFrom('user', 'system'), content: arbContent }), {
        maxLength: 3,
      }),
      stream: fc.boolean(),
      tools: fc.constantFrom([], [{ type: 'function', function: { name: 'f' } }]),
      temperature: fc.constantFrom(0, 0.2, 1, 1.5),
      user: fc.constantFrom('alice', 'bob', 'carol'),
      metadata: fc.record(
        {
          task: fc.constantFrom(...TASKS, 'other'),
          priority: fc.constantFrom(1, 2, '3', 'high'),
          user: fc.constantFrom('u1', 'u2'),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['messages'] },
  )
  .chain((body) =>
    fc
      .record(
        {
          authorization: fc.constantFrom(...TENANT_KEYS).map((k) => `Bearer ${k}`),
          'X-Team': fc.constantFrom(...TEAMS, 'green'),
          'x-session': fc.constantFrom('s1', 's2', 's3'),
          'x-switchyard-metadata': fc.constantFrom(
            '{"task":"classification"}',
            '{"priority":2}',
            '{"user":"u3"}',
          ),
        },
        { requiredKeys: [] },
      )
      .chain((headers) =>
        fc
          .record({
            seed: fc.nat({ max: 0xffffffff }),
            path: fc.constantFrom(...PATHS, undefined),
          })
          .map(({ seed, path }) => ({
            body,
            headers: { ...headers, 'x-switchyard-seed': String(seed) },
            ...(path === undefined ? {} : { path }),
          })),
      ),
  );

/** FC runs from the environment: a fast CI profile by default, `FC_NUM_RUNS=10000` by hand. */
export const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 100);
