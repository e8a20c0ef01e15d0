/**
 * The contract between `replayRecording` (which fills a report) and what renders it: the
 * terminal summary, `--json` (schema: `schemas/replay-report.schema.json`), `--html` and the CI
 * gates (`--max-changed`, `--fail-on`). Types only: the replay and each renderer import it, so
 * they can change independently as long as this stays true.
 *
 * Vocabulary:
 * - the *candidate* is the policy under `--policy`;
 * - the *baseline* is what the candidate is compared with: the recorded decisions (default), or
 *   `--baseline <policy>` replayed the same way on the same simulated upstream;
 * - a *side* is the aggregate of one of them over the whole traffic.
 */
import type { ErrorClass } from '../types.js';

/** The report's format version, in its `schema` field. */
export const REPLAY_REPORT_SCHEMA = 'switchyard.replay-report/1' as const;

/** The input formats `replay` reads (detected from the first readable line unless `--format`). */
export type TrafficFormat = 'switchyard' | 'batch' | 'plain';

/** What one request did, on one side. */
export interface ReplayOutcome {
  readonly route: string | null;
  /** The target that served the answer (null when none did). */
  readonly target: string | null;
  readonly status: number;
  /** The catalogue error code when the answer is an error. */
  readonly errorCode: string | null;
  /** Targets attempted, in order. */
  readonly attempts: readonly string[];
  readonly costUsd: number;
  readonly cache: 'hit' | 'miss' | 'bypass' | null;
  /** Refused by a rate or concurrency limit (429 `rate_limited`-like codes). */
  readonly limited: boolean;
  /** Refused by a budget. */
  readonly budgetBlocked: boolean;
  /** Refused by a guardrail (input or output). */
  readonly guardrailBlocked: boolean;
}

/**
 * How a request changed from baseline to candidate; one request may have several kinds.
 * `new_error`: baseline status < 400, candidate ≥ 400. `fixed_error`: the reverse.
 * `cost`: cost differs by more than 1e-9 USD.
 */
export type ChangeKind =
  | 'route'
  | 'target'
  | 'status'
  | 'new_error'
  | 'fixed_error'
  | 'newly_limited'
  | 'newly_blocked'
  | 'cost';

export const CHANGE_KINDS: readonly ChangeKind[] = [
  'route',
  'target',
  'status',
  'new_error',
  'fixed_error',
  'newly_limited',
  'newly_blocked',
  'cost',
];

export interface ReplayChange {
  readonly requestId: string;
  /** 1-based line number in the traffic file. */
  readonly line: number;
  readonly kinds: readonly ChangeKind[];
  readonly before: ReplayOutcome;
  readonly after: ReplayOutcome;
}

/** The aggregate of one side over the whole traffic. */
export interface ReplaySide {
  /** `recording`, or the policy identity `name@version (hash12)`. */
  readonly label: string;
  readonly requests: number;
  readonly routes: Readonly<Record<string, number>>;
  /** Serving targets. */
  readonly targets: Readonly<Record<string, number>>;
  readonly statuses: Readonly<Record<string, number>>;
  /** Answers with status ≥ 400. */
  readonly errors: number;
  /** Requests answered by a target other than the first attempted. */
  readonly fallbacks: number;
  /** Why attempts before the serving one failed, by error class. */
  readonly fallbackCauses: Readonly<Partial<Record<ErrorClass, number>>>;
  readonly cacheLookups: number;
  readonly cacheHits: number;
  readonly limited: number;
  readonly budgetBlocked: number;
  /** Guardrail verdicts as `<guardrail>:<action>` → count. */
  readonly guardrails: Readonly<Record<string, number>>;
  readonly costUsd: number;
}

/** One bucket of the traffic timeline (for charts); bucket width is `timeline.bucketMs`. */
export interface ReplayBucket {
  /** ISO 8601 start of the bucket. */
  readonly start: string;
  readonly requests: number;
  readonly baselineErrors: number;
  readonly candidateErrors: number;
  readonly candidateFallbacks: number;
  readonly candidateLimited: number;
  readonly candidateCacheHits: number;
  readonly changed: number;
}

export interface MalformedLine {
  readonly line: number;
  readonly message: string;
}

export interface ReplayReport {
  readonly schema: typeof REPLAY_REPORT_SCHEMA;
  /** The candidate policy identity `name@version (hash12)`. */
  readonly policy: string;
  readonly traffic: {
    readonly path: string;
    readonly format: TrafficFormat;
    /** ISO 8601 time of the first and last replayed request (null when none). */
    readonly from: string | null;
    readonly to: string | null;
  };
  /** The seed used for requests whose line carries none (plain and batch inputs). */
  readonly seed: number;
  /** The scenario file applied, if any. */
  readonly scenario: string | null;
  /**
   * What the candidate is compared with: the recorded decisions (`recording`, the default for a
   * Switchyard recording), `--baseline` replayed the same way (`policy`), or nothing (`none`: batch
   * and plain traffic without `--baseline`; every replayed request then counts as unchanged).
   * Optional for readers of older reports.
   */
  readonly comparison?: 'recording' | 'policy' | 'none';
  /** The tenant batch and plain requests were sent as (null: none); absent for recordings. */
  readonly tenant?: string | null;
  /** Readable requests: `unchanged + changed + unreplayable = total` (P16). */
  readonly total: number;
  readonly unchanged: number;
  readonly changed: number;
  readonly unreplayable: number;
  /** Why requests were unreplayable, reason → count. */
  readonly unreplayableReasons: Readonly<Record<string, number>>;
  /** Upstream answers reproduced from the recording vs simulated (model statistics or scenario). */
  readonly recordedAnswers: number;
  readonly simulatedAnswers: number;
  /** The same counts for the `--baseline` policy's calls (absent without one). */
  readonly baselineAnswers?: { readonly recorded: number; readonly simulated: number };
  /**
   * Requests replayed later than their recorded arrival: out of order by more than the reorder
   * window (4,096 lines), or held back while 5,000 requests were in flight. 0 for recordings made
   * by `serve --record` under ordinary loads. Optional for readers of older reports.
   */
  readonly lateArrivals?: number;
  readonly baseline: ReplaySide;
  readonly candidate: ReplaySide;
  /** Per kind: how many requests changed that way, and up to 5 example request ids. */
  readonly changeKinds: Readonly<
    Record<ChangeKind, { readonly count: number; readonly examples: readonly string[] }>
  >;
  /** Changed requests in file order, capped at `changesCap` (the counts above are exact). */
  readonly changes: readonly ReplayChange[];
  readonly changesCap: number;
  readonly timeline: { readonly bucketMs: number; readonly buckets: readonly ReplayBucket[] };
  /** Lines that could not be read: counted and reported with their numbers, never a crash. */
  readonly malformed: {
    readonly count: number;
    /** The first `linesCap` of them (1,000), in file order. */
    readonly lines: readonly MalformedLine[];
    readonly linesCap?: number;
  };
  readonly elapsedMs: number;
}

/** Progress as the replay reads the file (the CLI draws a bar from it on a TTY). */
export interface ReplayProgress {
  /**
   * `replay`, or `scan` while the replay waits for a pass over the recording that reads what each
   * model did (once, when a call first needs an answer the recording does not hold). Bytes are
   * those of the replay's own reading: they stand still during a scan, and a bar drawn from them
   * moves once from 0 to 100%. Optional for producers of older reports.
   */
  readonly phase?: 'scan' | 'replay';
  readonly requests: number;
  readonly bytesRead: number;
  readonly bytesTotal: number;
}
