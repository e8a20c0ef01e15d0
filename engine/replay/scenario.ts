/**
 * A replay scenario (`switchyard replay --scenario outages.yaml`): what the upstreams do during the
 * replay, on top of (and instead of) what the recording says they did. Each event names a provider
 * or a model of the policies, a time window on the replay's virtual clock, and what happens then:
 *
 * ```yaml
 * description: openai down for five minutes, the backup slow all morning
 * events:
 *   - provider: openai            # a provider of the policy; or `model: <policy model name>`
 *     from: "2026-12-07T10:00:00Z"
 *     to: "2026-12-07T10:05:00Z"
 *     outage: 503                 # every call answers 503 (also 429, 500, 502, 504, 529, timeout, connect)
 *   - model: backup
 *     from: "09:00"               # UTC time of day: every day of the traffic
 *     to: "12:00"
 *     latency: 300ms              # added to every answer's first byte, first token and end
 *   - provider: anthropic
 *     from: "+0s"                 # relative to the first replayed request
 *     for: 1h
 *     rateLimited: 25%            # this share of calls answers 429
 *     retryAfter: 2s              # with this Retry-After
 * ```
 *
 * A window is `[from, to)`; `for: <duration>` can stand for `to`. `from` and `to` are written the
 * same way: both ISO 8601 instants, both `HH:MM[:SS]` UTC times of day (`to` before `from` wraps
 * past midnight), or both `+<duration>` offsets. When several events apply to a call, an outage
 * wins over a 429 draw, and latencies add up. Which calls a `rateLimited` share hits is drawn
 * from the replay's `--seed`, the request and the call, so a run is reproducible and both sides of
 * a comparison see the same 429s.
 *
 * Problems are reported all at once, each with its file, line and column; names the policies do
 * not declare are errors, with the nearest declared name as a hint.
 */
import { readFile } from 'node:fs/promises';
import type { Node } from 'yaml';
import type { CompiledPolicy } from '../compile/compile.js';
import { didYouMean } from '../policy/hints.js';
import { lazyRequire } from '../shared/lazy-require.js';
import { parseDuration } from '../shared/units.js';
import type { ErrorClass } from '../types.js';

// The YAML parser loads when a file is first parsed (shared/lazy-require.ts).
const yaml = lazyRequire<typeof import('yaml')>('yaml');

export interface ScenarioProblem {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly column: number;
  readonly message: string;
  /** The nearest known name, for a misspelt one. */
  readonly hint?: string;
}

/** A point of a window: an instant, an offset from the first request, or a UTC time of day. */
export type TimePoint =
  | { readonly kind: 'instant'; readonly ms: number }
  | { readonly kind: 'offset'; readonly ms: number }
  | { readonly kind: 'daily'; readonly ms: number };

/** What an outage answers: an HTTP error of a class, silence until the deadline, or a refused connection. */
export type Outage =
  | { readonly kind: 'http'; readonly status: number; readonly errorClass: ErrorClass }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'connect' };

export interface ScenarioEvent {
  /** 1-based line of the event in its file. */
  readonly line: number;
  readonly provider: string | null;
  readonly model: string | null;
  readonly from: TimePoint;
  /** Exclusive end; for `daily`, may be before `from` (wraps midnight); null: a whole day from `from`. */
  readonly to: TimePoint | null;
  readonly outage: Outage | null;
  readonly latencyMs: number;
  /** Share of calls answered 429, in [0, 1]. */
  readonly rateLimited: number;
  readonly retryAfterMs: number | null;
}

export interface Scenario {
  readonly file: string;
  readonly description: string | null;
  readonly events: readonly ScenarioEvent[];
}

export type ScenarioResult =
  | { readonly ok: true; readonly scenario: Scenario }
  | { readonly ok: false; readonly problems: readonly ScenarioProblem[] };

const DAY_MS = 86_400_000;
const TOP_KEYS = ['description', 'events'] as const;
const EVENT_KEYS = [
  'provider',
  'model',
  'from',
  'to',
  'for',
  'outage',
  'latency',
  'rateLimited',
  'retryAfter',
] as const;
const OUTAGE_STATUSES: Readonly<Record<number, ErrorClass>> = {
  429: 'rate_limited',
  500: 'server_error',
  502: 'server_error',
  503: 'overloaded',
  504: 'server_error',
  529: 'overloaded',
};

/** Whether `event` applies at virtual time `t`, the first replayed request having arrived at `start`. */
export function eventActive(event: ScenarioEvent, t: number, start: number): boolean {
  const from = event.from;
  const to = event.to;
  if (from.kind === 'daily') {
    if (to === null) return true;
    const tod = ((t % DAY_MS) + DAY_MS) % DAY_MS;
    return from.ms <= to.ms ? tod >= from.ms && tod < to.ms : tod >= from.ms || tod < to.ms;
  }
  const base = from.kind === 'offset' ? start : 0;
  return t >= base + from.ms && (to === null || t < base + to.ms);
}

