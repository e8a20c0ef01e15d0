/**
 * The reference interpreter: the routing semantics of docs/design.md §2 as a deliberately tiny, linear
 * program over the raw policy. It is the specification that `compilePolicy` + `decide` must equal
 * (property P3): review a change here like a change to the language.
 *
 * It shares no code with `engine/match/match.ts`, `engine/compile/graph.ts`, `plan.ts`, `decide.ts` or
 * `engine/context.ts`. It reuses only the seeded PRNG and hash of `engine/compile/random.ts` (the
 * source of randomness is an input, not a semantic) and the duration parser of `engine/shared/units.ts`.
 */

import { groupRng, nextFloat, rendezvousScore } from '../../engine/compile/random.js';
import type { Condition, Policy, Route, Target, When } from '../../engine/policy/types.generated.js';
import { isRecord } from '../../engine/shared/guards.js';
import { parseDuration } from '../../engine/shared/units.js';
import type { BreakerSettings, RequestInput, RetrySettings, TimeoutSettings } from '../../engine/types.js';
import { ERROR_CLASSES } from '../../engine/types.js';

export interface RefTarget {
  name: string;
  provider: string;
  upstreamModel: string;
  timeout: TimeoutSettings;
  retry: RetrySettings;
  breaker: BreakerSettings;
}

export type RefOutcome =
  | { kind: 'invalid'; status: number; code: string }
  | { kind: 'no_route'; status: number; code: string }
  | {
      kind: 'route';
      route: string;
      targets: RefTarget[];
      timeout: TimeoutSettings;
      maxAttempts: number;
      midStream: 'error' | 'continue';
    };

// ---------------------------------------------------------------------------------------------
// The request, as the spec sees it

interface Req {
  path: string;
  model: string;
  body: Record<string, unknown>;
  headers: Record<string, string>;
  tenant: string | null;
  labels: Record<string, string>;
  metadata: Record<string, string>;
  stream: boolean;
  tools: boolean;
  images: boolean;
  tokens: number;
  chars: number;
  seed: number;
}

function toMetaString(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function textLength(content: unknown): number {
  if (typeof content === 'string') return content.length;
  let n = 0;
  if (Array.isArray(content)) {
    for (const p of content) {
      if (typeof p === 'string') n += p.length;
      else if (isRecord(p) && typeof p.text === 'string') n += p.text.length;
    }
  }
  return n;
}

function readRequest(policy: Policy, input: RequestInput, random: () => number): Req | RefOutcome {
  const body = input.body;
  if (!isRecord(body)) return { kind: 'invalid', status: 400, code: 'invalid_body' };
  const headers: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(input.headers ?? {})) {
    if (v === undefined) continue;
    const value = typeof v === 'string' ? v : v.filter((x) => typeof x === 'string').join(', ');
    const name = k.toLowerCase();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const path = (input.path || '/v1/chat/completions').split('?')[0];
  const metadata: Record<string, string> = Object.create(null);
  if ('x-switchyard-metadata' in headers) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(headers['x-switchyard-metadata']);
    } catch {
      return { kind: 'invalid', status: 400, code: 'invalid_metadata' };
    }
    if (!isRecord(parsed)) return { kind: 'invalid', status: 400, code: 'invalid_metadata' };
    for (const [k, v] of Object.entries(parsed)) {
      const s = toMetaString(v);
      if (s !== undefined) metadata[k] = s;
    }
  }
  if (body.metadata !== undefined && body.metadata !== null) {
    if (!isRecord(body.metadata)) return { kind: 'invalid', status: 400, code: 'invalid_metadata' };
    for (const [k, v] of Object.entries(body.metadata)) {
      const s = toMetaString(v);
      if (s !== undefined) metadata[k] = s;
    }
  }
  let seed: number;
  if ('x-switchyard-seed' in headers) {
    const t = headers['x-switchyard-seed'].trim();
    if (!/^\d+$/.test(t) || t.length > 10 || Number(t) > 4294967295) {
      return { kind: 'invalid', status: 400, code: 'invalid_seed' };
    }
    seed = Number(t);
  } else {
    seed = Math.floor(random() * 2 ** 32) >>> 0;
  }
  let tenant: string | null = null;
  let labels: Record<string, string> = {};
  const auth = /^\s*bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  if (auth) {
    for (const [name, t] of Object.entries(policy.tenants ?? {})) {
      if (t?.keys.includes(auth[1])) {
        tenant = name;
        labels = { ...(t.labels as Record<string, string>) };
        break;
      }
    }
  }
  let chars = 0;
  let tokens = 0;
  const messages = Array.isArray(body.messages) ? body.messages : [];
  let images = false;
  if (path.endsWith('/embeddings')) {
    const inp = body.input;
    if (typeof inp === 'string') chars = inp.length;
    if (Array.isArray(inp)) for (const x of inp) if (typeof x === 'string') chars += x.length;
    tokens = Math.ceil(chars / 4);
  } else {
    for (const m of messages) {
      tokens += 4;
      if (isRecord(m)) chars += textLength(m.content);
    }
    tokens += Math.ceil(chars / 4);
  }
  for (const m of messages) {
    if (isRecord(m) && Array.isArray(m.content)) {
      for (const p of m.content) {
        if (isRecord(p) && ['image_url', 'image', 'input_image'].includes(String(p.type))) images = true;
      }
    }
  }
  const hasList = (v: unknown) => Array.isArray(v) && v.length > 0;
  return {
    path,
    model: typeof body.model === 'string' ? body.model : '',
    body,
    headers,
    tenant,
    labels,
    metadata,
    // Only chat completions stream; an embeddings request's `stream` flag means nothing.
    stream: !path.endsWith('/embeddings') && body.stream === true,
    tools: hasList(body.tools) || hasList(body.functions),
    images,
    tokens,
    chars,
    seed,
  };
}

