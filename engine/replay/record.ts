/**
 * Recording (docs/design.md §3): one JSON line per request — the policy version, the normalised
 * request, the decision, every attempt with its status, timings and usage, the outcome — written
 * off the request path and flushed on shutdown. The file is `replay`'s input (§4); its format is
 * `schemas/recorded-traffic.schema.json`.
 *
 * Secrets never reach the file: request headers pass an allow-list (credential headers are
 * refused even when configured), the tenant is its name (never its key), provider keys are not
 * part of any recorded value, and credential-like body keys are removed.
 */

import type { CompiledRecording } from '../compile/compile.js';
import type { GuardrailVerdict } from '../guardrails/index.js';
import { type Clock, systemClock } from '../shared/clock.js';
import { isCredentialHeaderName } from '../shared/secrets.js';
import type {
  ApiEndpoint,
  AttemptRecord,
  ClassResult,
  Decision,
  PolicyIdentity,
  RequestContext,
  ResponseMeta,
  Usage,
} from '../types.js';
import { type ContentMode, recordBody } from './content.js';
import { JsonlWriter, type Rotation } from './jsonl-writer.js';

export { CONTENT_MODES, type ContentMode, hashText, recordBody } from './content.js';
export type { Rotation } from './jsonl-writer.js';

/** The recording format version written in every line's `v`. */
export const RECORDING_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// The line format

export interface RecordedRequest {
  readonly path: string;
  readonly endpoint: ApiEndpoint;
  readonly model: string;
  readonly stream: boolean;
  readonly tools: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly metadata: Readonly<Record<string, string>>;
  readonly seed: number;
  readonly inputTokens: number;
  readonly inputChars: number;
  readonly content: ContentMode;
  readonly body: Readonly<Record<string, unknown>>;
}

export interface RecordedDecision {
  readonly route: string | null;
  readonly targets: readonly string[];
  readonly noRoute?: { readonly status: number; readonly code: string };
}

export interface RecordedOutcome {
  readonly status: number;
  readonly kind: 'json' | 'stream';
  readonly target: string | null;
  readonly errorCode?: string;
  readonly usage: Usage | null;
  readonly costUsd: number | null;
  readonly cache: 'hit' | 'miss' | 'bypass' | null;
  /** The policy's `accounting.attribute` fields → the bucket the cost was counted under. */
  readonly attribution?: Readonly<Record<string, string>>;
  /** A semantic cache hit's similarity; absent otherwise (and in older lines). */
  readonly cacheSimilarity?: number;
  /**
   * With `cacheSimilarity`: the request id of the request whose answer the semantic cache entry
   * stored (replay reproduces the hit from the pair); absent otherwise (and in older lines).
   */
  readonly cacheSource?: string;
  /** The prompt tokens of the semantic cache's embedding call for the request; absent otherwise. */
  readonly cacheEmbeddingTokens?: number;
}

/**
 * What a rate limit or budget did to the request: refused it (`rate_limited`,
 * `budget_exceeded`), moved it to a budget's `downgradeTo` targets (`downgraded`), or skipped one
 * target (`target_rate_limited`, `target_over_budget`, with `target` set).
 */
export interface RecordedLimit {
  readonly kind:
    | 'rate_limited'
    | 'budget_exceeded'
    | 'downgraded'
    | 'target_rate_limited'
    | 'target_over_budget';
  /** The target skipped, for the per-target kinds; null otherwise. */
  readonly target: string | null;
  /** The refusing limits, or the budget. */
  readonly rules: readonly string[];
  /** Milliseconds until a retry could succeed; null when unknown or not a refusal. */
  readonly retryAfterMs: number | null;
  /** A shared store's failure decided it (`onStoreError: closed`). */
  readonly degraded: boolean;
}

/**
 * One line of a recording; `schemas/recorded-traffic.schema.json` is its contract. Fields added
 * after the first release of format 1 are optional (`limits`), so every older line still reads.
 */
