/**
 * The traffic formats `replay` reads, each line turned into one request to replay:
 *
 * - `switchyard`: a recording (`serve --record`, `schemas/recorded-traffic.schema.json`). The
 *   request is rebuilt from its line: path, recorded headers, the recorded seed of weighted
 *   choices, the body, the tenant by name; the recorded attempts and outcome come along (the
 *   simulated upstream and the default baseline read them).
 * - `batch`: an OpenAI Batch API input file, `{"custom_id", "method", "url", "body"}` per line;
 *   `custom_id` is the request id; `url` must be `/v1/chat/completions` or `/v1/embeddings`.
 * - `plain`: one chat-completion (or embeddings) request body per line.
 *
 * Batch and plain lines may carry a top-level `"timestamp"` (ISO 8601, or epoch seconds or
 * milliseconds); a line without one arrives `1 / rate` after the previous line (the first at
 * {@link DEFAULT_START}). Their seed of weighted choices is derived from the run's seed and the
 * line number, so runs are reproducible and both sides of a comparison draw alike.
 *
 * Hashed and dropped message text (recording content modes `hash`, `drop`) is replaced by
 * stand-ins of the recorded length, so the input-token estimate that limits and `when:
 * inputTokens` read is the recorded one: `hash` gets a string of CJK ideographs derived from each
 * hash (equal texts stay equal, so cache keys repeat as they did, and different texts differ but
 * for a 1 in 20,992 chance at one character); `drop` gets one filler of the request's recorded
 * `inputChars`, unique to the request (no cache can hit on it). Input guardrails see these
 * stand-ins, not the text: a recording that hashed or dropped text cannot reproduce their
 * verdicts (see `input_guardrail_content_unavailable`).
 */
import { createHash } from 'node:crypto';
import { fmix32 } from '../compile/random.js';
import { DEFAULT_PATH, SEED_HEADER } from '../context.js';
import { isRecord } from '../shared/guards.js';
import type { AttemptRecord, RefusedCode, RequestInput, Usage } from '../types.js';
import { validateRecordedLine } from './read.js';
import type { RecordedLine } from './record.js';

export const TRAFFIC_FORMATS = ['switchyard', 'batch', 'plain'] as const;
export type TrafficFormatName = (typeof TRAFFIC_FORMATS)[number];

/** When batch and plain traffic without timestamps starts: 2000-01-01T00:00:00Z. */
export const DEFAULT_START = Date.UTC(2000, 0, 1);
/** Requests per second of batch and plain traffic without timestamps, unless `--rate` says. */
export const DEFAULT_RATE_PER_SECOND = 10;

/**
 * Why a request cannot be replayed (the report's `unreplayableReasons` keys):
 * - `unknown_tenant`: its tenant is not one of those a policy of the comparison declares (a policy
 *   that declares none is sent the request without a key);
 * - `output_guardrail_acted`: an output guardrail blocked or rejected the recorded answer, and
 *   recordings keep no answers, so that verdict cannot be re-run;
 * - `input_guardrail_content_unavailable`: an input guardrail blocked the request, but its text
 *   was recorded hashed or dropped, so the guardrail cannot be re-run;
 * - `cache_content_dropped`: a recorded cache hit on a request whose text was dropped;
 * - `unsupported_endpoint`, `unsupported_method`: a batch line for another API than chat
 *   completions or embeddings, or not a POST;
 * - `no_answer`: the request never finished on virtual time (a bug: report it).
 */
export type UnreplayableReason =
  | 'unknown_tenant'
  | 'output_guardrail_acted'
  | 'input_guardrail_content_unavailable'
  | 'cache_content_dropped'
  | 'unsupported_endpoint'
  | 'unsupported_method'
  | 'no_answer';

