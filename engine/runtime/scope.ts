/**
 * The per-request scope: created once when a request enters the pipeline and settled once when
 * its answer is complete (a JSON answer at once, a stream when it ends, an exception when it is
 * thrown). It carries what the stages share — the policy snapshot the request started with, its
 * context and decision, the deadline, the abort signal, the headers every answer carries — and
 * the *holds*: what a stage reserved (a rate-limit token reservation, a budget's spend key, a
 * cache's single-flight slot) and must release or reconcile. Every hold is settled exactly once,
 * in `settle`, whatever the exit: success, error, client abort, shutdown or timeout.
 */
import { randomUUID } from 'node:crypto';
import type { CompiledPolicy, CompiledRoute } from '../compile/compile.js';
import type { GuardrailVerdict } from '../guardrails/index.js';
import type { Provider } from '../providers/types.js';
import type { ClassResult, Decision, RequestContext, RequestInput, ResponseMeta } from '../types.js';
import type { RouteDecision, TargetGate } from './attempts/index.js';
import type { RequestTrace } from './tracing.js';
import type { CacheOutcome, LimitEvent, TrafficSnapshot } from './traffic-state.js';

/** One policy version with what serves it; a request keeps the one it started with (P13). */
export interface Snapshot {
  readonly policy: CompiledPolicy;
  readonly providers: ReadonlyMap<string, Provider>;
  readonly traffic: TrafficSnapshot | null;
}

/**
 * Something a stage holds until the request's answer is complete. `meta` is the final metadata,
 * or null when the request ended by an exception (nothing was answered).
 */
export interface Hold {
  settle(meta: ResponseMeta | null): void | Promise<void>;
}

export class RequestScope {
  /** Set by the resolve stage; null when the request was refused before (a malformed body). */
  context: RequestContext | null = null;
  /** What `decide` chose (a route or a refusal); what the recording keeps. */
  decision: Decision | null = null;
  /** The route decision the attempt loop runs: `decision`, or a budget's downgrade of it. */
  routed: RouteDecision | null = null;
  route: CompiledRoute | null = null;
  /** The per-attempt check of the route's rules keyed on `target` (admission stage). */
  gate: TargetGate | undefined = undefined;
  /** The cache's outcome for a route with a cache. */
  cache: CacheOutcome | null = null;
  /** Set when a semantic cache served the answer: the similarity of the prompts. */
  cacheSimilarity: number | null = null;
  /** Set with `cacheSimilarity`: the request id of the request whose answer the entry stored. */
  cacheSource: string | null = null;
  /** The prompt tokens a semantic cache's embedding call reported for this request, when it did. */
  cacheEmbeddingTokens: number | null = null;
  #requestId: string | null = null;
  /**
   * Cost of calls the gateway made for this request besides its attempts (the classifiers' calls,
   * a semantic cache's embedding), in USD; added to the answer's cost (stage `accounting`), so
   * budgets and the recording count it.
   */
  extraCostUsd = 0;
  /** Headers every answer of this request carries (rate-limit state, cache outcome, downgrade). */
  headers: Record<string, string> | null = null;
  /** What the guardrails decided, input and output, shadow ones included (for the recording). */
  verdicts: GuardrailVerdict[] | null = null;
  /** What the route's limits and budgets did: refusals, a downgrade, skipped targets (for the recording). */
  limits: LimitEvent[] | null = null;
  /** What the classifiers said (stage `resolve`), for the recording; null when none ran. */
  classes: readonly ClassResult[] | null = null;
  /** The request's trace span context (stage `trace`); null when the request is not traced. */
  trace: RequestTrace | null = null;
  #holds: Hold[] | null = null;
  #settled: Promise<void> | null = null;

  constructor(
    readonly input: RequestInput,
    readonly snapshot: Snapshot,
    /** Clock time the request entered the pipeline. */
    readonly startedAt: number,
  ) {}

  /**
   * The request's id: the caller's (`input.requestId`), else its `x-request-id` header, else a
   * random UUID made on first use; the same for every stage that asks (the recording, the
   * semantic cache naming an entry's source).
   */
  get requestId(): string {
    this.#requestId ??= this.input.requestId ?? this.context?.headers['x-request-id'] ?? randomUUID();
    return this.#requestId;
  }

  /**
   * The caller's AbortSignal; with an `input.cancel`, the cancellation's (made on first read: read
   * it only to hand it to an API that needs one, and `aborted` to ask).
   */
  get signal(): AbortSignal | undefined {
    return this.input.signal ?? this.input.cancel?.signal;
  }

  /** Whether the caller aborted, without making a signal. */
  get aborted(): boolean {
    const cancel = this.input.cancel;
    return cancel !== undefined ? cancel.aborted : this.input.signal?.aborted === true;
  }

  get policy(): CompiledPolicy {
    return this.snapshot.policy;
  }

  setHeader(name: string, value: string): void {
    this.headers ??= {};
    this.headers[name] = value;
  }

  addVerdict(verdict: GuardrailVerdict): void {
    this.verdicts ??= [];
    this.verdicts.push(verdict);
  }

  addLimit(event: LimitEvent): void {
    this.limits ??= [];
    this.limits.push(event);
  }

  /** Registers a hold; settled with the request's final metadata, once. */
  hold(hold: Hold): void {
    this.#holds ??= [];
    this.#holds.push(hold);
  }

  /** Whether the accounting stage has anything to add or settle. */
  get plain(): boolean {
    return this.#holds === null && this.headers === null && this.cache === null && this.extraCostUsd === 0;
  }

  /**
   * Settles every hold once (later calls return the first settlement). A hold that fails does
   * not keep the others from settling; none of them can change the answer.
   */
  settle(meta: ResponseMeta | null): Promise<void> {
    if (this.#settled !== null) return this.#settled;
    const holds = this.#holds;
    this.#holds = null;
    if (holds === null) {
      this.#settled = Promise.resolve();
      return this.#settled;
    }
    const work: Promise<unknown>[] = [];
    for (const hold of holds) {
      try {
        const settled = hold.settle(meta);
        if (settled !== undefined) work.push(settled);
      } catch {
        // Accounting must not change the request's outcome.
      }
    }
    this.#settled = Promise.allSettled(work).then(() => undefined);
    return this.#settled;
  }
}
