/**
 * `switchyard diff old new`: what a policy change changes, in words and in behaviour.
 *
 * - Structurally: every provider, model, tenant, limit, budget, cache and guardrail added,
 *   removed or changed (by canonical JSON, so key order and formatting never count), and every
 *   route added, removed, moved or changed field by field. Secrets are never printed.
 * - Behaviourally: requests sampled from both policies' match space (the models, tenants,
 *   metadata, headers, paths and sizes their `when` clauses name, plus streaming and tools) are
 *   decided under both; every request whose route, attempt order or refusal differs is reported.
 *   The sample is seeded, so a diff is reproducible (P19: `diff(P, P)` is empty).
 */
import type { CompiledPolicy } from '../compile/compile.js';
import { seededRandom } from '../compile/random.js';
import { SECTION_NOUN } from '../policy/validate/wording.js';
import { resolveRequest } from '../runtime/stages/resolve.js';
import { canonicalJson } from '../shared/canonical-json.js';
import { isRecord } from '../shared/guards.js';
import type { RequestInput } from '../types.js';

export interface BehaviourChange {
  /** The sampled request, in words (`model=gpt-5 tenant=acme stream`). */
  readonly request: string;
  readonly before: string;
  readonly after: string;
}

export interface PolicyDiff {
  readonly from: string;
  readonly to: string;
  /** One sentence per structural change (`~ route "chat": targets [a, b] → [b, a]`). */
  readonly structural: readonly string[];
  readonly sampled: number;
  /** Every sampled request decided differently. */
  readonly changed: readonly BehaviourChange[];
}

const SECTIONS = ['providers', 'models', 'tenants', 'limits', 'budgets', 'caches', 'guardrails'] as const;
/** Never shown: a changed secret is reported as changed, not by value. */
const SECRET_KEYS = new Set(['apiKey', 'keys', 'headers', 'url']);

function label(policy: CompiledPolicy): string {
  const { name, version, hash } = policy.identity;
  return `${name}@${version} (${hash.slice(0, 12)})`;
}

function show(key: string, value: unknown): string {
  if (SECRET_KEYS.has(key)) return '(secret)';
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return `[${value.join(', ')}]`;
  return JSON.stringify(value) ?? 'none';
}

function fieldChanges(before: unknown, after: unknown): string[] {
  const a = isRecord(before) ? before : {};
  const b = isRecord(after) ? after : {};
  const out: string[] = [];
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (key === 'description') continue;
    if (canonicalJson(a[key]) === canonicalJson(b[key])) continue;
    out.push(`${key} ${show(key, a[key])} → ${show(key, b[key])}`);
  }
  return out;
}

/** The structural changes from `a` to `b`, one sentence each. */
export function structuralChanges(a: CompiledPolicy, b: CompiledPolicy): string[] {
  const out: string[] = [];
  const da = a.document as unknown as Record<string, unknown>;
  const db = b.document as unknown as Record<string, unknown>;
  for (const section of SECTIONS) {
    const sa = isRecord(da[section]) ? da[section] : {};
    const sb = isRecord(db[section]) ? db[section] : {};
    for (const name of [...new Set([...Object.keys(sa), ...Object.keys(sb)])].sort()) {
      const noun = SECTION_NOUN[section];
      if (!(name in sa)) out.push(`+ ${noun} "${name}"`);
      else if (!(name in sb)) out.push(`- ${noun} "${name}"`);
      else if (canonicalJson(sa[name]) !== canonicalJson(sb[name])) {
        out.push(`~ ${noun} "${name}": ${fieldChanges(sa[name], sb[name]).join('; ')}`);
      }
    }
  }
  if (canonicalJson(da.defaults) !== canonicalJson(db.defaults)) {
    out.push(`~ defaults: ${fieldChanges(da.defaults, db.defaults).join('; ')}`);
  }
  const ra = a.document.routes;
  const rb = b.document.routes;
  const namesA = ra.map((r) => r.name);
  const namesB = rb.map((r) => r.name);
  for (const route of rb)
    if (!namesA.includes(route.name))
      out.push(`+ route "${route.name}" at position ${namesB.indexOf(route.name) + 1}`);
  for (const route of ra) if (!namesB.includes(route.name)) out.push(`- route "${route.name}"`);
  const common = namesA.filter((n) => namesB.includes(n));
  const orderB = namesB.filter((n) => namesA.includes(n));
  if (canonicalJson(common) !== canonicalJson(orderB))
    out.push(`~ route order: [${common.join(', ')}] → [${orderB.join(', ')}]`);
  for (const name of common) {
    const before = ra.find((r) => r.name === name);
    const after = rb.find((r) => r.name === name);
    if (canonicalJson(before) === canonicalJson(after)) continue;
    out.push(`~ route "${name}": ${fieldChanges(before, after).join('; ')}`);
  }
  return out;
}

// ---- the behavioural sample ------------------------------------------------------------------

/** Field → the values `when` clauses compare it with (literals, `in` lists, glob stand-ins). */
function collectValues(node: unknown, field: string | null, out: Map<string, Set<unknown>>): void {
  if (Array.isArray(node)) {
    for (const item of node) collectValues(item, field, out);
    return;
  }
  if (isRecord(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'any' || key === 'all' || key === 'not') collectValues(value, null, out);
      else if (field === null) collectValues(value, key, out);
      else collectValues(value, field, out); // operators (in, eq, glob, gt, ...) of `field`
    }
    return;
  }
  if (field === null || node === null || node === undefined) return;
  let set = out.get(field);
  if (set === undefined) {
    set = new Set();
    out.set(field, set);
  }
  set.add(typeof node === 'string' ? node.replace(/\*/g, 'x').replace(/\?/g, 'y') : node);
  if (typeof node === 'number') {
    set.add(node + 1);
    set.add(Math.max(0, node - 1));
  }
}