/** One request to replay, from one line. */
export interface TrafficRequest {
  /** 1-based line number in the file. */
  readonly line: number;
  readonly requestId: string;
  /** Arrival, milliseconds since the epoch. */
  readonly at: number;
  /** The tenant's name (the policy gives its key); null for none. */
  readonly tenant: string | null;
  readonly input: {
    readonly path: string;
    /** Without credentials; the replay adds the tenant's key per policy. */
    readonly headers: Record<string, string>;
    readonly body: unknown;
    readonly refused?: RequestInput['refused'];
    /** A recorded `/v1/responses` or `/v1/messages` request: its body is the chat request it became. */
    readonly internal?: boolean;
    /** The recorded classifications: replay gives them back instead of classifying again. */
    readonly classes?: RequestInput['classes'];
  };
  readonly stream: boolean;
  /** What the recording knows of this request's usage (the prompt is the same whatever the model). */
  readonly usage: Usage | null;
  /** The recorded line (switchyard input); null for batch and plain lines. */
  readonly recorded: RecordedLine | null;
  /** The recorded attempts (empty for batch and plain lines). */
  readonly attempts: readonly AttemptRecord[];
  /** The caller went away this long after arriving, in the recording: the replay aborts it too. */
  readonly abortAfterMs: number | null;
  /** Why it cannot be replayed, when the line alone says so. */
  readonly unreplayable: UnreplayableReason | null;
}

export type ParsedLine =
  | { readonly ok: true; readonly request: TrafficRequest }
  | { readonly ok: false; readonly message: string };

/** The format of a parsed line, or null when it is none of them. */
export function detectFormat(value: unknown): TrafficFormatName | null {
  if (!isRecord(value)) return null;
  if (value.v !== undefined && 'requestId' in value && 'request' in value) return 'switchyard';
  if ('custom_id' in value && 'body' in value) return 'batch';
  if ('messages' in value || 'input' in value || 'model' in value) return 'plain';
  return null;
}

export interface TrafficParserOptions {
  readonly format: TrafficFormatName;
  /** Seeds batch and plain requests' weighted choices (mixed with the line number). */
  readonly seed: number;
  /** Batch and plain lines without a timestamp: requests per second. */
  readonly ratePerSecond: number;
  /** Batch and plain lines: the tenant (by name) they are sent as; null for none. */
  readonly tenant: string | null;
}

/**
 * Milliseconds since the epoch of an ISO 8601 time, with the fraction below the millisecond
 * (`Date.parse` drops it): recordings keep microseconds so that close arrivals keep their order.
 */
