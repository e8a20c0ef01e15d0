/**
 * `switchyard replay`: runs a policy (the *candidate*) over traffic and reports what it decides
 * and what changed against a *baseline*: the recorded decisions (default), or `--baseline
 * <policy>` replayed the same way. The report's shape is replay-report.ts (the contract its
 * renderers and CI gates read); the simulation rule is in engine/replay/upstream.ts; docs/replay.md
 * explains both to users.
 *
 * How a run goes:
 * - The input is streamed, never loaded whole (engine/replay/lines.ts). Its format is detected
 *   from the first readable line unless given (engine/replay/traffic.ts). The first time a call
 *   needs an answer the recording does not hold, a first pass over the file keeps a bounded
 *   sample of what each model did (engine/replay/stats.ts) while the replay holds virtual time.
 * - Time is a virtual clock (engine/replay/clock.ts) set to each request's arrival. Requests
 *   overlap as they did: a request starts at its arrival whatever is still in flight, and every
 *   wait (upstream latency, timeouts, backoff, stream gaps) is a timer on the virtual clock, so
 *   concurrency limits, rate limits, budgets, cache TTLs, breakers and latency-based choices see
 *   the traffic's own pace. Time moves only when every request in flight waits on a timer (one
 *   event-loop turn per instant where something happens): a day replays in seconds.
 * - A recording lists requests as they ended, so arrivals are slightly out of order: a window of
 *   {@link REORDER_WINDOW} lines is kept sorted by arrival; a line later than that (or one held
 *   back while {@link MAX_IN_FLIGHT} requests are in flight) is replayed at the clock's time and
 *   counted in `lateArrivals`.
 * - Each side runs its own engine (the same stages as the server) with the simulated upstream,
 *   a PRNG seeded from `--seed` for backoff jitter, and its recorder port feeding the report.
 *
 * Every readable request is `unchanged`, `changed` (route, serving target, status, limited or
 * blocked, or cost differ from the baseline; see `changeKinds`) or `unreplayable` (see
 * `UnreplayableReason`): `unchanged + changed + unreplayable = total` (P16). Unreadable lines are
 * counted in `malformed` with their numbers, never a crash.
 */
import { stat } from 'node:fs/promises';
import type { CompiledPolicy } from '../compile/compile.js';
import { seededRandom } from '../compile/random.js';
import { ReplayClock } from '../replay/clock.js';
import { type RawLine, readLines, readRawLines } from '../replay/lines.js';
import type { RecordInput } from '../replay/record.js';
import type { Scenario } from '../replay/scenario.js';
import { type RecordingStats, scanRecording } from '../replay/stats.js';
import {
  createTrafficParser,
  DEFAULT_RATE_PER_SECOND,
  detectFormat,
  type ParsedLine,
  type TrafficFormatName,
  type TrafficRequest,
  type UnreplayableReason,
} from '../replay/traffic.js';
import {
  type AnswerTally,
  createReplayCall,
  REPLAY_CALL,
  type ReplayCall,
  SimulatedUpstream,
  simulatedProviders,
} from '../replay/upstream.js';
import { createEngine, type Engine } from '../runtime/engine.js';
import { parseRate } from '../shared/units.js';
import type { EngineResponse, ReadyFrames, RequestInput } from '../types.js';
import {
  ChangeKindTally,
  changeKinds,
  FirstLines,
  type Observed,
  observedFromEngine,
  observedFromRecording,
  SideAggregate,
  Timeline,
  toOutcome,
} from './replay-aggregate.js';
import { ArrivalQueue, type Pending, recordedArrival, timeIsValue, timeValueEnd } from './replay-arrivals.js';
import {
  type ChangeKind,
  type MalformedLine,
  REPLAY_REPORT_SCHEMA,
  type ReplayChange,
  type ReplayProgress,
  type ReplayReport,
} from './replay-report.js';

