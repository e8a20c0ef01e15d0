/**
 * Batch lines through providers' native batch APIs (a route's `batch: { native: true }`): the
 * price/latency trade of docs/jobs.md.
 *
 * Planning (`planNative`, once per run of a batch job, before its ordinary lines start): every
 * line not finished and not already sent natively is decided as the engine would decide it (as
 * the job's tenant, with `x-switchyard-job: batch`). A line whose route declares native batches
 * goes to the first target of its plan whose provider has a batch API, after the route's input
 * guardrails (a blocked line stays ordinary and is blocked there; a redacted one is sent
 * redacted). Lines are grouped by (route, target) and each group is written to a file in the
 * job's directory as the provider's input, one line at a time; a group of at least the route's
 * `minRequests` lines is submitted as one provider batch and journaled as a sub-batch (its
 * provider batch id, its lines and their byte offsets in the input file) before its file is
 * deleted. Smaller groups, and groups whose submission fails, stay ordinary requests.
 *
 * Driving (`driveSub`, one per sub-batch not ended, concurrently with the ordinary lines): the
 * provider batch is polled with a backoff; once it ended its results are streamed, and each
 * answer runs through `engine.handle` with the answer in place of the upstream call (the plan is
 * that target, priced at its model's `batchPrice`; limits, budgets, output guardrails, accounting
 * and recording apply), then journaled as any finished line. Then `subEnd` is journaled: the lines
 * the provider batch did not answer (failed, expired, cancelled) run again through the route's
 * ordinary plan. A cancel (or the job's expiry) asks the provider to cancel, then keeps what it
 * answered. A shutdown leaves the sub-batch as it is: the next start polls it again.
 *
 * Not applied to native lines: per-request timeouts, retries, circuit breakers and fallback
 * within the provider batch. An answer refused by the gateway's own rate limit waits and is
 * offered again, never discarded. Limits and budgets are not reserved at submission: a line's
 * cost is recorded when its answer arrives, and an exceeded budget does not refuse an answer the
 * provider charged for (the admission stage serves it), so sub-batches can overshoot a budget.
 */

import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { checkSegments, replaceSegments, requestSegments } from '../guardrails/index.js';
import type { NativeBatchApi } from '../providers/batch.js';
import { ProviderFailure } from '../providers/types.js';
import type { Engine } from '../runtime/engine.js';
import type { Clock } from '../shared/clock.js';
import type { JobLine } from './input.js';
import { DEFAULT_MAX_LINE_BYTES, parseJobLine } from './input.js';
import type { JobRecord } from './job.js';
import { Bitset, type JournalSummary, type SubBatch } from './journal.js';
import { type LineSource, readLines } from './lines.js';
import { jobLineHeaders, type LineOutcome, lineRequestId, MAX_DEFERRALS, runJobLine } from './output.js';
import type { JournalAppender } from './storage.js';

/** The only endpoint sent natively: the chat requests every provider's batch API takes. */
export const NATIVE_ENDPOINT = '/v1/chat/completions';

/** Most lines of one provider batch (OpenAI: 50,000 per batch; Anthropic: 100,000). */
export const MAX_SUB_LINES = 50_000;

/** Most bytes of one provider batch's input (OpenAI: 200 MB per file; Anthropic: 256 MB per batch). */
export const MAX_SUB_BYTES = 190 * 1024 * 1024;

/** Backoff of the polls: from the runner's `nativePollMs`, doubling, at most this. */
const MAX_POLL_MS = 60_000;

/** Times a poll or a download that failed on a transient error is tried again before giving up. */
const MAX_TRANSIENT_FAILURES = 20;

const TRANSIENT = new Set([
  'connect',
  'timeout',
  'rate_limited',
  'overloaded',
  'server_error',
  'stream_cut',
  'malformed',
]);

export interface NativeLog {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** The provider's custom_id of a request: its index (fits Anthropic's `^[A-Za-z0-9_-]{1,64}$`). */
export function nativeCustomId(index: number): string {
  return `l${index}`;
}

function indexOf(customId: string): number | null {
  const m = /^l(\d+)$/.exec(customId);
  return m === null ? null : Number(m[1]);
}

/** Lines of `job` in sub-batches not ended yet: the ordinary loop leaves them alone. */
export function linesInFlight(summary: JournalSummary, total: number): Bitset {
  const bits = new Bitset(total);
  for (const [id, sub] of summary.subs)
    if (!summary.subsEnded.has(id)) for (const i of sub.lines) bits.add(i);
  return bits;
}