export function parseTime(text: string): number {
  const ms = Date.parse(text);
  const dot = text.indexOf('.');
  if (Number.isNaN(ms) || dot < 0) return ms;
  let end = dot + 1;
  while (end < text.length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
  const below = text.slice(dot + 4, end);
  return below === '' ? ms : ms + Number(`0.${below}`);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number of the `count` ASCII digits at `at`, or -1 when any is not a digit. */
function digitsAt(bytes: Uint8Array, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = bytes[i] - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * {@link parseTime} of the bytes `[start, end)`, read as Latin-1. A time as the recorder writes
 * it (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`, a real date, year 1000 or later, at most nine digits
 * of fraction) is read from the digits, with no string and no `Date.parse`; anything else is
 * handed to `parseTime`.
 */
export function parseTimeBytes(bytes: Buffer, start: number, end: number): number {
  const slow = (): number => parseTime(bytes.toString('latin1', start, end));
  const n = end - start;
  if (n < 20 || bytes[end - 1] !== 0x5a /* Z */) return slow();
  const at = start;
  if (bytes[at + 4] !== 0x2d || bytes[at + 7] !== 0x2d || bytes[at + 10] !== 0x54) return slow();
  if (bytes[at + 13] !== 0x3a || bytes[at + 16] !== 0x3a) return slow();
  const year = digitsAt(bytes, at, 4);
  const month = digitsAt(bytes, at + 5, 2);
  const day = digitsAt(bytes, at + 8, 2);
  const hour = digitsAt(bytes, at + 11, 2);
  const minute = digitsAt(bytes, at + 14, 2);
  const second = digitsAt(bytes, at + 17, 2);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return slow();
  if (minute < 0 || minute > 59 || second < 0 || second > 59) return slow();
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1])) return slow();
  let ms = 0;
  let below = 0;
  if (n > 20) {
    // A fraction: `.` and one to nine digits (Date.parse reads more in ways of its own);
    // milliseconds from the first three, the rest below.
    const digits = n - 21;
    if (bytes[at + 19] !== 0x2e || digits < 1 || digits > 9) return slow();
    for (let i = 0; i < digits; i++) {
      const d = bytes[at + 20 + i] - 48;
      if (d < 0 || d > 9) return slow();
      if (i < 3) ms += d * (i === 0 ? 100 : i === 1 ? 10 : 1);
    }
    if (digits > 3) below = Number(`0.${bytes.toString('latin1', at + 23, end - 1)}`);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) + below;
}

/** A 32-bit hash of integers (each mixed in with murmur3's finaliser). */
export function mix32(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) h = fmix32((h ^ (v >>> 0)) + 0x7f4a7c15);
  return h;
}

/** Refusals before the engine read the body (the HTTP layer, an ingress translation): replayed as such. */
const REFUSED_BEFORE_BODY: ReadonlySet<string> = new Set<RefusedCode>([
  'invalid_json',
  'body_too_deep',
  'body_too_complex',
  'unsupported_feature',
]);

/**
 * A parser of one format's lines; it keeps the arrival of the previous batch or plain line.
 * Never throws: a line it cannot use is `{ ok: false, message }`.
 */
export function createTrafficParser(
  options: TrafficParserOptions,
): (text: string, line: number, knownArrival?: number) => ParsedLine {
  const intervalMs = 1000 / options.ratePerSecond;
  let previous: number | null = null;
  const arrival = (value: unknown): number | string => {
    if (value === undefined) {
      previous = previous === null ? DEFAULT_START : previous + intervalMs;
      return previous;
    }
    const at = timestampOf(value);
    if (at === null) return 'the "timestamp" must be an ISO 8601 date or epoch seconds/milliseconds';
    previous = at;
    return at;
  };
  const standard = (
    line: number,
    requestId: string,
    at: number,
    path: string,
    body: Record<string, unknown>,
  ) => {
    const headers: Record<string, string> = {
      'x-request-id': requestId,
      [SEED_HEADER]: String(mix32(options.seed, line)),
    };
    const request: TrafficRequest = {
      line,
      requestId,
      at,
      tenant: options.tenant,
      input: { path, headers, body },
      stream: body.stream === true && !path.endsWith('/embeddings'),
      usage: null,
      recorded: null,
      attempts: [],
      abortAfterMs: null,
      unreplayable: null,
    };
    return request;
  };

  const parseJson = (text: string): { ok: true; value: unknown } | { ok: false; message: string } => {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (err) {
      return { ok: false, message: `not JSON (${err instanceof Error ? err.message : String(err)})` };
    }
  };

  if (options.format === 'switchyard') {
    // `knownArrival`: `parseTime` of this line's `time`, when the caller has read it already.
    return (text, line, knownArrival) => {
      const json = parseJson(text);
      if (!json.ok) return json;
      const checked = validateRecordedLine(json.value);
      if (!checked.ok) return { ok: false, message: `not a recording line: ${checked.errors.join('; ')}` };
      return { ok: true, request: fromRecording(checked.line, line, knownArrival) };
    };
  }

  if (options.format === 'batch') {
    return (text, line) => {
      const json = parseJson(text);
      if (!json.ok) return json;
      const value = json.value;
      if (!isRecord(value)) return { ok: false, message: 'a batch line must be a JSON object' };
      const id = value.custom_id;
      if (typeof id !== 'string' || id === '')
        return { ok: false, message: 'a batch line needs a "custom_id" string' };
      if (typeof value.url !== 'string') return { ok: false, message: 'a batch line needs a "url" string' };
      if (!isRecord(value.body)) return { ok: false, message: 'a batch line needs a "body" object' };
      const at = arrival(value.timestamp);
      if (typeof at === 'string') return { ok: false, message: at };
      const q = value.url.indexOf('?');
      const path = q >= 0 ? value.url.slice(0, q) : value.url;
      const request = standard(line, id, at, path, value.body);
      if (path !== '/v1/chat/completions' && path !== '/v1/embeddings')
        return { ok: true, request: { ...request, unreplayable: 'unsupported_endpoint' } };
      if (value.method !== undefined && String(value.method).toUpperCase() !== 'POST')
        return { ok: true, request: { ...request, unreplayable: 'unsupported_method' } };
      return { ok: true, request };
    };
  }

  return (text, line) => {
    const json = parseJson(text);
    if (!json.ok) return json;
    const body = json.value;
    if (!isRecord(body)) return { ok: false, message: 'a request body must be a JSON object' };
    const at = arrival(body.timestamp);
    if (typeof at === 'string') return { ok: false, message: at };
    delete body.timestamp;
    const path = !('messages' in body) && 'input' in body ? '/v1/embeddings' : DEFAULT_PATH;
    return { ok: true, request: standard(line, `line-${line}`, at, path, body) };
  };
}

/** Epoch milliseconds of an ISO 8601 string or a number of seconds (< 1e11) or milliseconds. */
function timestampOf(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0)
    return value < 1e11 ? value * 1000 : value;
  if (typeof value === 'string') {
    const t = parseTime(value);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

function fromRecording(rec: RecordedLine, line: number, knownArrival: number | undefined): TrafficRequest {
  const req = rec.request;
  // The parsed line is ours alone: headers and body are completed in place, not copied.
  const headers = req.headers as Record<string, string>;
  const errorCode = rec.outcome.errorCode;
  if (errorCode !== 'invalid_seed') headers[SEED_HEADER] = String(req.seed);
  const refusedBeforeContext = rec.decision.route === null && rec.decision.noRoute === undefined;
  let body: unknown = req.body;
  let refused: RequestInput['refused'];
  if (refusedBeforeContext && errorCode !== undefined && REFUSED_BEFORE_BODY.has(errorCode)) {
    refused = { code: errorCode as RefusedCode, detail: '' };
  } else if (refusedBeforeContext && errorCode === 'invalid_request') {
    // The body was no JSON object, and the recording keeps nothing of it: send one that is not.
    body = null;
  } else if (req.content !== 'keep') {
    restoreLengths(req.body as Record<string, unknown>, req.content, req.inputChars, rec.requestId);
  }
  let usage = rec.outcome.usage;
  if (usage === null) for (const a of rec.attempts) if (a.usage !== null) usage = a.usage;
  // The optional fields set only when present, by assignment (no temporary object per field).
  const input: { -readonly [K in keyof TrafficRequest['input']]: TrafficRequest['input'][K] } = {
    path: req.path,
    headers,
    body,
  };
  if (refused !== undefined) input.refused = refused;
  // A Responses or Messages request is recorded as the chat request it was translated to.
  if (req.endpoint === 'responses' || req.endpoint === 'messages') input.internal = true;
  if (rec.classes !== undefined) input.classes = recordedClasses(rec.classes);
  return {
    line,
    requestId: rec.requestId,
    at: knownArrival ?? parseTime(rec.time),
    tenant: rec.tenant,
    input,
    stream: req.stream,
    usage,
    recorded: rec,
    attempts: rec.attempts,
    abortAfterMs: errorCode === 'request_aborted' ? rec.durationMs : null,
    unreplayable: unreplayableRecording(rec),
  };
}

function recordedClasses(
  results: NonNullable<RecordedLine['classes']>,
): NonNullable<RequestInput['classes']> {
  const out: Record<string, { label: string; costUsd: number }> = {};
  for (const r of results) out[r.classifier] = { label: r.label, costUsd: r.costUsd };
  return out;
}

function unreplayableRecording(rec: RecordedLine): UnreplayableReason | null {
  const content = rec.request.content;
  for (const v of rec.guardrails ?? []) {
    if (!v.enforced) continue;
    if (v.stage === 'output' && (v.outcome === 'block' || v.outcome === 'fallback'))
      return 'output_guardrail_acted';
    if (v.stage === 'input' && v.outcome === 'block' && content !== 'keep')
      return 'input_guardrail_content_unavailable';
  }
  if (content === 'drop' && rec.outcome.cache === 'hit') return 'cache_content_dropped';
  return null;
}

// ---------------------------------------------------------------------------------------------
// Stand-ins for hashed and dropped text

const HASH_PREFIX = 'sha256:';

/** The CJK Unified Ideographs block: 20,992 letters that no PII or injection detector matches. */
const STAND_IN_FIRST = 0x4e00;
const STAND_IN_COUNT = 0x9fff - 0x4e00 + 1;

/**
 * `n` characters (UTF-16 units, as lengths are counted) from 32 bytes, repeated past 16. With a
 * 20,992-letter alphabet, two different texts of even one character rarely get the same stand-in.
 */
function lettersOf(bytes: ArrayLike<number>, n: number): string {
  if (n <= 0) return '';
  let letters = '';
  for (let i = 0; i + 1 < bytes.length; i += 2)
    letters += String.fromCharCode(STAND_IN_FIRST + (((bytes[i] << 8) | bytes[i + 1]) % STAND_IN_COUNT));
  if (n <= letters.length) return letters.slice(0, n);
  return letters.repeat(Math.ceil(n / letters.length)).slice(0, n);
}

function filler(seed: string, n: number): string {
  return lettersOf(createHash('sha256').update(seed).digest(), n);
}

/**
 * Stand-ins already made, by hash: the same texts come back again and again. A stand-in is as long
 * as the length it was made for, so the length needs no place in the key.
 */
const standIns = new Map<string, string>();
const STAND_INS_KEPT = 10_000;

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** A recorded `sha256:<hex>` becomes `n` letters derived from its hex; anything else is kept. */
function hashedStandIn(value: unknown, n: unknown): unknown {
  if (typeof value !== 'string' || typeof n !== 'number' || value.length !== HASH_PREFIX.length + 64)
    return value;
  if (!value.startsWith(HASH_PREFIX)) return value;
  const known = standIns.get(value);
  if (known !== undefined && known.length === n) return known;
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    const hi = hexDigit(value.charCodeAt(HASH_PREFIX.length + 2 * i));
    const lo = hexDigit(value.charCodeAt(HASH_PREFIX.length + 2 * i + 1));
    if (hi < 0 || lo < 0) return value;
    bytes[i] = (hi << 4) | lo;
  }
  const out = lettersOf(bytes, n);
  if (standIns.size >= STAND_INS_KEPT) standIns.clear();
  standIns.set(value, out);
  return out;
}

/**
 * Puts text of the recorded length back where a recording hashed or dropped it (in place):
 * message contents and text parts (`contentChars`, `chars`), embeddings input (`inputChars`).
 */
function restoreLengths(
  body: Record<string, unknown>,
  mode: 'hash' | 'drop',
  inputChars: number,
  requestId: string,
): void {
  const messages = body.messages;
  if (mode === 'drop') {
    const text = filler(`drop:${requestId}`, inputChars);
    if (Array.isArray(messages) && messages.length > 0) {
      const last = messages[messages.length - 1];
      if (isRecord(last) && inputChars > 0) last.content = text;
    } else if (body.input === undefined && inputChars > 0 && !Array.isArray(messages)) {
      body.input = text;
    }
    return;
  }
  if (Array.isArray(messages)) {
    for (const m of messages) {
      if (!isRecord(m)) continue;
      const content = m.content;
      if (typeof content === 'string') m.content = hashedStandIn(content, m.contentChars);
      else if (Array.isArray(content)) {
        for (const part of content) {
          if (!isRecord(part) || part.chars === undefined) continue;
          part.text = hashedStandIn(part.text, part.chars);
          delete part.chars;
        }
      }
      delete m.contentChars;
      if (Array.isArray(m.tool_calls)) {
        for (const call of m.tool_calls)
          if (isRecord(call) && isRecord(call.function)) delete call.function.argumentsChars;
      }
    }
  }
  const input = body.input;
  if (typeof input === 'string') body.input = hashedStandIn(input, inputChars);
  else if (Array.isArray(input) && input.length > 0) {
    const each = Math.floor(inputChars / input.length);
    body.input = input.map((v, i) =>
      hashedStandIn(v, i === input.length - 1 ? inputChars - each * (input.length - 1) : each),
    );
  }
}