/** Exported for its test (test/property/replay.test.ts). */
export { ArrivalQueue, type Pending } from './replay-arrivals.js';
export type { ReplayChange, ReplayReport } from './replay-report.js';

/** Lines kept sorted by arrival before they are replayed (a recording lists requests as they end). */
export const REORDER_WINDOW = 4_096;
/** Requests in flight at once; beyond, arrivals wait for some to finish. */
export const MAX_IN_FLIGHT = 5_000;
/** Default `changesCap`. */
export const DEFAULT_CHANGES_CAP = 1_000;
/** Malformed lines listed (all are counted). */
export const MALFORMED_CAP = 1_000;
/** Default `--seed`. */
export const DEFAULT_SEED = 1;
const PROGRESS_EVERY_MS = 100;

/** Input problems a replay cannot start with (exit 2): an undetectable format, an unknown tenant. */
export class ReplayInputError extends Error {
  override readonly name = 'ReplayInputError';
}

export interface ReplayOptions {
  /** Compare with this policy replayed the same way, instead of with the recorded decisions. */
  readonly baseline?: CompiledPolicy;
  /** Upstream outages, latencies and 429s on top of the recording (engine/replay/scenario.ts). */
  readonly scenario?: Scenario;
  /** Seeds every simulated draw, and batch and plain requests' weighted choices. Default 1. */
  readonly seed?: number;
  /** The traffic's format; detected from the first readable line when absent. */
  readonly format?: TrafficFormatName;
  /**
   * Batch and plain lines without a timestamp arrive at this rate: requests per second, or a rate
   * as the policy writes them (`10/s`, `600/min`). Default 10 per second.
   */
  readonly rate?: number | string;
  /**
   * The tenant (by name) batch and plain requests are sent as. Default: none when the candidate
   * declares no tenants, else its first tenant (in file order).
   */
  readonly tenant?: string;
  /** Most changes listed in `changes` (the counts stay exact). Default 1,000. */
  readonly changesCap?: number;
  /** Lines kept sorted by arrival (default {@link REORDER_WINDOW}); later ones count as late. */
  readonly reorderWindow?: number;
  /** Requests in flight at once (default {@link MAX_IN_FLIGHT}); beyond, arrivals wait and count as late. */
  readonly maxInFlight?: number;
  /** Called every ~100 ms while the file is read, and once at the end. */
  readonly onProgress?: (progress: ReplayProgress) => void;
}

/** One side of the comparison that runs an engine. */
interface Side {
  readonly index: number;
  readonly engine: Engine;
  /**
   * tenant name → a key of that tenant in this side's policy; null when the policy declares no
   * tenants (requests are then sent without a key, as any caller's would be).
   */
  readonly keys: ReadonlyMap<string, string> | null;
  readonly tally: AnswerTally;
}

/** A request in flight on every side. */
interface Flight {
  readonly request: TrafficRequest;
  readonly observed: (Observed | null)[];
  remaining: number;
}

function policyLabel(policy: CompiledPolicy): string {
  const { name, version, hash } = policy.identity;
  return `${name}@${version} (${hash.slice(0, 12)})`;
}

function tenantKeys(policy: CompiledPolicy): Map<string, string> {
  const keys = new Map<string, string>();
  for (const [key, info] of policy.tenantsByKey) if (!keys.has(info.name)) keys.set(info.name, key);
  return keys;
}

const NO_CHANGE: readonly ChangeKind[] = [];
/**
 * Event-loop turns with no timer due and nothing finishing after which requests in flight are
 * taken as stuck (their answers would need a timer, and none is pending).
 */
const IDLE_TURNS = 8;

