/**
 * Builders for the execute stage's inputs: targets, route decisions and request contexts with
 * the compile defaults of docs/design.md §2, overridable per test.
 */
import { createExecutor, type Executor } from '../../engine/runtime/attempts/index.js';
import type { RetryBudgetSettings } from '../../engine/runtime/retry-budget.js';
import { VirtualClock } from '../../engine/shared/virtual-clock.js';
import type {
  AttemptRecord,
  BreakerSettings,
  Decision,
  ErrorClass,
  PlanNode,
  RequestContext,
  ResolvedTarget,
  RetrySettings,
  TimeoutSettings,
} from '../../engine/types.js';
import { ERROR_CLASSES } from '../../engine/types.js';
import { type SimOutcome, SimulatedProvider } from './simulated-provider.js';

export type RouteDecision = Extract<Decision, { kind: 'route' }>;

export const DEFAULT_RETRY_ON: readonly ErrorClass[] = [
  'connect',
  'rate_limited',
  'overloaded',
  'server_error',
];

/** Every class except the request's own faults (and `auth`) falls over by default. */
export const DEFAULT_FALLBACK_ON: readonly ErrorClass[] = ERROR_CLASSES.filter(
  (c) => c !== 'bad_request' && c !== 'content_policy' && c !== 'auth',
);

export const DEFAULT_TIMEOUT: TimeoutSettings = {
  connectMs: 2_000,
  firstTokenMs: 15_000,
  idleMs: 10_000,
  totalMs: 60_000,
};

export const DEFAULT_RETRY: RetrySettings = {
  attempts: 2,
  backoff: { initialMs: 250, maxMs: 8_000, multiplier: 2, jitter: 'full' },
  respectRetryAfterMs: 30_000,
  retryOn: DEFAULT_RETRY_ON,
  fallbackOn: DEFAULT_FALLBACK_ON,
};

export const DEFAULT_BREAKER: BreakerSettings = { failures: 5, windowMs: 30_000, cooldownMs: 30_000 };

export interface TargetOverrides {
  readonly provider?: string;
  readonly upstreamModel?: string;
  readonly price?: ResolvedTarget['price'];
  readonly context?: number | null;
  readonly prefill?: boolean;
  readonly retry?: Partial<RetrySettings>;
  readonly timeout?: Partial<TimeoutSettings>;
  readonly breaker?: Partial<BreakerSettings>;
}

/** A target named `name`, served by provider `sim`, upstream model = name. */
export function makeTarget(name: string, o: TargetOverrides = {}): ResolvedTarget {
  return {
    name,
    provider: o.provider ?? 'sim',
    upstreamModel: o.upstreamModel ?? name,
    price: o.price === undefined ? { input: 1, output: 2 } : o.price,
    context: o.context === undefined ? 128_000 : o.context,
    capabilities: { prefill: o.prefill ?? false, tools: true, vision: false },
    retry: { ...DEFAULT_RETRY, ...o.retry },
    timeout: { ...DEFAULT_TIMEOUT, ...o.timeout },
    breaker: { ...DEFAULT_BREAKER, ...o.breaker },
  };
}

export interface DecisionOverrides {
  readonly route?: string;
  readonly plan?: PlanNode;
  readonly timeout?: Partial<TimeoutSettings>;
  readonly maxAttempts?: number;
  readonly midStream?: 'error' | 'continue';
  readonly onExhausted?: RouteDecision['onExhausted'];
}

export function fallbackPlan(targets: readonly ResolvedTarget[]): PlanNode {
  return {
    kind: 'group',
    strategy: 'fallback',
    children: targets.map((target) => ({ kind: 'target', target })),
  };
}

export function flattenPlan(node: PlanNode): ResolvedTarget[] {
  return node.kind === 'target' ? [node.target] : node.children.flatMap(flattenPlan);
}

export function makeDecision(targets: readonly ResolvedTarget[], o: DecisionOverrides = {}): RouteDecision {
  const plan = o.plan ?? fallbackPlan(targets);
  return {
    kind: 'route',
    policy: { name: 'test', version: '1', hash: 'abcdef0123456789' },
    route: o.route ?? 'r',
    routeIndex: 0,
    plan,
    targets: flattenPlan(plan),
    timeout: { ...DEFAULT_TIMEOUT, ...o.timeout },
    maxAttempts: o.maxAttempts ?? 10,
    stream: { midStream: o.midStream ?? 'error' },
    onExhausted: o.onExhausted ?? null,
    limits: [],
    budgets: [],
    cache: null,
    guardrails: [],
    skipped: [],
  };
}

export function makeContext(
  o: { stream?: boolean; includeUsage?: boolean; model?: string } = {},
): RequestContext {
  const body: Record<string, unknown> = {
    model: o.model ?? 'default',
    messages: [{ role: 'user', content: 'hi' }],
  };
  if (o.stream) body.stream = true;
  if (o.includeUsage) body.stream_options = { include_usage: true };
  return {
    path: '/v1/chat/completions',
    endpoint: 'chat',
    model: o.model ?? 'default',
    body,
    headers: {},
    tenant: null,
    labels: {},
    metadata: {},
    stream: o.stream ?? false,
    tools: false,
    inputTokens: 10,
    inputChars: 2,
    seed: 1,
  };
}

// ---------------------------------------------------------------------------------------------
// A harness: executor + simulated provider `sim` on an auto-advancing virtual clock.

export interface Harness {
  readonly clock: VirtualClock;
  readonly sim: SimulatedProvider;
  readonly executor: Executor;
  readonly attempts: AttemptRecord[];
}

export interface HarnessOptions {
  readonly script?: Readonly<Record<string, readonly SimOutcome[]>>;
  readonly random?: () => number;
  readonly retryBudget?: Partial<RetryBudgetSettings>;
  readonly start?: number;
}

export function createHarness(o: HarnessOptions = {}): Harness {
  const clock = new VirtualClock({ auto: true, start: o.start ?? 0 });
  const sim = new SimulatedProvider({ clock, script: o.script });
  const attempts: AttemptRecord[] = [];
  const executor = createExecutor({
    providers: new Map([['sim', sim]]),
    clock,
    random: o.random ?? (() => 0.5),
    onAttempt: (a) => attempts.push(a),
    retryBudget: o.retryBudget,
  });
  return { clock, sim, executor, attempts };
}

/** Reads every SSE frame of a stream response. */
export async function readEvents(events: AsyncIterable<string>): Promise<string[]> {
  const frames: string[] = [];
  for await (const frame of events) frames.push(frame);
  return frames;
}

/** The concatenated `delta.content` of SSE frames. */
export function streamedText(frames: readonly string[]): string {
  let text = '';
  for (const frame of frames) {
    if (!frame.startsWith('data: {')) continue;
    const payload: unknown = JSON.parse(frame.slice(6));
    if (typeof payload !== 'object' || payload === null || !('choices' in payload)) continue;
    const choices = (payload as { choices: { delta?: { content?: unknown } }[] }).choices;
    for (const c of choices) if (typeof c.delta?.content === 'string') text += c.delta.content;
  }
  return text;
}
