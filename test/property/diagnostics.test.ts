/**
 * P18 — diagnostics locate the fault. For every single-node mutation of a valid generated policy
 * (wrong type, unknown key, bad enum value, dangling reference, duplicate key), load + validate
 * report at least one error whose pointer resolves in the document, whose line and column lie
 * inside the mutated node, and, for a name misspelt by at most two edits, whose hint names the
 * original. And the unmutated policies validate with no error at all.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isMap, isScalar, LineCounter, type Pair, parseDocument, type YAMLMap } from 'yaml';
import type { Diagnostic } from '../../engine/policy/diagnostics.js';
import { editDistance } from '../../engine/policy/hints.js';
import { parsePolicySources } from '../../engine/policy/load.js';
import { validatePolicy } from '../../engine/policy/validate/index.js';
import policySchema from '../../schemas/policy.schema.json' with { type: 'json' };
import { arbPolicy, type PlainPolicy, printPolicy } from '../support/arb-policy.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 300);

type Path = (string | number)[];
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function check(yaml: string): {
  errors: Diagnostic[];
  all: Diagnostic[];
  load: ReturnType<typeof parsePolicySources>;
} {
  const load = parsePolicySources([{ file: 'p.yaml', text: yaml }], { env: {} });
  const validated = validatePolicy(load);
  const all = [...load.diagnostics, ...validated.diagnostics];
  return { errors: all.filter((d) => d.severity === 'error'), all, load };
}

/** Every property name the schema knows anywhere, so a typo never lands on another valid key. */
const KNOWN_KEYS = new Set<string>();
(function collect(node: unknown): void {
  if (Array.isArray(node)) node.forEach(collect);
  else if (isObj(node)) {
    if (isObj(node.properties)) for (const k of Object.keys(node.properties)) KNOWN_KEYS.add(k);
    for (const v of Object.values(node)) collect(v);
  }
})(policySchema);

/** A deterministic one- or two-edit typo of `word` chosen by `seed`. */
function typo(word: string, seed: number, edits = 1): string {
  let out = word;
  for (let e = 0; e < edits; e++) {
    const s = seed + e * 7919;
    const i = s % out.length;
    switch (Math.floor(s / out.length) % 4) {
      case 0: // transpose with the next character
        if (i + 1 < out.length && out[i] !== out[i + 1]) {
          out = out.slice(0, i) + out[i + 1] + out[i] + out.slice(i + 2);
          break;
        }
        out = `${out.slice(0, i)}${out[i]}${out.slice(i)}`;
        break;
      case 1: // delete
        out = out.length > 3 ? out.slice(0, i) + out.slice(i + 1) : `${out}x`;
        break;
      case 2: // double a character
        out = `${out.slice(0, i)}${out[i]}${out.slice(i)}`;
        break;
      default: {
        // substitute with a letter that differs
        const c = out[i] === 'q' ? 'z' : 'q';
        out = out.slice(0, i) + c + out.slice(i + 1);
      }
    }
  }
  return out;
}

interface Mutation {
  kind: 'wrong-type' | 'unknown-key' | 'bad-enum' | 'dangling-ref' | 'duplicate-key';
  /** Path of the mutated node: a value, or (unknown/duplicate key) the mapping holding the key. */
  path: Path;
  /** For key mutations: the key as it appears after the mutation. */
  key?: string;
  /** For dangling references: the name that was misspelt. */
  original?: string;
  /** Candidate names the misspelling competes with. */
  names?: string[];
  apply(policy: PlainPolicy): void;
}

function getIn(root: unknown, path: Path): unknown {
  let cur = root;
  for (const t of path) cur = Array.isArray(cur) ? cur[Number(t)] : isObj(cur) ? cur[String(t)] : undefined;
  return cur;
}

function setIn(root: unknown, path: Path, value: unknown): void {
  const parent = getIn(root, path.slice(0, -1));
  const last = path[path.length - 1];
  if (Array.isArray(parent)) parent[Number(last)] = value;
  else if (isObj(parent)) parent[String(last)] = value;
}

/** Renames a key in place, keeping its position (so the printed YAML keeps its shape). */
function renameKey(obj: Obj, from: string, to: string): void {
  const entries = Object.entries(obj);
  for (const k of Object.keys(obj)) delete obj[k];
  for (const [k, v] of entries) obj[k === from ? to : k] = v;
}

