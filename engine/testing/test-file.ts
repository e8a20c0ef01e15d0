/** The shape of a policy test file (`*.test.yaml`), checked with zod; see `policy-tests.ts`. */
import { z } from 'zod';
import { CUT_AFTER } from './outcomes.js';

const OUTCOMES = [
  'ok',
  'rate_limited',
  'overloaded',
  'server_error',
  'bad_request',
  'context_length',
  'content_policy',
  'auth',
  'connect',
  'silent',
  'stream_cut',
  'malformed',
] as const;

/** An outcome: the mock's names, `timeout` (the same as `silent`), or `stream_cut after N chunks`. */
const Outcome = z.union([
  z.enum(OUTCOMES),
  z.literal('timeout'),
  z.string().regex(CUT_AFTER, {
    message: 'expected an outcome, e.g. ok, overloaded, timeout, "stream_cut after 3 chunks"',
  }),
]);
const Outcomes = z.array(Outcome).min(1);
const TargetScript = z.union([
  Outcomes,
  z.strictObject({
    outcomes: Outcomes.optional(),
    reply: z.string().optional(),
    latency: z.string().optional(),
  }),
]);

const LIMIT_KINDS = [
  'rate_limited',
  'budget_exceeded',
  'downgraded',
  'target_rate_limited',
  'target_over_budget',
] as const;

/** What the route's limits and budgets did: `none`, a kind, or a kind and the rule that acted. */
const LimitExpectation = z.union([
  z.literal('none'),
  z.enum(LIMIT_KINDS),
  z.strictObject({ kind: z.enum(LIMIT_KINDS), rule: z.string().optional() }),
]);

const Request = z.strictObject({
  model: z.string().optional(),
  content: z.string().optional(),
  messages: z.array(z.record(z.string(), z.unknown())).optional(),
  stream: z.boolean().optional(),
  tenant: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  path: z.string().optional(),
  body: z.record(z.string(), z.unknown()).optional(),
});

const Expect = z.strictObject({
  status: z.number().int().optional(),
  route: z.string().nullable().optional(),
  target: z.string().nullable().optional(),
  attempts: z.array(z.string()).optional(),
  code: z.string().nullable().optional(),
  cache: z.enum(['hit', 'miss', 'bypass']).nullable().optional(),
  limit: LimitExpectation.optional(),
  guardrails: z.record(z.string(), z.string()).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  content: z.string().optional(),
  /** Classifier → the label it gave (null: it did not run). */
  classes: z.record(z.string(), z.string().nullable()).optional(),
});

/**
 * A later step of a case, on the same engine and virtual clock: `wait` moves virtual time first,
 * `request` replaces fields of the case's request, then it is sent (`repeat` times, `every`
 * apart) and the last answer checked against `expect`.
 */
const Step = z.strictObject({
  wait: z.string().optional(),
  request: Request.optional(),
  repeat: z.number().int().min(1).max(10_000).optional(),
  every: z.string().optional(),
  expect: Expect.optional(),
});

const Case = z.strictObject({
  name: z.string().min(1),
  request: Request,
  targets: z.record(z.string(), TargetScript).optional(),
  /** Classifier → label: the case states the classification instead of running the classifier. */
  classes: z.record(z.string(), z.string()).optional(),
  repeat: z.number().int().min(1).max(10_000).optional(),
  every: z.string().optional(),
  expect: Expect,
  steps: z.array(Step).max(1000).optional(),
});

export const TestFile = z.strictObject({ policy: z.string().optional(), tests: z.array(Case).min(1) });

export type PolicyTestCase = z.infer<typeof Case>;
export type PolicyTestStep = z.infer<typeof Step>;
export type PolicyTestExpect = z.infer<typeof Expect>;
export type PolicyTestRequest = z.infer<typeof Request>;
