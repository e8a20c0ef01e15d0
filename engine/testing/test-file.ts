/** The shape of a policy test file (`*.test.yaml`), checked with zod; see `policy-tests.ts`. */
import { z } from 'zod';

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

const Outcomes = z.array(z.enum(OUTCOMES)).min(1);
const TargetScript = z.union([
  Outcomes,
  z.strictObject({
    outcomes: Outcomes.optional(),
    reply: z.string().optional(),
    latency: z.string().optional(),
  }),
]);

const Case = z.strictObject({
  name: z.string().min(1),
  request: z.strictObject({
    model: z.string().optional(),
    content: z.string().optional(),
    messages: z.array(z.record(z.string(), z.unknown())).optional(),
    stream: z.boolean().optional(),
    tenant: z.string().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    path: z.string().optional(),
    body: z.record(z.string(), z.unknown()).optional(),
  }),
  targets: z.record(z.string(), TargetScript).optional(),
  /** Classifier → label: the case states the classification instead of running the classifier. */
  classes: z.record(z.string(), z.string()).optional(),
  repeat: z.number().int().min(1).max(10_000).optional(),
  every: z.string().optional(),
  expect: z.strictObject({
    status: z.number().int().optional(),
    route: z.string().nullable().optional(),
    target: z.string().nullable().optional(),
    attempts: z.array(z.string()).optional(),
    code: z.string().nullable().optional(),
    cache: z.enum(['hit', 'miss', 'bypass']).nullable().optional(),
    guardrails: z.record(z.string(), z.string()).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    content: z.string().optional(),
    /** Classifier → the label it gave (null: it did not run). */
    classes: z.record(z.string(), z.string().nullable()).optional(),
  }),
});

export const TestFile = z.strictObject({ policy: z.string().optional(), tests: z.array(Case).min(1) });

export type PolicyTestCase = z.infer<typeof Case>;