/** Every target-name position in a targets list (nested groups included). */
function targetRefs(targets: unknown, base: Path, out: Path[]): void {
  if (!Array.isArray(targets)) return;
  targets.forEach((t, k) => {
    if (typeof t === 'string') out.push([...base, k]);
    else if (isObj(t) && typeof t.model === 'string') out.push([...base, k, 'model']);
    else if (isObj(t)) {
      if (typeof t.strategy === 'string') out.push([...base, k, 'strategy']);
      targetRefs(t.targets, [...base, k, 'targets'], out);
    }
  });
}

function candidates(policy: PlainPolicy, seed: number): Mutation[] {
  const out: Mutation[] = [];
  const wrongType = (path: Path, value: unknown): void => {
    if (getIn(policy, path) !== undefined)
      out.push({ kind: 'wrong-type', path, apply: (p) => setIn(p, path, value) });
  };
  const unknownKey = (path: Path): void => {
    const obj = getIn(policy, path);
    if (!isObj(obj)) return;
    for (const key of Object.keys(obj)) {
      let t = typo(key, seed);
      for (let s = seed + 1; KNOWN_KEYS.has(t) || t in obj; s++) t = typo(key, s);
      out.push({ kind: 'unknown-key', path, key: t, apply: (p) => renameKey(getIn(p, path) as Obj, key, t) });
    }
  };
  const badEnum = (path: Path, allowed: readonly string[]): void => {
    const v = getIn(policy, path);
    if (typeof v !== 'string') return;
    let t = typo(v, seed);
    for (let s = seed + 1; allowed.includes(t); s++) t = typo(v, s);
    out.push({ kind: 'bad-enum', path, apply: (p) => setIn(p, path, t) });
  };
  const dangling = (path: Path, names: string[]): void => {
    const v = getIn(policy, path);
    if (typeof v !== 'string') return;
    const t = typo(v, seed, 1 + (seed % 2));
    out.push({ kind: 'dangling-ref', path, original: v, names, apply: (p) => setIn(p, path, t) });
  };
  const duplicate = (path: Path): void => {
    const obj = getIn(policy, path);
    if (!isObj(obj)) return;
    for (const key of Object.keys(obj)) out.push({ kind: 'duplicate-key', path, key, apply: () => {} });
  };

  const providers = isObj(policy.providers) ? Object.keys(policy.providers) : [];
  const models = isObj(policy.models) ? Object.keys(policy.models) : [];
  const routes = Array.isArray(policy.routes) ? policy.routes : [];

  wrongType(['policy', 'version'], 12345);
  unknownKey(['policy']);
  duplicate([]);
  duplicate(['models']);
  for (const p of providers) {
    wrongType(['providers', p, 'kind'], 5);
    unknownKey(['providers', p]);
    badEnum(['providers', p, 'kind'], ['openai', 'anthropic', 'mock']);
  }
  for (const m of models) {
    wrongType(['models', m, 'provider'], 7);
    wrongType(['models', m, 'context'], 'big');
    unknownKey(['models', m]);
    dangling(['models', m, 'provider'], providers);
    duplicate(['models', m]);
  }
  routes.forEach((route, i) => {
    if (!isObj(route)) return;
    wrongType(['routes', i, 'name'], 42);
    wrongType(['routes', i, 'targets'], 'fast');
    wrongType(['routes', i, 'when'], 'always');
    wrongType(['routes', i, 'maxAttempts'], 'many');
    if (isObj(route.when))
      for (const f of Object.keys(route.when)) wrongType(['routes', i, 'when', f], [1, 2]);
    unknownKey(['routes', i]);
    duplicate(['routes', i]);
    badEnum(['routes', i, 'strategy'], ['fallback', 'weighted', 'latency', 'sticky']);
    const refs: Path[] = [];
    targetRefs(route.targets, ['routes', i, 'targets'], refs);
    for (const r of refs) {
      if (r[r.length - 1] === 'strategy') badEnum(r, ['fallback', 'weighted', 'latency', 'sticky']);
      else dangling(r, models);
    }
  });
  badEnum(['defaults', 'retry', 'backoff', 'jitter'], ['full', 'equal', 'none']);
  unknownKey(['defaults', 'timeout']);
  return out;
}