// ---------------------------------------------------------------------------------------------
// Matching

const ABSENT = Symbol('absent');
const OBJECT = Symbol('object');
type Value = string | number | boolean | typeof ABSENT | typeof OBJECT;

function own(record: Record<string, string>, key: string): Value {
  return Object.hasOwn(record, key) ? record[key] : ABSENT;
}

function fieldValue(req: Req, field: string): Value {
  if (field === 'model') return req.model === '' ? ABSENT : req.model;
  if (field === 'path') return req.path;
  if (field === 'tenant') return req.tenant ?? ABSENT;
  if (field === 'stream') return req.stream;
  if (field === 'tools') return req.tools;
  if (field === 'input.tokens') return req.tokens;
  if (field === 'input.chars') return req.chars;
  const [scope, ...rest] = field.split('.');
  const key = rest.join('.');
  if (scope === 'label') return own(req.labels, key);
  if (scope === 'header') return own(req.headers, key.toLowerCase());
  if (scope === 'metadata') return own(req.metadata, key);
  if (scope === 'body') {
    if (!Object.hasOwn(req.body, key)) return ABSENT;
    const v = req.body[key];
    if (v === null || v === undefined) return ABSENT;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    return OBJECT;
  }
  return ABSENT;
}

function globMatches(glob: string, text: string): boolean {
  // Dynamic programming over the pattern: `*` any run, `?` one character.
  const p = [...glob];
  const t = [...text];
  let row = new Array<boolean>(t.length + 1).fill(false);
  row[0] = true;
  for (const c of p) {
    const next = new Array<boolean>(t.length + 1).fill(false);
    if (c === '*') {
      next[0] = row[0];
      for (let j = 1; j <= t.length; j++) next[j] = row[j] || next[j - 1];
    } else {
      for (let j = 1; j <= t.length; j++) next[j] = row[j - 1] && (c === '?' || c === t[j - 1]);
    }
    row = next;
  }
  return row[t.length];
}