/** The policy has a route that sends batch lines natively. */
export function hasNativeRoutes(engine: Engine): boolean {
  return engine.policy.routes.some((r) => r.nativeBatch !== null);
}

interface Group {
  readonly key: string;
  readonly route: string;
  readonly target: string;
  readonly provider: string;
  readonly connectMs: number;
  readonly minRequests: number;
  readonly api: NativeBatchApi;
  readonly path: string;
  readonly out: WriteStream;
  readonly lines: number[];
  readonly offsets: number[];
  bytes: number;
}

export interface PlanOptions {
  readonly engine: Engine;
  readonly job: JobRecord;
  readonly input: LineSource;
  /** A local directory for the provider batch's input file while it is submitted. */
  readonly scratch: string;
  readonly summary: JournalSummary;
  readonly journal: JournalAppender;
  readonly clock: Clock;
  readonly log: NativeLog;
  readonly signal: AbortSignal;
}

/** The body a native line is sent with after the route's input guardrails; null: not sent natively. */
function guardedBody(engine: Engine, routeIndex: number, body: Readonly<Record<string, unknown>>) {
  const guards = engine.policy.routes[routeIndex]?.guards.input ?? [];
  let out = body;
  for (const guardrail of guards) {
    if (guardrail.shadow) continue;
    const result = checkSegments(guardrail, requestSegments(out, guardrail.scope));
    if (result.outcome === 'block') return null;
    if (result.outcome === 'redact' && result.redactions !== null)
      out = replaceSegments(out, result.redactions);
  }
  return out;
}