export interface RecordedLine {
  readonly v: 1;
  /** ISO 8601 UTC time the request arrived. */
  readonly time: string;
  readonly requestId: string;
  readonly policy: PolicyIdentity;
  readonly tenant: string | null;
  readonly request: RecordedRequest;
  readonly decision: RecordedDecision;
  readonly attempts: readonly AttemptRecord[];
  readonly outcome: RecordedOutcome;
  /** The guardrails' verdicts (absent when the route has none). */
  readonly guardrails?: readonly GuardrailVerdict[];
  /** What the route's limits and budgets did (absent when none acted: admitted as planned). */
  readonly limits?: readonly RecordedLimit[];
  /** What the classifiers said (absent when none ran); replay gives these labels back. */
  readonly classes?: readonly ClassResult[];
  readonly durationMs: number;
  readonly overheadMs: number;
}

/** What the server hands the recorder once a request has ended (a stream: once it is done). */
export interface RecordInput {
  readonly requestId: string;
  readonly context: RequestContext;
  /** Null when the request was refused before `decide` (authentication, validation). */
  readonly decision: Decision | null;
  /** The final metadata (for a stream, what `done` resolved with). */
  readonly meta: ResponseMeta;
  /** The status answered to the caller. */
  readonly status: number;
  readonly kind: 'json' | 'stream';
  readonly errorCode?: string;
  /** What the route's guardrails decided. */
  readonly guardrails?: readonly GuardrailVerdict[];
  /** What the route's limits and budgets did, in order (the runtime's limit events). */
  readonly limits?: readonly RecordedLimit[];
  /** What the classifiers said, in the order they were needed. */
  readonly classes?: readonly ClassResult[];
  /**
   * The `recording` block of the policy version the request ran under (null: none). A recorder
   * that follows the policy (`createPolicyRecorder`) writes the line as it says; a recorder made
   * with fixed settings (`createRecorder`) ignores it.
   */
  readonly recording?: CompiledRecording | null;
  /** Arrival time in milliseconds since the Unix epoch, on the recorder's clock (`clock.now()`). */
  readonly startedAt: number;
  readonly durationMs: number;
}

// ---------------------------------------------------------------------------------------------
// Mapping a request to its line

/** Headers recorded by default: what replay needs to reproduce a decision, nothing secret. */
export const DEFAULT_RECORDED_HEADERS: readonly string[] = [
  'x-request-id',
  'x-switchyard-metadata',
  'x-switchyard-seed',
  'content-type',
  'user-agent',
];

/** The header names a recorder keeps: the defaults plus `extra`, credentials removed. */
export function recordedHeaderNames(extra: readonly string[] = []): ReadonlySet<string> {
  const names = new Set<string>();
  for (const raw of [...DEFAULT_RECORDED_HEADERS, ...extra]) {
    const name = raw.toLowerCase();
    if (!isCredentialHeaderName(name)) names.add(name);
  }
  return names;
}

export interface RecordLineOptions {
  readonly content: ContentMode;
  /** From {@link recordedHeaderNames}; defaults to the default allow-list. */
  readonly headers?: ReadonlySet<string>;
  /** Gives the time when `startedAt` is not an epoch time; defaults to the system clock. */
  readonly clock?: Clock;
}

const DEFAULT_HEADER_NAMES = recordedHeaderNames();
/** 2000-01-01: anything earlier is a monotonic reading, not an epoch time. */
const EPOCH_FLOOR_MS = 946_684_800_000;

/** Milliseconds rounded to the microsecond; non-finite or negative values become 0. */
function ms(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.round(n * 1000) / 1000 : 0;
}

/**
 * ISO 8601 UTC with milliseconds, and microseconds when the time has them: requests arriving
 * within one millisecond keep their order for replay.
 */