const hop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Resolves once every promise continuation pending now, and every one they queue, has run: a
 * `nextTick` queued from a microtask runs only when the microtask queue is empty. The engine's
 * work between two waits on the replay clock is promise continuations only (its recorder is
 * inline, its providers are the simulated upstream, its timers the clock's), so time may move
 * after this, as after a {@link hop}, at half the cost of an event-loop turn, once or more per
 * request.
 */
const drained = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

function noop(): void {}

/**
 * A JSON answer needs nothing (no promise of its own); a stream is read to its end. Never
 * rejects: a stream that breaks has been read as far as a client could. A stream whole before it
 * is read (a cache hit's, ReadyFrames) is left unread: nothing in the engine waits on it, and
 * with `readOnlyAnswers` its frames are made only when read.
 */
function drain(response: EngineResponse): Promise<void> | undefined {
  if (response.kind !== 'stream') return undefined;
  if (typeof (response.events as Partial<ReadyFrames>).takeFrames === 'function') {
    response.done.catch(noop);
    return undefined;
  }
  return drainStream(response).catch(noop);
}

async function drainStream(response: Extract<EngineResponse, { kind: 'stream' }>): Promise<void> {
  for await (const _frame of response.events) {
    // a client reading the stream: its end settles the request
  }
  await response.done.catch(noop);
}

/** Requests per second from `--rate` (a number, or `10/s`, `600/min`, ...). */
function ratePerSecond(rate: number | string | undefined): number {
  if (rate === undefined) return DEFAULT_RATE_PER_SECOND;
  if (typeof rate === 'number') {
    if (Number.isFinite(rate) && rate > 0) return rate;
    throw new ReplayInputError(`the rate must be above 0 requests per second (got ${rate})`);
  }
  if (/^\d+(\.\d+)?$/.test(rate.trim())) return ratePerSecond(Number(rate));
  const parsed = parseRate(rate.trim());
  if (!parsed.ok) throw new ReplayInputError(`--rate: ${parsed.error}`);
  return (parsed.value.amount * 1000) / parsed.value.perMs;
}

/** The format of the first line that parses as JSON; null when none does. */
async function sniffFormat(path: string): Promise<{ format: TrafficFormatName; line: number } | null> {
  for await (const batch of readLines(path)) {
    for (const { line, text } of batch.lines) {
      if (text === null) continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        continue;
      }
      const format = detectFormat(value);
      if (format === null)
        throw new ReplayInputError(
          `${path}:${line}: cannot tell the traffic format (expected a Switchyard recording line, an OpenAI Batch API line with "custom_id" and "body", or a chat-completion body); give it with --traffic-format`,
        );
      return { format, line };
    }
  }
  return null;
}

/**
 * Replays the traffic at `path` under `policy` (the candidate) and reports what changed.
 * @example
 * const report = await replayRecording(candidate.policy, 'traffic.jsonl', { baseline: live.policy, seed: 7 });
 * console.log(`${report.changed} of ${report.total} requests changed`);
 */