function regexMatches(source: string, text: string): boolean {
  const m = /^\(\?([ims]+)\)/.exec(source);
  const flags = `u${m ? [...new Set(m[1])].join('') : ''}`;
  return new RegExp(m ? source.slice(m[0].length) : source, flags).test(text);
}

function asNumber(v: Value): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return Number.NaN;
}

function holds(v: Value, cond: Condition): boolean {
  const scalar = v !== ABSENT && v !== OBJECT;
  if (typeof cond !== 'object') return scalar && String(v) === String(cond);
  if (cond.in !== undefined && !(scalar && cond.in.some((x) => String(x) === String(v)))) return false;
  if (cond.glob !== undefined && !(scalar && globMatches(cond.glob, String(v)))) return false;
  if (cond.regex !== undefined && !(scalar && regexMatches(cond.regex, String(v)))) return false;
  if (cond.gt !== undefined && !(asNumber(v) > cond.gt)) return false;
  if (cond.gte !== undefined && !(asNumber(v) >= cond.gte)) return false;
  if (cond.lt !== undefined && !(asNumber(v) < cond.lt)) return false;
  if (cond.lte !== undefined && !(asNumber(v) <= cond.lte)) return false;
  if (cond.exists !== undefined && (v !== ABSENT) !== cond.exists) return false;
  return true;
}