function isoTime(ms: number): string {
  const whole = Math.floor(ms);
  const iso = new Date(whole).toISOString();
  const micros = Math.floor((ms - whole) * 1000);
  return micros === 0 ? iso : `${iso.slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

function msOrNull(n: number | null): number | null {
  return n === null ? null : ms(n);
}

function copyUsage(u: Usage | null): Usage | null {
  if (u === null) return null;
  const out: { -readonly [K in keyof Usage]: Usage[K] } = {
    promptTokens: u.promptTokens,
    completionTokens: u.completionTokens,
    totalTokens: u.totalTokens,
  };
  // Kept so that a replay prices the prompt cache's reads and writes as the recorded run did.
  if (u.cachedTokens !== undefined) out.cachedTokens = u.cachedTokens;
  if (u.cacheWriteTokens !== undefined) out.cacheWriteTokens = u.cacheWriteTokens;
  return out;
}

function copyAttempt(a: AttemptRecord): AttemptRecord {
  return {
    target: a.target,
    upstreamModel: a.upstreamModel,
    outcome: a.outcome,
    status: a.status,
    startedAtMs: ms(a.startedAtMs),
    durationMs: ms(a.durationMs),
    firstByteMs: msOrNull(a.firstByteMs),
    firstTokenMs: msOrNull(a.firstTokenMs),
    usage: copyUsage(a.usage),
  };
}

function copyLimit(l: RecordedLimit): RecordedLimit {
  return {
    kind: l.kind,
    target: l.target,
    rules: [...l.rules],
    retryAfterMs: l.retryAfterMs === null ? null : ms(l.retryAfterMs),
    degraded: l.degraded,
  };
}

function recordDecision(decision: Decision | null): RecordedDecision {
  if (decision === null) return { route: null, targets: [] };
  if (decision.kind === 'no_route') {
    return { route: null, targets: [], noRoute: { status: decision.status, code: decision.code } };
  }
  return { route: decision.route, targets: decision.targets.map((t) => t.name) };
}

function pickHeaders(
  headers: Readonly<Record<string, string>>,
  names: ReadonlySet<string>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = headers[name];
    if (typeof v === 'string') out[name] = v;
  }
  return out;
}

/**
 * The line recorded for a request: a pure function of its input (and, for the time only when
 * `startedAt` is no epoch time, of the clock).
 *
 * @example
 * const line = toRecordedLine(input, { content: 'hash' });
 * line.request.body.messages; // roles kept, contents `sha256:…`
 */
export function toRecordedLine(entry: RecordInput, options: RecordLineOptions): RecordedLine {
  const { context: ctx, meta } = entry;
  const startedAt =
    Number.isFinite(entry.startedAt) && entry.startedAt >= EPOCH_FLOOR_MS
      ? entry.startedAt
      : (options.clock ?? systemClock).now() - ms(entry.durationMs);
  const outcome: RecordedOutcome = {
    status: entry.status,
    kind: entry.kind,
    target: meta.target,
    ...(entry.errorCode === undefined ? {} : { errorCode: entry.errorCode }),
    usage: copyUsage(meta.usage),
    costUsd: meta.costUsd,
    cache: meta.cache,
    ...(meta.attribution === undefined ? {} : { attribution: { ...meta.attribution } }),
    ...(meta.cacheSimilarity === undefined ? {} : { cacheSimilarity: meta.cacheSimilarity }),
    ...(meta.cacheSource === undefined ? {} : { cacheSource: meta.cacheSource }),
    ...(meta.cacheEmbeddingTokens === undefined ? {} : { cacheEmbeddingTokens: meta.cacheEmbeddingTokens }),
  };
  return {
    v: RECORDING_VERSION,
    time: isoTime(startedAt),
    requestId: entry.requestId,
    policy: { name: meta.policy.name, version: meta.policy.version, hash: meta.policy.hash },
    tenant: ctx.tenant,
    request: {
      path: ctx.path,
      endpoint: ctx.endpoint,
      model: ctx.model,
      stream: ctx.stream,
      tools: ctx.tools,
      headers: pickHeaders(ctx.headers, options.headers ?? DEFAULT_HEADER_NAMES),
      metadata: { ...ctx.metadata },
      seed: ctx.seed,
      inputTokens: ctx.inputTokens,
      inputChars: ctx.inputChars,
      content: options.content,
      body: recordBody(ctx.body, options.content),
    },
    decision: recordDecision(entry.decision),
    attempts: meta.attempts.map(copyAttempt),
    outcome,
    ...(entry.guardrails === undefined || entry.guardrails.length === 0
      ? {}
      : { guardrails: entry.guardrails.map((v) => ({ ...v, found: [...v.found] })) }),
    ...(entry.limits === undefined || entry.limits.length === 0
      ? {}
      : { limits: entry.limits.map(copyLimit) }),
    ...(entry.classes === undefined || entry.classes.length === 0
      ? {}
      : { classes: entry.classes.map((c) => ({ ...c })) }),
    durationMs: ms(entry.durationMs),
    overheadMs: ms(meta.overheadMs),
  };
}

// ---------------------------------------------------------------------------------------------
// The recorder

/**
 * Serialises `entry` and queues it on `writer`; a line the writer would refuse is not serialised.
 * Never throws: a failure drops the line (counted) and is reported.
 */
export function enqueueLine(
  writer: JsonlWriter,
  entry: RecordInput,
  lineOptions: RecordLineOptions,
  onError: (err: unknown) => void,
): void {
  try {
    // Checked first so that a full queue costs no serialisation.
    if (!writer.accepting()) {
      writer.drop(1);
      return;
    }
    writer.enqueue(JSON.stringify(toRecordedLine(entry, lineOptions)));
  } catch (err) {
    writer.drop(1);
    try {
      onError(err);
    } catch {
      // The callback failing must not reach the request path either.
    }
  }
}

export interface RecorderOptions {
  /** The JSONL file, appended to (created when missing). */
  readonly path: string;
  readonly content: ContentMode;
  /** Most lines held in memory waiting for the disk; beyond, lines are dropped. Default 10,000. */
  readonly maxQueue?: number;
  /** Most characters held in memory waiting for the disk. Default 64 Mi. */
  readonly maxQueueChars?: number;
  /** Request headers to record besides {@link DEFAULT_RECORDED_HEADERS} (credentials are refused). */
  readonly headers?: readonly string[];
  /** After a failed open or write, lines are dropped for this long, then the file is reopened. Default 5 s. */
  readonly retryAfterMs?: number;
  readonly clock?: Clock;
  /** A failed open, write or serialisation. Default: ignored (the drop is still counted). */
  readonly onError?: (err: unknown) => void;
  /** Lines just dropped (queue full, closed, I/O failure): feed a counter. */
  readonly onDrop?: (count: number) => void;
  /** Rotate the file by size (see `recording.rotate` in the policy); none by default. */
  readonly rotate?: Rotation | null;
}

/** Defaults of the bounded queue between the request path and the disk. */
export const DEFAULT_MAX_QUEUE = 10_000;
export const DEFAULT_MAX_QUEUE_CHARS = 64 * 1024 * 1024;
export const DEFAULT_RETRY_AFTER_MS = 5_000;

export interface RecorderStats {
  readonly written: number;
  readonly dropped: number;
  readonly queued: number;
}

export interface Recorder {
  /**
   * Serialises and queues one request's line. Synchronous, never throws, never waits for the
   * disk: when the queue is full, the recorder closed or the file failing, the line is dropped
   * and counted.
   */
  record(entry: RecordInput): void;
  /** Resolves once every line recorded before the call is written (or dropped). Never rejects. */
  flush(): Promise<void>;
  /** Writes everything queued, then closes the file; later `record` calls drop. Never rejects. */
  close(): Promise<void>;
  stats(): RecorderStats;
}

/**
 * Creates the recorder port: the server calls `record` when a request ends and `close` on
 * shutdown.
 *
 * @example
 * const recorder = createRecorder({ path: 'traffic.jsonl', content: 'hash', onError: (e) => log.warn(e) });
 * recorder.record({ requestId, context, decision, meta, status: 200, kind: 'json', startedAt, durationMs });
 * await recorder.close();
 */
export function createRecorder(options: RecorderOptions): Recorder {
  const clock = options.clock ?? systemClock;
  const onError = options.onError ?? (() => undefined);
  const lineOptions: RecordLineOptions = {
    content: options.content,
    headers: recordedHeaderNames(options.headers),
    clock,
  };
  const writer = new JsonlWriter({
    path: options.path,
    maxQueue: options.maxQueue ?? DEFAULT_MAX_QUEUE,
    maxQueueChars: options.maxQueueChars ?? DEFAULT_MAX_QUEUE_CHARS,
    retryAfterMs: options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS,
    clock,
    onError,
    onDrop: options.onDrop ?? (() => undefined),
    rotate: options.rotate ?? null,
  });
  return {
    record(entry) {
      enqueueLine(writer, entry, lineOptions, onError);
    },
    flush: () => writer.flush(),
    close: () => writer.close(),
    stats: () => writer.stats(),
  };
}

export {
  type LineValidation,
  type ReadRecordingOptions,
  RecordingError,
  type RecordingReader,
  type RecordingWarning,
  readRecording,
  validateRecordedLine,
} from './read.js';