export async function replayRecording(
  policy: CompiledPolicy,
  path: string,
  options: ReplayOptions = {},
): Promise<ReplayReport> {
  const started = performance.now();
  const seed = (options.seed ?? DEFAULT_SEED) >>> 0;
  const changesCap = Math.max(0, Math.floor(options.changesCap ?? DEFAULT_CHANGES_CAP));
  const rate = ratePerSecond(options.rate);
  const reorderWindow = Math.max(0, Math.floor(options.reorderWindow ?? REORDER_WINDOW));
  const maxInFlight = Math.max(1, Math.floor(options.maxInFlight ?? MAX_IN_FLIGHT));
  const fileSize = (await stat(path)).size;
  const format = options.format ?? (await sniffFormat(path))?.format ?? 'switchyard';
  const recording = format === 'switchyard';
  const baselinePolicy = options.baseline ?? null;
  const comparison: NonNullable<ReplayReport['comparison']> =
    baselinePolicy !== null ? 'policy' : recording ? 'recording' : 'none';

  let tenant: string | null = null;
  if (!recording) {
    if (options.tenant !== undefined) tenant = options.tenant;
    else {
      const declared = Object.keys(policy.document.tenants ?? {});
      tenant = declared.length > 0 ? declared[0] : null;
    }
  }
  const policies = baselinePolicy === null ? [policy] : [policy, baselinePolicy];
  if (tenant !== null) {
    for (const p of policies) {
      if (!tenantKeys(p).has(tenant))
        throw new ReplayInputError(`the policy ${policyLabel(p)} declares no tenant "${tenant}" (--tenant)`);
    }
  }

  const bytesTotal = fileSize;
  let bytesRead = 0;
  let lastProgress = performance.now();
  let requestsDone = 0;
  const progress = (phase: 'scan' | 'replay', force = false): void => {
    if (options.onProgress === undefined) return;
    const now = performance.now();
    if (!force && now - lastProgress < PROGRESS_EVERY_MS) return;
    lastProgress = now;
    try {
      options.onProgress({ phase, requests: requestsDone, bytesRead, bytesTotal });
    } catch {
      // A progress bar failing must not end the replay.
    }
  };

  // What the recording saw of each model: read (a first pass) only when a call needs it.
  const loadStats = recording
    ? (): Promise<RecordingStats> => scanRecording(path, { seed, onBytes: () => progress('scan') })
    : null;
  const upstream = new SimulatedUpstream({ loadStats, scenario: options.scenario ?? null, seed });

  // ---- the sides
  const clock = new ReplayClock(0);
  const candidateAgg = new SideAggregate(policyLabel(policy));
  const baselineAgg = new SideAggregate(
    baselinePolicy !== null ? policyLabel(baselinePolicy) : recording ? 'recording' : 'none',
  );
  const flights = new Map<string, Flight>();
  let inFlight = 0;
  let nextId = 0;
  const sides: Side[] = [];
  const makeSide = (p: CompiledPolicy, index: number): Side => {
    const tally: AnswerTally = { recorded: 0, simulated: 0 };
    const engine = createEngine(p, {
      clock,
      random: seededRandom(seed), // backoff jitter: the same draws on every run
      createProvider: simulatedProviders(p, upstream, index, clock, tally),
      // Inline: a JSON answer settles as it is given, so the driver's turns need no macrotask.
      recorder: { record: (entry) => settle(entry, index), inline: true },
      // The replay reads statuses and metadata only: a cache hit's body need not be copied.
      readOnlyAnswers: true,
    });
    return { index, engine, keys: p.requiresAuth ? tenantKeys(p) : null, tally };
  };

  // ---- the report's parts
  let total = 0;
  let unchanged = 0;
  let changed = 0;
  let unreplayable = 0;
  let lateArrivals = 0;
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  const reasons = new Map<UnreplayableReason, number>();
  const kinds = new ChangeKindTally();
  const changes = new FirstLines<ReplayChange>(changesCap);
  const timeline = new Timeline();
  const malformed = new FirstLines<MalformedLine>(MALFORMED_CAP);
  let malformedCount = 0;

  const markUnreplayable = (reason: UnreplayableReason): void => {
    unreplayable++;
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  };

  const finish = (flight: Flight): void => {
    const request = flight.request;
    const after = flight.observed[0] as Observed;
    const before: Observed | null =
      baselinePolicy !== null
        ? flight.observed[1]
        : request.recorded !== null
          ? observedFromRecording(request.recorded)
          : null;
    candidateAgg.add(after);
    if (before !== null) baselineAgg.add(before);
    const k = before === null ? NO_CHANGE : changeKinds(before, after);
    if (k.length === 0) unchanged++;
    else {
      changed++;
      kinds.add(k, request.line, request.requestId);
      if (changes.accepts(request.line)) {
        changes.add({
          requestId: request.requestId,
          line: request.line,
          kinds: k,
          before: toOutcome(before as Observed),
          after: toOutcome(after),
        });
      }
    }
    timeline.add(request.at, before, after, k.length > 0);
    requestsDone++;
  };

  function settle(entry: RecordInput, side: number): void {
    const flight = flights.get(entry.requestId);
    if (flight === undefined || flight.observed[side] !== null) return;
    flight.observed[side] = observedFromEngine(entry);
    if (--flight.remaining > 0) return;
    flights.delete(entry.requestId);
    inFlight--;
    finish(flight);
  }

  sides.push(makeSide(policy, 0));
  if (baselinePolicy !== null) sides.push(makeSide(baselinePolicy, 1));

  const dispatch = (request: TrafficRequest): void => {
    if (request.tenant !== null) {
      for (const side of sides) {
        if (side.keys !== null && !side.keys.has(request.tenant)) {
          markUnreplayable('unknown_tenant');
          return;
        }
      }
    }
    if (request.at < from) from = request.at;
    if (request.at > to) to = request.at;
    const id = String(nextId++);
    const flight: Flight = { request, observed: sides.map(() => null), remaining: sides.length };
    flights.set(id, flight);
    inFlight++;
    const body = request.input.body;
    if (typeof body === 'object' && body !== null) {
      const outcome = request.recorded?.outcome;
      const call: ReplayCall = createReplayCall(
        request.requestId,
        request.attempts,
        request.usage,
        sides.length,
        outcome?.cacheSource !== undefined && outcome.cacheSimilarity !== undefined
          ? { source: outcome.cacheSource, similarity: outcome.cacheSimilarity }
          : null,
        outcome?.cacheEmbeddingTokens ?? null,
      );
      (body as { [REPLAY_CALL]?: ReplayCall })[REPLAY_CALL] = call;
    }
    const given = request.input;
    for (const side of sides) {
      let signal: AbortSignal | undefined;
      if (request.abortAfterMs !== null) {
        // The caller went away this long after arriving, in the recording.
        const controller = new AbortController();
        signal = controller.signal;
        clock.sleep(request.abortAfterMs).then(() => controller.abort(), noop);
      }
      const key = request.tenant === null ? undefined : side.keys?.get(request.tenant);
      const headers =
        key === undefined ? given.headers : { ...given.headers, authorization: `Bearer ${key}` };
      // The optional fields set only when present (the same input as conditional spreads made).
      const input: { -readonly [K in keyof RequestInput]: RequestInput[K] } = {
        body,
        headers,
        path: given.path,
        requestId: id,
      };
      if (signal !== undefined) input.signal = signal;
      if (given.refused !== undefined) input.refused = given.refused;
      if (given.internal === true) input.internal = true;
      if (given.classes !== undefined) input.classes = given.classes;
      side.engine.handle(input).then(drain, noop);
    }
  };

  // ---- pass 2: read, reorder, replay
  const parse = createTrafficParser({
    format,
    seed,
    ratePerSecond: rate,
    tenant,
  });
  const heap = new ArrivalQueue();
  let first = true;
  const malformedLine = (line: number, message: string): void => {
    malformedCount++;
    malformed.add({ line, message });
  };
  /** A parsed line: counted, and held for its turn unless the line alone makes it unreplayable. */
  const accept = (parsed: ReturnType<typeof parse>, line: number): TrafficRequest | null => {
    if (!parsed.ok) {
      malformedLine(line, parsed.message);
      return null;
    }
    total++;
    if (parsed.request.unreplayable !== null) {
      markUnreplayable(parsed.request.unreplayable);
      return null;
    }
    return parsed.request;
  };
  /** A held line parsed (a recording line's arrival is known from its bytes already). */
  const parsePending = (pending: Pending): ParsedLine =>
    parse(
      (pending.chunk as Buffer).toString('utf8', pending.start, pending.end),
      pending.line,
      pending.timeRead ? pending.at : undefined,
    );
  /** The request of the line whose turn it is; null when it cannot be replayed (counted). */
  const take = (pending: Pending): TrafficRequest | null => {
    const request = pending.request ?? accept(parsePending(pending), pending.line);
    if (request !== null && first) {
      upstream.start = request.at;
      first = false;
    }
    return request;
  };
  /**
   * A line read: held for its turn (a recording line as its bytes), or counted at once when it
   * cannot be replayed. True when the window is over full: the caller replays the earliest line.
   */
  const hold = ({ line, chunk, start, end }: RawLine): boolean => {
    if (chunk === null) {
      malformedLine(line, 'line too long (over 64 MiB without a newline)');
      return false;
    }
    const quote = recording ? timeValueEnd(chunk, start, end) : -1;
    const at = quote < 0 ? Number.NaN : recordedArrival(chunk, start, quote);
    if (!Number.isNaN(at)) {
      const timeRead = timeIsValue(chunk, start, quote);
      heap.add(at, timeRead, line, chunk, start, end, null);
    } else {
      const request = accept(parse(chunk.toString('utf8', start, end), line), line);
      if (request === null) return false;
      heap.add(request.at, false, line, null, 0, 0, request);
    }
    return heap.size > reorderWindow;
  };
  /**
   * Reads, reorders and replays the file. One loop, in its own function, for the lines of the
   * file and then those left in the window: the optimising compiler compiles a long loop while it
   * runs (on-stack replacement), and one inside the whole of `replayRecording` made it compile all
   * of that function, several times over, as paths it had not seen were reached.
   *
   * Each line's turn waits exactly where it always did, in the same order, so requests interleave
   * as they did: `await undefined` stands where an async helper returned (one job, the same as
   * the caller's `await` of a finished async call), without an async function's frame and promise
   * per line.
   */
  const pass2 = async (): Promise<void> => {
    const batches = readRawLines(path)[Symbol.asyncIterator]();
    let reading = true;
    let lines: readonly RawLine[] = [];
    // Read once a batch: `lines.length` of the empty first array deoptimised the loop (elements kind).
    let count = 0;
    let i = 0;
    let batchBytes = 0;
    try {
      for (;;) {
        if (i < count) {
          if (!hold(lines[i++])) continue;
        } else if (reading) {
          if (i > 0) {
            bytesRead = batchBytes;
            progress('replay');
          }
          const step = await batches.next();
          if (step.done === true) {
            reading = false;
            count = 0;
            i = 0;
          } else {
            lines = step.value.lines;
            count = lines.length;
            batchBytes = step.value.bytesRead;
            // A batch without lines still counts its bytes (as the loop over batches did).
            i = 0;
            if (count === 0) {
              bytesRead = batchBytes;
              progress('replay');
            }
          }
          continue;
        }
        // One call site (a second one, first reached at the file's end, deoptimised the loop).
        const pending = heap.pop();
        if (pending === undefined) break;
        const request = take(pending);
        if (request !== null) {
          // Too many in flight: let time run (past this arrival if need be) until some finish.
          for (let idle = 0; inFlight >= maxInFlight && idle < IDLE_TURNS; ) {
            await hop();
            if (upstream.loading !== null) await upstream.loading;
            const next = clock.nextAt();
            if (next !== null) {
              clock.fireAt(next);
              idle = 0;
            } else idle++;
          }
          const at = request.at;
          if (at > clock.now()) {
            // Run everything due up to the arrival on virtual time, then set the clock to it.
            for (;;) {
              if (inFlight > 0) await drained();
              if (upstream.loading !== null) {
                await upstream.loading;
                continue;
              }
              const next = clock.nextAt();
              if (next === null || next > at) break;
              clock.fireAt(next);
            }
            clock.set(at);
            await undefined;
          } else if (at < clock.now()) lateArrivals++;
          dispatch(request);
        }
        await undefined;
      }
    } finally {
      // Left early (an exception): close the file, as `for await` does.
      if (reading) await batches.return?.(undefined);
    }
  };
  /**
   * Lets everything in flight finish; a request with nothing left to wait for and no answer is
   * stuck. Not in `pass2`: first run at the end, it deoptimised `pass2` every run.
   */
  const finishInFlight = async (): Promise<void> => {
    let idle = 0;
    while (inFlight > 0) {
      await hop();
      if (upstream.loading !== null) {
        await upstream.loading;
        continue;
      }
      const next = clock.nextAt();
      if (next !== null) {
        clock.fireAt(next);
        idle = 0;
      } else if (++idle >= IDLE_TURNS) break;
    }
  };
  try {
    await pass2();
    await finishInFlight();
    for (const flight of flights.values()) {
      void flight;
      markUnreplayable('no_answer');
    }
    flights.clear();
  } finally {
    for (const side of sides) await side.engine.close();
  }
  bytesRead = bytesTotal;
  progress('replay', true);

  const candidateTally = sides[0].tally;
  const report: ReplayReport = {
    schema: REPLAY_REPORT_SCHEMA,
    policy: policyLabel(policy),
    traffic: {
      path,
      format,
      from: Number.isFinite(from) ? new Date(from).toISOString() : null,
      to: Number.isFinite(to) ? new Date(to).toISOString() : null,
    },
    seed,
    scenario: options.scenario?.file ?? null,
    comparison,
    ...(recording ? {} : { tenant }),
    total,
    unchanged,
    changed,
    unreplayable,
    unreplayableReasons: Object.fromEntries(reasons),
    recordedAnswers: candidateTally.recorded,
    simulatedAnswers: candidateTally.simulated,
    ...(sides.length > 1
      ? { baselineAnswers: { recorded: sides[1].tally.recorded, simulated: sides[1].tally.simulated } }
      : {}),
    lateArrivals,
    baseline: baselineAgg.toSide(),
    candidate: candidateAgg.toSide(),
    changeKinds: kinds.toReport(),
    changes: changes.toArray(),
    changesCap,
    timeline: timeline.toReport(),
    malformed: { count: malformedCount, lines: malformed.toArray(), linesCap: MALFORMED_CAP },
    elapsedMs: Math.round(performance.now() - started),
  };
  return report;
}