async function write(stream: WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

/**
 * Decides the job's remaining lines, submits the groups large enough, journals each sub-batch.
 * Returns the sub-batches submitted now.
 */
export async function planNative(o: PlanOptions): Promise<SubBatch[]> {
  const { engine, job, summary } = o;
  if (job.kind !== 'batch' || job.endpoint !== NATIVE_ENDPOINT || !hasNativeRoutes(engine)) return [];
  const sent = new Bitset(job.total);
  for (const sub of summary.subs.values()) for (const i of sub.lines) sent.add(i);
  const headers = jobLineHeaders(engine.policy, {
    headers: job.headers,
    jobKind: 'batch',
    tenant: job.owner,
  });
  const groups = new Map<string, Group>();
  let index = 0;
  try {
    for await (const raw of readLines(o.input, { maxLineBytes: DEFAULT_MAX_LINE_BYTES })) {
      if (o.signal.aborted) break;
      if (raw.text !== null && raw.text.trim() === '') continue;
      const i = index++;
      if (raw.text === null || summary.done.has(i) || sent.has(i)) continue;
      const parsed = parseJobLine(raw.text, i, raw.number, job.endpoint);
      if (!parsed.ok) continue;
      const line = parsed.line;
      const decision = engine.decide({
        body: line.body,
        headers,
        path: line.url,
        requestId: lineRequestId(job.id, i),
      });
      if (decision.kind !== 'route') continue;
      const route = engine.policy.routes[decision.routeIndex];
      if (route?.nativeBatch == null) continue;
      const target = decision.targets.find((t) => engine.nativeBatch(t.provider) !== null);
      if (target === undefined) continue;
      const api = engine.nativeBatch(target.provider) as NativeBatchApi;
      const key = `${route.name}\u0000${target.name}`;
      let group = groups.get(key);
      if (group !== undefined && group.lines.length >= MAX_SUB_LINES) continue;
      const body = guardedBody(engine, decision.routeIndex, line.body);
      if (body === null) continue;
      const encoded = api.encode(nativeCustomId(i), body, target.upstreamModel);
      if (!encoded.ok) continue;
      if (group === undefined) {
        const path = join(o.scratch, `native-${groups.size}.jsonl`);
        group = {
          key,
          route: route.name,
          target: target.name,
          provider: target.provider,
          connectMs: target.timeout.connectMs,
          minRequests: route.nativeBatch.minRequests,
          api,
          path,
          out: createWriteStream(path, { mode: 0o600 }),
          lines: [],
          offsets: [],
          bytes: 0,
        };
        groups.set(key, group);
      }
      const text = `${encoded.line}\n`;
      // A group at the provider's size limit: the line runs as an ordinary request.
      if (group.bytes + Buffer.byteLength(text) > MAX_SUB_BYTES) continue;
      group.lines.push(i);
      group.offsets.push(raw.start);
      group.bytes += Buffer.byteLength(text);
      await write(group.out, text);
    }
  } finally {
    for (const g of groups.values()) g.out.end();
    await Promise.allSettled([...groups.values()].map((g) => finished(g.out)));
  }
  const submitted: SubBatch[] = [];
  for (const g of groups.values()) {
    try {
      if (o.signal.aborted || g.lines.length < g.minRequests) continue;
      const { size } = await stat(g.path);
      const created = await g.api.submit({
        open: () => createReadStream(g.path, { highWaterMark: 64 * 1024 }),
        bytes: size,
        count: g.lines.length,
        signal: o.signal,
        connectTimeoutMs: g.connectMs,
      });
      if (!created.ok) {
        o.log.warn(
          {
            job: job.id,
            route: g.route,
            target: g.target,
            error: created.error.message,
            requests: g.lines.length,
          },
          'native batch not submitted; its requests run as ordinary requests',
        );
        continue;
      }
      const sub: SubBatch = {
        id: created.value.id,
        provider: g.provider,
        target: g.target,
        route: g.route,
        connectMs: g.connectMs,
        lines: g.lines,
        offsets: g.offsets,
        at: Math.floor(o.clock.now() / 1000),
      };
      await o.journal.append({ sub });
      summary.subs.set(sub.id, sub);
      submitted.push(sub);
      o.log.info(
        { job: job.id, sub: sub.id, route: g.route, target: g.target, requests: g.lines.length },
        'native batch submitted',
      );
    } catch (err) {
      if (o.signal.aborted) break;
      o.log.warn({ job: job.id, route: g.route, target: g.target, err }, 'native batch not submitted');
    } finally {
      await rm(g.path, { force: true });
    }
  }
  return submitted;
}

export interface DriveOptions {
  readonly engine: () => Engine | null;
  readonly job: JobRecord;
  readonly sub: SubBatch;
  readonly input: LineSource;
  readonly summary: JournalSummary;
  readonly journal: JournalAppender;
  readonly clock: Clock;
  readonly log: NativeLog;
  /** First wait between polls (doubling up to a minute). */
  readonly pollMs: number;
  /** Aborted on cancel and shutdown: ends a wait early. */
  readonly halt: AbortSignal;
  /** The job is cancelled or expired: the provider batch is to be cancelled. */
  readonly shouldCancel: () => boolean;
  /** Whether to leave now (a shutdown), rather than cancel at the provider (a cancel or expiry). */
  readonly stopping: () => boolean;
  /** Aborted at the end of a shutdown's grace period: cuts requests in flight. */
  readonly cut: AbortSignal;
  /** Journals one finished line (the runner's, shared with ordinary lines). */
  readonly record: (line: JobLine, outcome: Extract<LineOutcome, { kind: 'done' }>) => Promise<void>;
}

/** The line at `offset` of the input file. */
async function lineAt(
  path: LineSource,
  offset: number,
  index: number,
  endpoint: string,
): Promise<JobLine | null> {
  const lines = readLines(path, { maxLineBytes: DEFAULT_MAX_LINE_BYTES, start: offset });
  try {
    const first = await lines.next();
    if (first.done === true || first.value.text === null) return null;
    const parsed = parseJobLine(first.value.text, index, first.value.number, endpoint);
    return parsed.ok ? parsed.line : null;
  } finally {
    await lines.return(undefined);
  }
}

async function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  try {
    await clock.sleep(ms, signal);
  } catch {
    // woken early
  }
}

/**
 * Polls one sub-batch until it ended, journals its answers, then its end. Returns `stopped` when
 * it left for a shutdown (the sub-batch is polled again on the next start), else `ended`.
 */