/** Applies a mutation and finds the mutated node's span in the printed text. */
function mutate(
  policy: PlainPolicy,
  m: Mutation,
): { yaml: string; start: [number, number]; end: [number, number] } {
  let yaml: string;
  if (m.kind === 'duplicate-key') {
    const doc = parseDocument(printPolicy(policy));
    const map = m.path.length === 0 ? doc.contents : doc.getIn(m.path, true);
    if (!isMap(map)) throw new Error('duplicate-key mutation needs a mapping');
    const pair = (map as YAMLMap).items.find((p) => isScalar(p.key) && p.key.value === m.key);
    if (!pair) throw new Error('key not found');
    (map as YAMLMap).items.push(pair.clone() as Pair);
    yaml = doc.toString({ lineWidth: 0 });
  } else {
    const clone = structuredClone(policy);
    m.apply(clone);
    yaml = printPolicy(clone);
  }
  const lines = new LineCounter();
  const doc = parseDocument(yaml, { uniqueKeys: false, lineCounter: lines });
  let range: readonly number[] | null | undefined;
  if (m.kind === 'unknown-key' || m.kind === 'duplicate-key') {
    const map = m.path.length === 0 ? doc.contents : doc.getIn(m.path, true);
    if (!isMap(map)) throw new Error(`no mapping at ${m.path.join('/')}`);
    const pairs = (map as YAMLMap).items.filter((p) => isScalar(p.key) && p.key.value === m.key);
    const pair = pairs[pairs.length - 1];
    range = isScalar(pair?.key) ? pair.key.range : undefined;
  } else {
    const node = doc.getIn(m.path, true) as { range?: readonly number[] | null } | undefined;
    range = node?.range;
  }
  if (!range) throw new Error(`mutated node not found at ${m.path.join('/')}`);
  const s = lines.linePos(range[0]);
  const e = lines.linePos(range[1]);
  return { yaml, start: [s.line, s.col], end: [e.line, e.col] };
}

function inside(d: Diagnostic, start: [number, number], end: [number, number]): boolean {
  const at = (l: number, c: number): number => l * 1_000_000 + c;
  const pos = at(d.line, d.column);
  return pos >= at(...start) && pos < at(...end);
}

describe('P18: diagnostics locate the fault', () => {
  it('the mutation catalogue exercises every kind of single-node mutation', () => {
    const kinds = new Set<string>();
    for (const { policy } of fc.sample(arbPolicy(), { numRuns: 50, seed: 18 })) {
      for (const m of candidates(policy, 3)) kinds.add(m.kind);
    }
    expect([...kinds].sort()).toEqual([
      'bad-enum',
      'dangling-ref',
      'duplicate-key',
      'unknown-key',
      'wrong-type',
    ]);
  });

  it('every generated policy validates with no error', () => {
    fc.assert(
      fc.property(arbPolicy(), ({ yaml }) => {
        const { errors } = check(yaml);
        expect(errors, `${yaml}\n${JSON.stringify(errors, null, 2)}`).toEqual([]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a single-node mutation gives an error that resolves, lies inside the mutated node and hints the original', () => {
    fc.assert(
      fc.property(arbPolicy(), fc.nat(), fc.nat({ max: 10_000 }), ({ policy }, pick, seed) => {
        const all = candidates(policy, seed);
        const m = all[pick % all.length];
        if (m.kind === 'dangling-ref') {
          // The misspelling must be nearer to its original than to any other defined name.
          const mutated = typo(m.original ?? '', seed, 1 + (seed % 2));
          fc.pre(!(m.names ?? []).includes(mutated));
          const dist = (n: string): number => editDistance(mutated, n);
          const others = (m.names ?? []).filter((n) => n !== m.original);
          fc.pre(others.every((n) => dist(n) > dist(m.original ?? '')));
        }
        const { yaml, start, end } = mutate(policy, m);
        const { errors, load } = check(yaml);
        const context = `${m.kind} at /${m.path.join('/')}${m.key ? ` key ${m.key}` : ''}\n${yaml}\n${JSON.stringify(errors, null, 2)}`;
        expect(errors.length, context).toBeGreaterThan(0);
        const located = errors.filter(
          (d) =>
            (load.sourceMap.locate(d.pointer) ?? load.sourceMap.locateNearest(d.pointer)) !== undefined &&
            inside(d, start, end),
        );
        expect(located.length, context).toBeGreaterThan(0);
        if (m.kind === 'dangling-ref') {
          expect(
            located.some((d) => d.hint === m.original),
            context,
          ).toBe(true);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