/** The report for people: the counts at a glance, then where traffic went, then what changed. */
export function formatReplay(report: ReplayReport): string {
  const table = (title: string, counts: Readonly<Record<string, number>>): string[] => [
    title,
    ...Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `  ${String(n).padStart(7)}  ${k}`),
  ];
  const c = report.candidate;
  const against =
    report.comparison === 'none'
      ? 'no baseline: nothing compared (pass --baseline <policy>)'
      : `against ${report.baseline.label}`;
  const out = [
    `replayed ${report.total} request${report.total === 1 ? '' : 's'} under ${report.policy}, ${against}`,
    `  ${report.unchanged} unchanged, ${report.changed} changed, ${report.unreplayable} unreplayable` +
      `; upstream answers: ${report.recordedAnswers} recorded, ${report.simulatedAnswers} simulated`,
    '',
    ...table('routes', c.routes),
    ...table('serving targets', c.targets),
    ...table('statuses', c.statuses),
  ];
  if (report.changed > 0) {
    out.push('', 'changed (baseline → candidate):');
    const show = (o: ReplayReport['changes'][number]['before']): string =>
      `${o.route ?? '(no route)'} ${o.status}${o.target === null ? '' : ` ${o.target}`}`;
    for (const ch of report.changes.slice(0, 20))
      out.push(`  line ${ch.line} ${ch.requestId}: ${show(ch.before)}  →  ${show(ch.after)}`);
    if (report.changed > 20) out.push(`  ... and ${report.changed - 20} more (--json lists them)`);
  }
  if (report.unreplayable > 0) {
    const reasons = Object.entries(report.unreplayableReasons)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
    out.push('', `unreplayable: ${reasons}`);
  }
  if (report.malformed.count > 0) {
    out.push(
      '',
      `${report.malformed.count} line(s) skipped: ${report.malformed.lines
        .map((m) => m.line)
        .slice(0, 20)
        .join(', ')}`,
    );
  }
  return `${out.join('\n')}\n`;
}