export async function driveSub(o: DriveOptions): Promise<'ended' | 'stopped'> {
  const { sub, job, summary } = o;
  let wait = o.pollMs;
  let cancelAsked = false;
  let failures = 0;
  // Waits end early on a cancel (to cancel at the provider) or a shutdown; once the job is halted,
  // only the cut ends them. One signal for the whole drive (no listener per wait).
  const either = AbortSignal.any([o.halt, o.cut]);
  const wake = (): AbortSignal => (o.halt.aborted ? o.cut : either);
  const end = async (status: string): Promise<'ended'> => {
    await o.journal.append({ subEnd: sub.id, status });
    summary.subsEnded.add(sub.id);
    return 'ended';
  };
  const transient = async (what: string, message: string, cls: string): Promise<boolean> => {
    failures++;
    if (!TRANSIENT.has(cls) || failures > MAX_TRANSIENT_FAILURES) {
      o.log.warn(
        { job: job.id, sub: sub.id, error: message, failures },
        `native batch ${what} failed; its unanswered requests run as ordinary requests`,
      );
      return false;
    }
    await sleep(o.clock, Math.min(MAX_POLL_MS, o.pollMs * 2 ** Math.min(failures, 10)), wake());
    return true;
  };

  for (;;) {
    if (o.stopping() || o.cut.aborted) return 'stopped';
    const engine = o.engine();
    if (engine === null) {
      await sleep(o.clock, 1000, wake());
      continue;
    }
    const api = engine.nativeBatch(sub.provider);
    if (api === null) {
      o.log.warn(
        { job: job.id, sub: sub.id, provider: sub.provider },
        'native batch provider gone from the policy; its requests run as ordinary requests',
      );
      return end('provider_gone');
    }
    if (o.shouldCancel() && !cancelAsked) {
      cancelAsked = true;
      const cancelled = await api.cancel(sub.id, o.cut, sub.connectMs);
      if (!cancelled.ok)
        o.log.warn(
          { job: job.id, sub: sub.id, error: cancelled.error.message },
          'native batch cancel refused',
        );
    }
    const polled = await api.poll(sub.id, o.cut, sub.connectMs).catch((err: unknown) => {
      if (o.cut.aborted) return null;
      throw err;
    });
    if (polled === null) return 'stopped';
    if (!polled.ok) {
      if (await transient('poll', polled.error.message, polled.error.class)) continue;
      return end('lost');
    }
    if (polled.value.ended) {
      if (polled.value.status !== 'completed' && polled.value.status !== 'ended') {
        o.log.warn(
          { job: job.id, sub: sub.id, status: polled.value.status, error: polled.value.message },
          'native batch ended without completing; the requests it did not answer run as ordinary requests',
        );
      }
      const got = await ingest(o, api);
      if (got === 'stopped') return 'stopped';
      if (got === 'ok') return end(polled.value.status);
      if (await transient('download', got.message, got.cls)) continue;
      return end('lost');
    }
    failures = 0;
    await sleep(o.clock, wait, wake());
    wait = Math.min(MAX_POLL_MS, wait * 2);
  }
}

/** Journals the answers of an ended sub-batch (those not journaled yet). */
async function ingest(
  o: DriveOptions,
  api: NativeBatchApi,
): Promise<'ok' | 'stopped' | { readonly message: string; readonly cls: string }> {
  const { sub, job, summary } = o;
  const position = new Map<number, number>();
  for (let k = 0; k < sub.lines.length; k++) position.set(sub.lines[k], k);
  try {
    for await (const item of api.results(sub.id, o.cut, sub.connectMs)) {
      if (o.stopping()) return 'stopped';
      const index = indexOf(item.customId);
      const k = index === null ? undefined : position.get(index);
      if (index === null || k === undefined || summary.done.has(index) || !item.ok) continue;
      const line = await lineAt(o.input, sub.offsets[k], index, job.endpoint);
      if (line === null) continue;
      for (let deferrals = 0; ; deferrals++) {
        let engine = o.engine();
        while (engine === null) {
          await sleep(o.clock, 1000, o.cut);
          if (o.cut.aborted) return 'stopped';
          engine = o.engine();
        }
        const outcome = await runJobLine(engine, line, {
          jobId: job.id,
          jobKind: 'batch',
          tenant: job.owner,
          headers: job.headers,
          // An answer already paid for is never given up for the gateway's own rate limit (or
          // unavailable targets): it waits (backoff up to a minute) and is offered again.
          deferrals: Math.min(deferrals, MAX_DEFERRALS - 1),
          signal: o.cut,
          nativeAnswer: {
            target: sub.target,
            body: item.body as unknown as Record<string, unknown>,
            usage: item.usage,
          },
        });
        if (outcome.kind === 'aborted') return 'stopped';
        if (outcome.kind === 'done') {
          await o.record(line, outcome);
          break;
        }
        // Refused by the gateway's own rate limit: the answer is kept and offered again later.
        await sleep(o.clock, outcome.waitMs, o.cut);
        if (o.cut.aborted) return 'stopped';
      }
    }
  } catch (err) {
    if (o.cut.aborted) return 'stopped';
    if (!(err instanceof ProviderFailure)) throw err;
    return { message: err.failure.message, cls: err.failure.class };
  }
  return 'ok';
}

/** Whether some line of an ended sub-batch is still without a result (it runs as an ordinary request). */
export function unansweredNative(summary: JournalSummary): boolean {
  for (const [id, sub] of summary.subs) {
    if (!summary.subsEnded.has(id)) continue;
    if (sub.lines.some((i) => !summary.done.has(i))) return true;
  }
  return false;
}