/** Reads and checks a scenario file; `policies` give the provider and model names it may use. */
export async function loadScenario(
  path: string,
  policies: readonly CompiledPolicy[],
): Promise<ScenarioResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { ok: false, problems: [{ file: path, line: 1, column: 1, message: `cannot read: ${reason}` }] };
  }
  return parseScenario(path, text, policies);
}

/**
 * Checks scenario text (see the module header for the format).
 * @example
 * const r = parseScenario('s.yaml', 'events: [{ provider: openai, from: "+0s", for: 5m, outage: 503 }]', [policy]);
 * if (!r.ok) for (const p of r.problems) console.error(`${p.file}:${p.line}:${p.column}: ${p.message}`);
 */
export function parseScenario(
  file: string,
  text: string,
  policies: readonly CompiledPolicy[],
): ScenarioResult {
  const lineCounter = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const problems: ScenarioProblem[] = [];
  const at = (node: Node | null | undefined, message: string, hint?: string): void => {
    const offset = node?.range?.[0] ?? 0;
    const pos = lineCounter.linePos(offset);
    problems.push({
      file,
      line: pos.line,
      column: pos.col,
      message,
      ...(hint === undefined ? {} : { hint }),
    });
  };
  for (const e of doc.errors) {
    const pos = lineCounter.linePos(e.pos[0]);
    problems.push({ file, line: pos.line, column: pos.col, message: `YAML: ${e.message.split('\n')[0]}` });
  }
  if (problems.length > 0) return { ok: false, problems };

  const root = doc.contents;
  if (!yaml().isMap(root)) {
    at(root, 'a scenario is a mapping with `events:` (a list of events)');
    return { ok: false, problems };
  }
  let description: string | null = null;
  let eventsNode: Node | null = null;
  for (const pair of root.items) {
    const key = yaml().isScalar(pair.key) ? String(pair.key.value) : '';
    const value = pair.value as Node | null;
    if (key === 'description') {
      if (yaml().isScalar(value) && typeof value.value === 'string') description = value.value;
      else at(value ?? (pair.key as Node), '`description` must be a string');
    } else if (key === 'events') eventsNode = value;
    else at(pair.key as Node, `unknown key "${key}"`, didYouMean(key, TOP_KEYS));
  }
  if (!yaml().isSeq(eventsNode)) {
    at(eventsNode ?? root, '`events` must be a list of events');
    return { ok: false, problems };
  }

  const providers = new Set<string>();
  const models = new Set<string>();
  for (const p of policies) {
    for (const name of p.providers.keys()) providers.add(name);
    for (const name of p.models.keys()) models.add(name);
  }

  const events: ScenarioEvent[] = [];
  for (const item of eventsNode.items) {
    const node = item as Node;
    if (!yaml().isMap(node)) {
      at(node, 'an event is a mapping (provider or model, from, to or for, and what happens)');
      continue;
    }
    const before = problems.length;
    const values = new Map<string, Node>();
    for (const pair of node.items) {
      const key = yaml().isScalar(pair.key) ? String(pair.key.value) : '';
      if (!(EVENT_KEYS as readonly string[]).includes(key)) {
        at(pair.key as Node, `unknown key "${key}"`, didYouMean(key, EVENT_KEYS));
        continue;
      }
      values.set(key, (pair.value as Node | null) ?? (pair.key as Node));
    }
    const str = (key: string): string | null => {
      const v = values.get(key);
      if (v === undefined) return null;
      if (yaml().isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number'))
        return String(v.value);
      at(v, `\`${key}\` must be a string`);
      return null;
    };
    const provider = str('provider');
    const model = str('model');
    if (provider === null && model === null && !values.has('provider') && !values.has('model'))
      at(node, 'an event names a `provider` or a `model` (or both)');
    if (provider !== null && !providers.has(provider))
      at(values.get('provider'), `no provider "${provider}" in the policy`, didYouMean(provider, providers));
    if (model !== null && !models.has(model))
      at(values.get('model'), `no model "${model}" in the policy`, didYouMean(model, models));

    const fromNode = values.get('from');
    const from = fromNode === undefined ? null : timePoint(fromNode, 'from', at);
    if (fromNode === undefined) at(node, 'an event needs `from` (an instant, "HH:MM" or "+<duration>")');
    let to: TimePoint | null = null;
    const toNode = values.get('to');
    const forNode = values.get('for');
    if (toNode !== undefined && forNode !== undefined) at(forNode, 'give `to` or `for`, not both');
    else if (toNode !== undefined) to = timePoint(toNode, 'to', at);
    else if (forNode !== undefined) {
      const d = duration(forNode, 'for', at);
      if (d !== null && from !== null) {
        if (d <= 0) at(forNode, '`for` must be longer than 0');
        else if (from.kind === 'daily')
          to = d >= DAY_MS ? null : { kind: 'daily', ms: (from.ms + d) % DAY_MS };
        else to = { kind: from.kind, ms: from.ms + d };
      }
    } else at(node, 'an event needs `to` or `for`');
    if (from !== null && to !== null && toNode !== undefined) {
      if (from.kind !== to.kind)
        at(
          toNode,
          '`from` and `to` must be written the same way (both instants, both times of day, or both offsets)',
        );
      else if (from.kind !== 'daily' && to.ms <= from.ms) at(toNode, '`to` must be after `from`');
      else if (from.kind === 'daily' && to.ms === from.ms) at(toNode, '`to` must differ from `from`');
    }

    let outage: Outage | null = null;
    const outageNode = values.get('outage');
    if (outageNode !== undefined) {
      const v = yaml().isScalar(outageNode) ? outageNode.value : undefined;
      const status =
        typeof v === 'number' ? v : typeof v === 'string' && /^\d{3}$/.test(v) ? Number(v) : null;
      if (status !== null && OUTAGE_STATUSES[status] !== undefined)
        outage = { kind: 'http', status, errorClass: OUTAGE_STATUSES[status] };
      else if (v === 'timeout') outage = { kind: 'timeout' };
      else if (v === 'connect') outage = { kind: 'connect' };
      else
        at(
          outageNode,
          '`outage` is a status (429, 500, 502, 503, 504, 529), `timeout` (no answer) or `connect` (connection refused)',
        );
    }
    const latencyNode = values.get('latency');
    const latencyMs = latencyNode === undefined ? 0 : (duration(latencyNode, 'latency', at) ?? 0);
    const rateNode = values.get('rateLimited');
    const rateLimited = rateNode === undefined ? 0 : (share(rateNode, at) ?? 0);
    const retryNode = values.get('retryAfter');
    const retryAfterMs = retryNode === undefined ? null : duration(retryNode, 'retryAfter', at);
    if (outageNode === undefined && latencyNode === undefined && rateNode === undefined)
      at(node, 'an event says what happens: `outage`, `latency` or `rateLimited`');

    if (problems.length === before && from !== null) {
      events.push({
        line: lineCounter.linePos(node.range?.[0] ?? 0).line,
        provider,
        model,
        from,
        to,
        outage,
        latencyMs,
        rateLimited,
        retryAfterMs,
      });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, scenario: { file, description, events } };
}

type At = (node: Node | null | undefined, message: string, hint?: string) => void;

const TIME_OF_DAY = /^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$/;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function timePoint(node: Node, key: string, at: At): TimePoint | null {
  const v = yaml().isScalar(node) ? node.value : undefined;
  // YAML reads an unquoted 10:00 as a string; an unquoted ISO date may become a Date.
  const text = v instanceof Date ? v.toISOString() : typeof v === 'string' ? v.trim() : null;
  if (text !== null) {
    const tod = TIME_OF_DAY.exec(text);
    if (tod !== null) {
      return {
        kind: 'daily',
        ms: ((Number(tod[1]) * 60 + Number(tod[2])) * 60 + Number(tod[3] ?? 0)) * 1000,
      };
    }
    if (text.startsWith('+')) {
      const d = parseDuration(text.slice(1));
      if (d.ok) return { kind: 'offset', ms: d.value };
      at(node, `\`${key}\`: ${d.error}`);
      return null;
    }
    if (ISO_INSTANT.test(text)) {
      const ms = Date.parse(text);
      if (!Number.isNaN(ms)) return { kind: 'instant', ms };
    }
  }
  at(
    node,
    `\`${key}\` must be an ISO 8601 instant with a zone ("2026-12-07T10:00:00Z"), a UTC time of day ("10:00") or an offset from the first request ("+5m")`,
  );
  return null;
}

function duration(node: Node, key: string, at: At): number | null {
  const v = yaml().isScalar(node) ? node.value : undefined;
  if (typeof v === 'string' || typeof v === 'number') {
    const d = parseDuration(v);
    if (d.ok) return d.value;
    at(node, `\`${key}\`: ${d.error}`);
    return null;
  }
  at(node, `\`${key}\` must be a duration such as "250ms", "2s" or "5m"`);
  return null;
}

function share(node: Node, at: At): number | null {
  const v = yaml().isScalar(node) ? node.value : undefined;
  let n: number | null = null;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)%$/.exec(v.trim());
    if (m !== null) n = Number(m[1]) / 100;
  }
  if (n !== null && n >= 0 && n <= 1) return n;
  at(node, '`rateLimited` is a share of calls: a percentage ("25%") or a number from 0 to 1');
  return null;
}
