/**
 * The codes the validate stage emits (schema, reference and semantic), in the catalogue's shape;
 * `codes.ts` merges them into the one catalogue. Each example is a complete failing policy.
 */
import type { DiagnosticCodeInfo } from './diagnostics.js';

const HEAD = 'switchyard: v1\npolicy: { name: demo, version: "1" }\n';
const MOCK = 'providers:\n  demo: { kind: mock }\nmodels:\n  fast: { provider: demo, model: m }\n';
const CHAT = 'routes:\n  - name: chat\n    targets: [fast]\n';

export const VALIDATE_CODES: Readonly<Record<string, DiagnosticCodeInfo>> = {
  // -- schema -----------------------------------------------------------------------------------
  SCHEMA_UNKNOWN_KEY: {
    stage: 'schema',
    title: 'Unknown key',
    example: `${HEAD}${MOCK}${CHAT}    fallbak: [fast]\n`,
    fix: 'Remove the key or correct its spelling (the hint names the nearest known key); unknown keys are errors so a typo never silently disables a rule.',
  },
  SCHEMA_TYPE: {
    stage: 'schema',
    title: 'Value has the wrong type or form',
    example: `${HEAD}${MOCK}${CHAT}    maxAttempts: three\n`,
    fix: 'Write the value in the form the message names (a string, a number, a list, a mapping, or one of the forms of a union such as a target or a condition).',
  },
  SCHEMA_ENUM: {
    stage: 'schema',
    title: 'Value is not one of the allowed values',
    example: `${HEAD}providers:\n  openai: { kind: openaii, baseUrl: "https://api.openai.com/v1" }\n${CHAT}`,
    fix: 'Use one of the listed values; the hint names the nearest one.',
  },
  SCHEMA_CONST: {
    stage: 'schema',
    title: 'Value must be one fixed value',
    example: `switchyard: v2\npolicy: { name: demo, version: "1" }\n${CHAT}`,
    fix: 'Use the value the message names (for `switchyard`, the language version `v1`).',
  },
  SCHEMA_REQUIRED: {
    stage: 'schema',
    title: 'Required key is missing',
    example: `${HEAD}providers:\n  demo: { kind: mock }\nmodels:\n  fast: { provider: demo }\n${CHAT}`,
    fix: 'Add the missing key(s) to the mapping the diagnostic points at.',
  },
  SCHEMA_PATTERN: {
    stage: 'schema',
    title: 'Value or name has the wrong format',
    example: `${HEAD}${MOCK}defaults:\n  timeout: { total: 30 seconds }\n${CHAT}`,
    fix: 'Write the value in the format the message describes, e.g. durations `250ms`, `30s`, `5m`; rates `100/min`; names start with a letter and use letters, digits, `_`, `-`, `.`.',
  },
  SCHEMA_RANGE: {
    stage: 'schema',
    title: 'Value is out of range',
    example: `${HEAD}${MOCK}${CHAT}    retry: { attempts: 50 }\n`,
    fix: 'Bring the number, length or item count within the bounds the message states; remove duplicate list items.',
  },
  SCHEMA_OTHER: {
    stage: 'schema',
    title: 'Value does not match the schema',
    example:
      '# no v1 policy reaches this fallback (every schema rule has its own code); it keeps a rule added to the schema later from going unreported\n',
    fix: 'Compare the value with the policy reference (docs/policy-reference.md) for this key.',
  },
  // -- reference --------------------------------------------------------------------------------
  REF_UNKNOWN_PROVIDER: {
    stage: 'reference',
    title: 'Model refers to an unknown provider',
    example: `${HEAD}providers:\n  openai: { kind: openai, baseUrl: "https://api.openai.com/v1" }\nmodels:\n  fast: { provider: opneai, model: gpt-5-nano }\n${CHAT}`,
    fix: 'Use the name of a provider defined under `providers` (the hint names the nearest), or define it.',
  },
  REF_UNKNOWN_MODEL: {
    stage: 'reference',
    title: 'Target refers to an unknown model',
    example: `${HEAD}${MOCK}routes:\n  - name: chat\n    targets: [fsat]\n`,
    fix: 'Use the name of a model defined under `models` (route targets, nested groups and `downgradeTo` all name models, not upstream model ids), or define it.',
  },
  REF_UNKNOWN_LIMIT: {
    stage: 'reference',
    title: 'Route refers to an unknown limit',
    example: `${HEAD}${MOCK}limits:\n  per-tenant: { key: [tenant], requests: 600/min }\n${CHAT}    limits: [per-tenat]\n`,
    fix: 'Use the name of a limit defined under `limits`, or define it.',
  },
  REF_UNKNOWN_BUDGET: {
    stage: 'reference',
    title: 'Route refers to an unknown budget',
    example: `${HEAD}${MOCK}budgets:\n  monthly: { key: [tenant], usd: 500/month }\n${CHAT}    budgets: [montly]\n`,
    fix: 'Use the name of a budget defined under `budgets`, or define it.',
  },
  REF_UNKNOWN_CACHE: {
    stage: 'reference',
    title: 'Route refers to an unknown cache',
    example: `${HEAD}${MOCK}caches:\n  faq: { mode: exact, ttl: 24h }\n${CHAT}    cache: fqa\n`,
    fix: 'Use the name of a cache defined under `caches`, or define it.',
  },
  REF_UNKNOWN_CLASSIFIER: {
    stage: 'reference',
    title: 'Route matches on an unknown classifier',
    example: `${HEAD}${MOCK}classifiers:\n  task: { kind: complexity, labels: { simple: 0.3, complex: 1 } }\nroutes:\n  - name: hard\n    when: { class.tsak: complex }\n    targets: [fast]\n`,
    fix: 'Name a classifier defined under `classifiers` in `class.<name>`, or define it.',
  },
  REF_UNKNOWN_STORE: {
    stage: 'reference',
    title: 'Rule uses a store the policy does not declare',
    example: `${HEAD}${MOCK}limits:\n  per-tenant: { key: [tenant], requests: 600/min, store: redis }\n${CHAT}    limits: [per-tenant]\n`,
    fix: 'Declare the shared store (`stores: { redis: { url: "redis://127.0.0.1:6379/0" } }`), or use `store: memory`.',
  },
  REF_UNKNOWN_GUARDRAIL: {
    stage: 'reference',
    title: 'Route refers to an unknown guardrail',
    example: `${HEAD}${MOCK}guardrails:\n  pii: { stage: output, kind: pii, entities: [email], action: redact }\n${CHAT}    guardrails: [ppi]\n`,
    fix: 'Use the name of a guardrail defined under `guardrails`, or define it.',
  },
  // -- semantic ---------------------------------------------------------------------------------
  SEM_DUPLICATE_ROUTE: {
    stage: 'semantic',
    title: 'Two routes have the same name',
    example: `${HEAD}${MOCK}routes:\n  - name: chat\n    when: { stream: true }\n    targets: [fast]\n  - name: chat\n    targets: [fast]\n`,
    fix: 'Rename one route; route names identify what served a request (headers, logs, metrics, replay).',
  },
  SEM_UNREACHABLE_ROUTE: {
    stage: 'semantic',
    title: 'Route can never match',
    example: `${HEAD}${MOCK}routes:\n  - name: default\n    targets: [fast]\n  - name: chat\n    when: { model: gpt-5 }\n    targets: [fast]\n`,
    fix: 'Routes are tried in order and the first match wins: move the route above the catch-all (a route without `when`) or the earlier route with the same `when`, or delete it.',
  },
  SEM_UNUSED: {
    stage: 'semantic',
    title: 'Definition is never used',
    example: `${HEAD}${MOCK}  spare: { provider: demo, model: m2 }\n${CHAT}`,
    fix: 'Reference the provider, model, limit, budget, cache or guardrail where it was meant to apply, or delete it.',
  },
  SEM_INVALID_REGEX: {
    stage: 'semantic',
    title: 'Regular expression does not compile',
    example: `${HEAD}${MOCK}routes:\n  - name: chat\n    when: { model: { regex: "gpt-(4" } }\n    targets: [fast]\n`,
    fix: 'Fix the JavaScript regular expression (a leading `(?i)` is allowed for case-insensitive matching); escape literal parentheses and brackets.',
  },
  SEM_INVALID_CONDITION: {
    stage: 'semantic',
    title: 'Condition can never hold for this field',
    example: `${HEAD}${MOCK}routes:\n  - name: chat\n    when: { model: { gt: 4 } }\n    targets: [fast]\n`,
    fix: 'Use text operators (`glob`, `regex`, `in`, equals) on text fields (`model`, `path`, `tenant`, `label.*`, `header.*`), numeric operators on `input.tokens`/`input.chars`, and `true`/`false` on `stream`/`tools`.',
  },
  SEM_UNKNOWN_LABEL: {
    stage: 'semantic',
    title: 'Label the classifier does not declare',
    example: `${HEAD}${MOCK}classifiers:\n  task: { kind: complexity, labels: { simple: 0.3, complex: 1 } }\nroutes:\n  - name: hard\n    when: { class.task: compex }\n    targets: [fast]\n`,
    fix: 'Use one of the labels the classifier declares under `labels` (the hint names the nearest one), in conditions and as its `default`.',
  },
  SEM_CLASS_OUTSIDE_ROUTE: {
    stage: 'semantic',
    title: 'Class condition outside a route',
    example: `${HEAD}${MOCK}classifiers:\n  task: { kind: complexity, labels: { simple: 0.3, complex: 1 } }\nlimits:\n  hard: { key: [tenant], requests: 10/min, when: { class.task: complex } }\n${CHAT}    limits: [hard]\n`,
    fix: "Match on `class.<name>` in a route's `when` only: give the complex requests their own route, with its own limits or cache.",
  },
  SEM_CLASSIFIER_BANDS: {
    stage: 'semantic',
    title: 'Complexity bands leave scores without a label',
    example: `${HEAD}${MOCK}classifiers:\n  task: { kind: complexity, labels: { simple: 0.3, complex: 0.8 } }\nroutes:\n  - name: hard\n    when: { class.task: complex }\n    targets: [fast]\n`,
    fix: 'Give the last band (the label for the most complex requests) the upper bound 1.',
  },
  SEM_CLASSIFIER_MODEL: {
    stage: 'semantic',
    title: 'Classifier uses a model that cannot serve it',
    example: `${HEAD}providers:\n  demo: { kind: mock }\nmodels:\n  any: { provider: demo, model: "*" }\nclassifiers:\n  task: { kind: model, model: any, labels: { a: "", b: "" }, default: a }\nroutes:\n  - name: a\n    when: { class.task: a }\n    targets: [any]\n`,
    fix: 'Give the classifier a model with a fixed upstream name (`model: gpt-5-nano`), not a wildcard; for an `embedding` classifier, a model whose provider serves embeddings (OpenAI-compatible, not Anthropic).',
  },
  SEM_ZERO_WEIGHTS: {
    stage: 'semantic',
    title: 'Weighted group whose weights sum to 0',
    example: `${HEAD}${MOCK}routes:\n  - name: chat\n    strategy: weighted\n    targets: [{ model: fast, weight: 0 }]\n`,
    fix: 'Give at least one target a positive weight (weights default to 1), or use `strategy: fallback`.',
  },
  SEM_GROUP_DEPTH: {
    stage: 'semantic',
    title: 'Target groups are nested too deep',
    example: `${HEAD}${MOCK}routes:\n  - name: chat\n    targets: [{ targets: [{ targets: [{ targets: [{ targets: [{ targets: [{ targets: [{ targets: [{ targets: [{ targets: [fast] }] }] }] }] }] }] }] }] }]\n`,
    fix: 'Flatten the groups: at most 8 levels of nested `{ strategy, targets }` are allowed.',
  },
  SEM_STICKY_KEY: {
    stage: 'semantic',
    title: 'Sticky strategy without a key, or a key without sticky',
    example: `${HEAD}${MOCK}routes:\n  - name: chat\n    strategy: sticky\n    targets: [fast]\n`,
    fix: 'Add `stickyKey` (e.g. `header.x-session-id`) next to `strategy: sticky`; remove a `stickyKey` from a group that is not sticky.',
  },
  SEM_BAD_DURATION: {
    stage: 'semantic',
    title: 'Duration cannot be used',
    example: `${HEAD}${MOCK}${CHAT}    timeout: { total: 99999999999999999999d }\n`,
    fix: 'Use a duration the engine can represent (milliseconds up to 2^53), e.g. `30s` or `5m`; timeouts, backoffs, `respectRetryAfter` and breaker windows are timers, so at most 2^31−1 ms (about 24.8 days), and a timeout must be longer than 0ms.',
  },
  SEM_BAD_RATE: {
    stage: 'semantic',
    title: 'Rate cannot be used',
    example: `${HEAD}${MOCK}limits:\n  l: { key: [tenant], requests: 1/99999999999999999999d }\n${CHAT}    limits: [l]\n`,
    fix: 'Use a period and burst the engine can count exactly, e.g. `100/min` or `10000/day` with a burst well below 2^51 / the period in ms.',
  },
  SEM_BAD_SIZE: {
    stage: 'semantic',
    title: 'Size cannot be used',
    example: `${HEAD}providers:\n  demo: { kind: openai, baseUrl: "http://127.0.0.1:8080/v1", maxResponseSize: 99999999999gb }\nmodels:\n  fast: { provider: demo, model: m }\n${CHAT}`,
    fix: 'Use a size the engine can represent, e.g. `16mb`.',
  },
  SEM_BAD_URL: {
    stage: 'semantic',
    title: 'URL cannot be parsed',
    example: `${HEAD}providers:\n  demo: { kind: mock }\nmodels:\n  fast: { provider: demo, model: m, price: { input: 1, output: 1 } }\nbudgets:\n  daily: { key: [tenant], usd: 5/day, alertAt: [0.5], alerts: { webhook: "http://[::1/alerts" } }\n${CHAT}    budgets: [daily]\n`,
    fix: 'Write a complete URL such as `https://alerts.example.com/switchyard`; a bracketed IPv6 host needs its closing `]`.',
  },
  SEM_TIMEOUT_ORDER: {
    stage: 'semantic',
    title: 'Timeout longer than the total deadline',
    example: `${HEAD}${MOCK}defaults:\n  timeout: { firstToken: 90s, total: 60s }\n${CHAT}`,
    fix: '`total` bounds the whole request; make `connect` and `firstToken` shorter than it, or raise `total`.',
  },
  SEM_NEVER_RETRIED: {
    stage: 'semantic',
    title: '`retryOn` names a class that is never retried on the same target',
    example: `${HEAD}${MOCK}${CHAT}    retry: { retryOn: [timeout] }\n`,
    fix: 'Remove the class from `retryOn`: a target that timed out, went silent, or refused the request for its context length or content policy is never re-sent it; list the class in `fallbackOn` to try the next target instead.',
  },
  SEM_WEIGHT_IGNORED: {
    stage: 'semantic',
    title: '`weight` on a target of a group that does not weigh its targets',
    example: `${HEAD}${MOCK}  strong: { provider: demo, model: m2 }\nroutes:\n  - name: chat\n    targets: [{ model: fast, weight: 3 }, strong]\n`,
    fix: 'Remove `weight`, or set `strategy: weighted` on the group; `fallback` and `latency` order targets without weights.',
  },
  SEM_CACHE_KEY: {
    stage: 'semantic',
    title: 'Cache key ignores the prompt',
    example: `${HEAD}${MOCK}caches:\n  c: { mode: exact, ttl: 1h, key: [model] }\n${CHAT}    cache: c\n`,
    fix: 'Add `messages` (or the `body.<field>` that carries the prompt) to `key`, or every request with the same key fields gets the first cached answer.',
  },
  SEM_SEMANTIC_CACHE: {
    stage: 'semantic',
    title: 'Semantic cache cannot be used as declared',
    example: `${HEAD}${MOCK}caches:\n  similar: { mode: semantic, ttl: 1h, threshold: 0.9 }\n${CHAT}    cache: similar\n`,
    fix: 'A `mode: semantic` cache needs `embedding:` (a concrete model, not `model: "*"`), keeps its vectors in memory (no `store: redis`), is always per tenant (no `shared: true`), and compares the prompt by embedding (so `messages` is not in its `key`). The semantic-only fields (`embedding`, `threshold`, `dimensions`, `embeddingTimeout`) mean nothing to an `exact` cache.',
  },
  SEM_CACHE_LAYERS: {
    stage: 'semantic',
    title: 'Route cache layers are not one exact cache then one semantic cache',
    example: `${HEAD}${MOCK}  embed: { provider: demo, model: e }\ncaches:\n  faq: { mode: exact, ttl: 1h }\n  similar: { mode: semantic, ttl: 1h, embedding: embed }\n${CHAT}    cache: [similar, faq]\n`,
    fix: 'List at most one `exact` cache and at most one `semantic` cache, the exact one first: `cache: [faq, similar]`.',
  },
  SEM_BAD_API_KEY: {
    stage: 'semantic',
    title: 'API key (tenant key or provider `apiKey`) contains whitespace',
    example: `${HEAD}${MOCK}tenants:\n  acme: { keys: ["sk acme"] }\n${CHAT}`,
    fix: 'Remove the spaces, tabs or line breaks from the key: a client cannot send them in a bearer token, so the key can never authenticate.',
  },
  SEM_DUPLICATE_TENANT_KEY: {
    stage: 'semantic',
    title: 'Two tenants share an API key',
    example: `${HEAD}${MOCK}tenants:\n  acme: { keys: [k-123] }\n  globex: { keys: [k-123] }\n${CHAT}`,
    fix: 'Give each tenant its own keys: a key must identify exactly one tenant (the key itself is never printed).',
  },
  SEM_EMPTY_TENANT_KEY: {
    stage: 'semantic',
    title: 'Tenant API key is blank',
    example: `${HEAD}${MOCK}tenants:\n  acme: { keys: ["   "] }\n${CHAT}`,
    fix: 'Set the key (usually an environment variable) to a non-blank value; a blank bearer key can never be sent.',
  },
  SEM_PREFILL_CONTINUE: {
    stage: 'semantic',
    title: '`midStream: continue` with no target that accepts a prefill',
    example: `${HEAD}${MOCK}  strong: { provider: demo, model: m2 }\nroutes:\n  - name: chat\n    targets: [fast, strong]\n    stream: { midStream: continue }\n`,
    fix: 'Declare `capabilities: { prefill: true }` on a fallback model that accepts an assistant prefill, or use `midStream: error`.',
  },
  SEM_GUARDRAIL_MODE: {
    stage: 'semantic',
    title: 'Guardrail settings that cannot work together',
    example: `${HEAD}${MOCK}guardrails:\n  triage: { stage: input, kind: jsonSchema, action: block, schema: { type: object } }\n${CHAT}    guardrails: [triage]\n`,
    fix: 'Follow the message: `fallback`, `streaming` and `jsonSchema` belong to output guardrails, `scope` to input ones; a length or schema check cannot redact; a check that needs the whole answer cannot `scan`.',
  },
  SEM_UNSAFE_REGEX: {
    stage: 'semantic',
    title: 'Guardrail pattern can backtrack catastrophically (ReDoS)',
    example: `${HEAD}${MOCK}guardrails:\n  secrets: { stage: input, kind: regex, deny: ["(a+)+$"], action: block }\n${CHAT}    guardrails: [secrets]\n`,
    fix: 'Rewrite the pattern without nested or overlapping repetition (`(a+)+`, `(a|a)*`), e.g. with a bounded repeat `{1,64}` or a more specific class; every request would run it.',
  },
  SEM_GUARDRAIL_FILE: {
    stage: 'semantic',
    title: 'A file a guardrail names cannot be used',
    example: `${HEAD}${MOCK}guardrails:\n  words: { stage: input, kind: keywords, file: ./missing-terms.txt, action: block }\n${CHAT}    guardrails: [words]\n`,
    fix: 'Put the file beside the policy file that names it (paths are relative to that file), readable, under 5 MiB; a keywords file needs at least one term, a schema file must be JSON.',
  },
  SEM_GUARDRAIL_SCHEMA: {
    stage: 'semantic',
    title: 'A JSON Schema guardrail schema does not compile',
    example: `${HEAD}${MOCK}guardrails:\n  triage: { stage: output, kind: jsonSchema, action: block, schema: { type: objectt } }\n${CHAT}    guardrails: [triage]\n`,
    fix: 'Fix the schema (JSON Schema 2020-12) as the message says.',
  },
  SEM_GUARDRAIL_SKIP: {
    stage: 'semantic',
    title: 'A route skips a guardrail the defaults do not apply',
    example: `${HEAD}${MOCK}guardrails:\n  pii: { stage: input, kind: pii, entities: [email], action: redact }\n${CHAT}    guardrails: [pii]\n    skipGuardrails: [pii]\n`,
    fix: 'Name in `skipGuardrails` only guardrails of `defaults.guardrails`, or remove the entry.',
  },
  SEM_ACCOUNTING_HEADER: {
    stage: 'semantic',
    title: 'Spend is attributed to a credential header',
    example: `${HEAD}${MOCK}${CHAT}accounting:\n  attribute: [metadata.feature, header.x-api-key]\n`,
    fix: 'Remove the header from `accounting.attribute`: its values would become metric labels, `/admin/spend` rows and recording fields. Spend is already split by tenant (the name a key resolves to); attribute by a tenant label (`label.<key>`) or a metadata key instead.',
  },
  SEM_PROMPT_CACHE_NO_EFFECT: {
    stage: 'semantic',
    title: 'A route asks for prompt caching none of its targets takes',
    example: `${HEAD}${MOCK}${CHAT}    promptCache: true\n`,
    fix: 'Remove `promptCache` from the route, or add an Anthropic target: only Anthropic takes explicit cache markers (`cache_control`); OpenAI caches long prompt prefixes without one, and its cached tokens are priced at `price.cachedInput` either way.',
  },
  SEM_RECORDING_HEADER: {
    stage: 'semantic',
    title: 'A recorded header carries credentials',
    example: `${HEAD}${MOCK}${CHAT}recording:\n  path: traffic.jsonl\n  headers: [x-team, authorization]\n`,
    fix: 'Remove the header from `recording.headers`: recordings never hold credentials (`authorization`, cookies, or a name with `auth`, `api-key`, `token`, `secret`, `password` or `session`), so it would never be written. The tenant a key resolves to is recorded by name.',
  },
  SEM_RECORDING_PATH: {
    stage: 'semantic',
    title: 'The recording path cannot be a recording file',
    example: `${HEAD}${MOCK}${CHAT}recording: { path: traffic.yaml }\n`,
    fix: 'Name a file to append to, ending in `.jsonl` (not `.yaml` or `.yml`, which a policy directory would load as a fragment, and not a directory).',
  },
  SEM_NOT_SUPPORTED: {
    stage: 'semantic',
    title: 'Language feature not supported yet',
    example: `${HEAD}providers:\n  demo: { kind: mock }\nmodels:\n  fast: { provider: demo, model: m, timeout: { total: 30s } }\n${CHAT}`,
    fix: 'Remove the key: this version of the engine does not enforce it, and a rule that is accepted but ignored would be misleading.',
  },
  SEM_JOBS_CONCURRENCY: {
    stage: 'semantic',
    title: 'Job concurrency can take every upstream connection of a provider',
    example: `${HEAD}providers:\n  small: { kind: openai, baseUrl: "http://127.0.0.1:8000/v1", connections: 4 }\nmodels:\n  fast: { provider: small, model: m }\njobs: { concurrency: 4 }\n${CHAT}`,
    fix: "Lower `jobs.concurrency` below the provider's `connections` (or raise `connections`), so that interactive requests still find a free connection while a batch runs.",
  },
  SEM_NATIVE_BATCH_NO_PROVIDER: {
    stage: 'semantic',
    title: 'A route asks for native batches none of its targets offers',
    example: `${HEAD}providers:\n  azure: { kind: openai, baseUrl: "https://x.openai.azure.com", azure: { apiVersion: "2024-10-21" } }\nmodels:\n  fast: { provider: azure, model: m }\nroutes:\n  - name: chat\n    targets: [fast]\n    batch: { native: true }\n`,
    fix: "Add a target whose provider has a native batch API (OpenAI's own or another OpenAI-compatible server without `azure`, Anthropic, or a mock), or remove `batch` from the route: its batch lines then run as ordinary requests.",
  },
  SEM_NATIVE_BATCH_NO_PRICE: {
    stage: 'semantic',
    title: 'Answers of native batches would be priced at the full price',
    example: `${HEAD}providers:\n  demo: { kind: mock }\nmodels:\n  fast: { provider: demo, model: m, price: { input: 1, output: 2 } }\nroutes:\n  - name: chat\n    targets: [fast]\n    batch: { native: true }\n`,
    fix: "Declare the model's `batchPrice` (OpenAI and Anthropic charge about half of `price` for batch requests), so the cost and budgets of the lines answered natively are counted at what the provider charges.",
  },
};