function matches(req: Req, when: When | undefined): boolean {
  if (when === undefined) return true;
  for (const [key, cond] of Object.entries(when as Record<string, unknown>)) {
    if (cond === undefined) continue;
    if (key === 'all') {
      if (!(cond as When[]).every((w) => matches(req, w))) return false;
    } else if (key === 'any') {
      if (!(cond as When[]).some((w) => matches(req, w))) return false;
    } else if (key === 'not') {
      if (matches(req, cond as When)) return false;
    } else if (!holds(fieldValue(req, key), cond as Condition)) {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Settings

function ms(d: string): number {
  const r = parseDuration(d);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/** Merges layers key by key: a later layer's defined key wins. */
function layered<T extends object>(layers: (T | undefined)[]): Partial<T> {
  const out: Partial<T> = {};
  for (const l of layers) {
    for (const [k, v] of Object.entries(l ?? {}))
      if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

function settingsFor(policy: Policy, route: Route, modelName: string): RefTarget {
  const model = policy.models?.[modelName];
  if (!model) throw new Error(`unknown model ${modelName}`);
  const d = policy.defaults;
  const t = layered([d?.timeout, route.timeout, model.timeout]);
  const total = layered([d?.timeout, route.timeout]).total;
  const r = layered([d?.retry, route.retry, model.retry]);
  const bo = layered([d?.retry?.backoff, route.retry?.backoff, model.retry?.backoff]);
  const b = layered([d?.breaker, route.breaker, model.breaker]);
  return {
    name: modelName,
    provider: model.provider,
    upstreamModel: model.model,
    timeout: {
      connectMs: ms(t.connect ?? '5s'),
      firstTokenMs: ms(t.firstToken ?? '60s'),
      idleMs: ms(t.idle ?? '30s'),
      totalMs: ms(total ?? '300s'),
    },
    retry: {
      attempts: r.attempts ?? 2,
      backoff: {
        initialMs: ms(bo.initial ?? '250ms'),
        maxMs: ms(bo.max ?? '8s'),
        multiplier: bo.multiplier ?? 2,
        jitter: bo.jitter ?? 'full',
      },
      respectRetryAfterMs: ms(r.respectRetryAfter ?? '30s'),
      retryOn: r.retryOn ?? ['connect', 'rate_limited', 'overloaded', 'server_error'],
      fallbackOn: r.fallbackOn ?? ERROR_CLASSES.filter((c) => c !== 'bad_request' && c !== 'content_policy'),
    },
    breaker: {
      failures: b.enabled === false ? 0 : (b.failures ?? 5),
      windowMs: ms(b.window ?? '30s'),
      cooldownMs: ms(b.cooldown ?? '30s'),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Plans

interface Item {
  targets: RefTarget[];
  weight: number;
  member: string;
}

function stickyValue(req: Req, key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  const v = fieldValue(req, key);
  return typeof v === 'string' ? v : undefined;
}

function weightedOrder(items: Item[], seed: number, position: number): Item[] {
  const rng = groupRng(seed, position);
  const pool = items.filter((i) => i.weight > 0);
  const out: Item[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((s, i) => s + i.weight, 0);
    const r = nextFloat(rng) * total;
    let acc = 0;
    let k = pool.findIndex((i) => {
      acc += i.weight;
      return r < acc;
    });
    if (k < 0) k = pool.length - 1;
    out.push(pool[k]);
    pool.splice(k, 1);
  }
  return [...out, ...items.filter((i) => !(i.weight > 0))];
}

/** The targets of a (sub)tree in attempt order; `counter` numbers groups in pre-order. */
function plan(
  policy: Policy,
  route: Route,
  req: Req,
  group: { strategy?: string; stickyKey?: string; targets: Target[] },
  inheritedSticky: string | undefined,
  counter: { next: number },
): RefTarget[] {
  const position = counter.next++;
  const sticky = group.stickyKey ?? inheritedSticky;
  const items: Item[] = [];
  for (const t of group.targets) {
    if (typeof t === 'object' && 'targets' in t) {
      const childPosition = counter.next;
      const sub = plan(policy, route, req, t, sticky, counter);
      if (sub.length > 0)
        items.push({ targets: sub, weight: t.weight ?? 1, member: `group#${childPosition}` });
      continue;
    }
    const name = typeof t === 'string' ? t : t.model;
    const weight = typeof t === 'string' ? 1 : (t.weight ?? 1);
    const model = policy.models?.[name];
    const caps = model?.capabilities ?? {};
    if (req.tools && caps.tools === false) continue;
    if (req.images && caps.vision === false) continue;
    const target = settingsFor(policy, route, name);
    if (target.upstreamModel === '*') {
      if (req.model === '') continue;
      target.upstreamModel = req.model;
    }
    items.push({ targets: [target], weight, member: name });
  }
  let ordered = items;
  const strategy = group.strategy ?? 'fallback';
  if (items.length > 1 && strategy === 'weighted') ordered = weightedOrder(items, req.seed, position);
  if (items.length > 1 && strategy === 'sticky') {
    const key = stickyValue(req, sticky);
    if (key === undefined) ordered = weightedOrder(items, req.seed, position);
    else {
      const scored = items.map((it, i) => ({ it, i, s: rendezvousScore(key, it.member, it.weight) }));
      scored.sort((a, b) => b.s - a.s || a.i - b.i);
      ordered = scored.map((x) => x.it);
    }
  }
  return ordered.flatMap((i) => i.targets);
}

/**
 * The specification of routing: which route serves `input` and the targets it tries, in order,
 * with their resolved settings.
 */
export function refDecide(policy: Policy, input: RequestInput, random: () => number = () => 0): RefOutcome {
  const req = readRequest(policy, input, random);
  if ('kind' in req) return req;
  for (const route of policy.routes) {
    if (!matches(req, route.when)) continue;
    const targets = plan(policy, route, req, route, undefined, { next: 0 });
    if (targets.length === 0) return { kind: 'no_route', status: 400, code: 'no_eligible_target' };
    const t = layered([policy.defaults?.timeout, route.timeout]);
    return {
      kind: 'route',
      route: route.name,
      targets,
      timeout: {
        connectMs: ms(t.connect ?? '5s'),
        firstTokenMs: ms(t.firstToken ?? '60s'),
        idleMs: ms(t.idle ?? '30s'),
        totalMs: ms(t.total ?? '300s'),
      },
      maxAttempts: route.maxAttempts ?? policy.defaults?.maxAttempts ?? 6,
      midStream: route.stream?.midStream ?? policy.defaults?.stream?.midStream ?? 'error',
    };
  }
  return { kind: 'no_route', status: 404, code: 'no_route' };
}