interface Sample {
  readonly words: string;
  readonly fields: ReadonlyMap<string, unknown>;
}

function samples(a: CompiledPolicy, b: CompiledPolicy, count: number, seed: number): Sample[] {
  const values = new Map<string, Set<unknown>>();
  for (const p of [a, b]) {
    for (const route of p.document.routes) collectValues(route.when, null, values);
    for (const m of p.acceptedModels) collectValues(m, 'model', values);
    for (const info of p.tenantsByKey.values()) collectValues(info.name, 'tenant', values);
  }
  collectValues('unmatched-model', 'model', values);
  collectValues(true, 'stream', values);
  collectValues(true, 'tools', values);
  const fields = [...values.keys()].sort();
  const random = seededRandom(seed);
  const out: Sample[] = [{ words: '(an empty chat request)', fields: new Map() }];
  const seen = new Set<string>(['']);
  for (let i = 0; out.length < count && i < count * 4; i++) {
    const picked = new Map<string, unknown>();
    for (const field of fields) {
      const options = [...(values.get(field) ?? [])];
      // Each field is absent about half the time, so narrow routes and catch-alls both get hit.
      if (random() < 0.5) continue;
      picked.set(field, options[Math.floor(random() * options.length)]);
    }
    const words = [...picked].map(([k, v]) => (v === true ? k : `${k}=${String(v)}`)).join(' ');
    if (seen.has(words)) continue;
    seen.add(words);
    out.push({ words, fields: picked });
  }
  return out;
}

function inputFor(policy: CompiledPolicy, sample: Sample): RequestInput {
  const body: Record<string, unknown> = { messages: [{ role: 'user', content: 'hello' }] };
  const headers: Record<string, string> = { 'x-switchyard-seed': '7' };
  const metadata: Record<string, string> = {};
  let path = '/v1/chat/completions';
  for (const [field, value] of sample.fields) {
    if (field === 'model') body.model = String(value);
    else if (field === 'stream') body.stream = value === true;
    else if (field === 'tools') body.tools = [{ type: 'function', function: { name: 'f', parameters: {} } }];
    else if (field === 'path') path = String(value);
    else if (field === 'tenant') {
      for (const [key, info] of policy.tenantsByKey)
        if (info.name === value) headers.authorization = `Bearer ${key}`;
    } else if (field.startsWith('metadata.')) metadata[field.slice(9)] = String(value);
    else if (field.startsWith('header.')) headers[field.slice(7)] = String(value);
    else if (field.startsWith('body.')) body[field.slice(5)] = value;
    else if (field === 'input.tokens' && typeof value === 'number') {
      body.messages = [{ role: 'user', content: 'x'.repeat(Math.max(0, value * 4 - 16)) }];
    }
  }
  if (Object.keys(metadata).length > 0) body.metadata = metadata;
  return { body, headers, path };
}

/** What the engine decides for `input`, in words: a route and its attempt order, or a refusal. */
function outcome(policy: CompiledPolicy, input: RequestInput): string {
  const r = resolveRequest(policy, input, () => 0.5, false);
  if (r.kind === 'refused') return `refused ${r.code}`;
  const d = r.decision;
  if (d.kind === 'no_route') return `refused ${d.code}`;
  return `${d.route} [${d.targets.map((t) => t.name).join(', ')}]`;
}

/**
 * The diff from `a` to `b`.
 * @example
 * const d = diffPolicies(live.policy, candidate.policy);
 * console.log(d.structural.join('\n'), `${d.changed.length} of ${d.sampled} requests change`);
 */
export function diffPolicies(
  a: CompiledPolicy,
  b: CompiledPolicy,
  options: { readonly samples?: number; readonly seed?: number } = {},
): PolicyDiff {
  const sample = samples(a, b, options.samples ?? 500, options.seed ?? 1);
  const changed: BehaviourChange[] = [];
  for (const s of sample) {
    const before = outcome(a, inputFor(a, s));
    const after = outcome(b, inputFor(b, s));
    if (before !== after) changed.push({ request: s.words, before, after });
  }
  return {
    from: label(a),
    to: label(b),
    structural: structuralChanges(a, b),
    sampled: sample.length,
    changed,
  };
}

/** The diff for people: structural changes, then what decides differently (10 examples). */
export function formatDiff(diff: PolicyDiff): string {
  const out = [`${diff.from} → ${diff.to}`, ''];
  if (diff.structural.length === 0) out.push('no structural change');
  else
    out.push(
      `${diff.structural.length} structural change${diff.structural.length === 1 ? '' : 's'}:`,
      ...diff.structural.map((s) => `  ${s}`),
    );
  out.push('');
  out.push(`behaviour: ${diff.changed.length} of ${diff.sampled} sampled requests decide differently`);
  for (const c of diff.changed.slice(0, 10)) out.push(`  ${c.request}`, `      ${c.before}  →  ${c.after}`);
  if (diff.changed.length > 10)
    out.push(`  ... and ${diff.changed.length - 10} more (--format json lists them all)`);
  return `${out.join('\n')}\n`;
}
