/**
 * The shape of the code: imports flow one way. This test reads every `.ts` file under `engine/`,
 * `server/` and `cli/`, collects each relative import (`import`, `import type`, `export ... from`,
 * `export * from`, `import('...')` expressions and `import('...').T` types), and checks the graph
 * of *units* against the layers below. It names each forbidden edge (file → import as written)
 * and each folder cycle.
 *
 * Units: each folder directly under `engine/` (`engine/cache`, ...), each file directly under
 * `engine/` (`engine/types`, `engine/decide`, ...), and the top-level folders `server`, `cli`,
 * `schemas`.
 *
 * Layers, bottom to top. A unit may import units of a LOWER layer only: never a higher layer
 * (upward), never another unit of its own layer (peers stay independent).
 *
 *    0  schemas, engine/types   generated JSON Schemas (data); the contracts between the stages
 *                               (plus ERROR_CLASSES and NEVER_RETRIED). Import nothing.
 *    1  engine/shared           units (durations, sizes, rates, money), regex, canonical JSON, GCRA
 *                               parameters, guards, usage, credential header names, the Redis
 *                               client life cycle of the stores, the Clock port + VirtualClock.
 *    2  engine/errors, engine/guardrails
 *                               the error catalogue (codes, HTTP status, bodies); the guardrail
 *                               detectors, text by scope and one check (pure: validation and
 *                               compile use them, so they sit below policy).
 *    3  engine/policy           load, validate, diagnostics, formats, the code catalogue.
 *    4  engine/match            the `when` language: field getters, compiled predicates.
 *    5  engine/limits, engine/cache, engine/providers, engine/classify
 *                               peers: none imports another (see the providers allow-list).
 *                               classify: the classifiers' pure parts (heuristic, parsing).
 *    6  engine/compile          compilePolicy, route graph, plans; loadPolicy (load → validate →
 *                               compile). Imports providers TYPE-ONLY (ProviderSpec).
 *    7  engine/context, engine/request-checks
 *    8  engine/decide
 *    9  engine/replay, engine/ingress
 *                               recording and replay of traffic; the Responses and Messages APIs
 *                               translated to and from the internal chat request (peers).
 *   10  engine/runtime          the engine: stages, attempts, breakers, stores.
 *   10b engine/testing          policy unit tests (`switchyard test`): runs cases through the engine.
 *       engine/jobs             batches and deferred requests: runs job requests through the engine
 *                               (a peer of engine/testing).
 *   11  engine/index            the public entry (what `package.json` exports).
 *   12  engine/serving          the part of the engine a serving process loads (its types come
 *                               from engine/index, type-only): the gateway does not load the test
 *                               runner, replay or diff.
 *   13  server                  may import from engine/ ONLY engine/index.ts and engine/serving.ts.
 *   14  cli                     may import server, and from engine/ ONLY the same two entries.
 *
 * Folder cycles: among units, and among nested folders of a unit (e.g. `engine/runtime/stages`
 * and `engine/runtime/attempts`), ignoring edges between a folder and its own ancestors (an
 * index importing its subfolders, which import their parent's helpers, is the normal shape).
 * Allow-listed edges are left out of the cycle search: each is a known, listed exception.
 *
 * A new folder or root file under engine/ fails the test until it is given a layer here.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const LAYERS: readonly (readonly string[])[] = [
  ['schemas', 'engine/types'],
  ['engine/shared'],
  ['engine/errors', 'engine/guardrails'],
  ['engine/policy'],
  ['engine/match'],
  ['engine/limits', 'engine/cache', 'engine/providers', 'engine/classify'],
  ['engine/compile'],
  ['engine/context', 'engine/request-checks'],
  ['engine/decide'],
  ['engine/replay', 'engine/ingress'],
  ['engine/runtime'],
  ['engine/testing', 'engine/jobs'],
  ['engine/index'],
  ['engine/serving'],
  ['server'],
  ['cli'],
];

/** Units that may import `to` only with `import type` / `export type`, though it is below them. */
const TYPE_ONLY: readonly { from: string; to: string; why: string }[] = [
  { from: 'engine/compile', to: 'engine/providers', why: 'compile needs the provider spec shape only' },
];

/** Units that, of the engine, may import only its entries. */
const PUBLIC_ENTRY_ONLY = ['server', 'cli'];
const PUBLIC_ENTRIES = ['engine/index', 'engine/serving'];

/**
 * Known exceptions, each one exact file → resolved file edge (repo-relative, `.ts`). They are
 * owned by other work in progress; each says what should change. An entry whose edge no longer
 * exists fails the test too, so this list only shrinks.
 */
const ALLOWED: readonly { from: string; to: string; fix: string }[] = [
  // engine/cache/ uses the OpenAI wire format, which lives in engine/providers/ (a peer). Both
  // files are leaves (they import nothing): they should move below the peers, to
  // engine/shared/ (e.g. shared/openai-types.ts, shared/sse.ts), with providers importing them.
  {
    from: 'engine/cache/answer.ts',
    to: 'engine/providers/openai-types.ts',
    fix: 'move openai-types.ts to engine/shared/',
  },
  {
    from: 'engine/cache/stream.ts',
    to: 'engine/providers/openai-types.ts',
    fix: 'move openai-types.ts to engine/shared/',
  },
  { from: 'engine/cache/stream.ts', to: 'engine/providers/sse.ts', fix: 'move sse.ts to engine/shared/' },
];

// ---------------------------------------------------------------------------------------------
// The import graph

interface Edge {
  /** Repo-relative path of the importing file, `/`-separated. */
  readonly from: string;
  /** Repo-relative path of the imported file (`.js` mapped to `.ts`, folders to index.ts). */
  readonly to: string;
  /** The specifier as written. */
  readonly spec: string;
  readonly typeOnly: boolean;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCANNED = ['engine', 'server', 'cli'];

function toPosix(p: string): string {
  return p.split(sep).join('/');
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

function resolveImport(from: string, spec: string): string {
  const raw = toPosix(normalize(join(dirname(from), spec)));
  const candidates = raw.endsWith('.js') ? [`${raw.slice(0, -3)}.ts`, raw] : [raw, `${raw}.ts`];
  for (const c of candidates) {
    const abs = join(ROOT, c);
    if (existsSync(abs) && statSync(abs).isFile()) return c;
  }
  if (existsSync(join(ROOT, raw, 'index.ts'))) return `${raw}/index.ts`;
  return candidates[0];
}

function isTypeOnlyNamed(elements: ts.NodeArray<ts.ImportSpecifier | ts.ExportSpecifier>): boolean {
  return elements.length > 0 && elements.every((e) => e.isTypeOnly);
}

/** Every relative import of one file. */
function importsOf(file: string, text: string): Edge[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const edges: Edge[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    if (spec.startsWith('.')) edges.push({ from: file, to: resolveImport(file, spec), spec, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            isTypeOnlyNamed(clause.namedBindings.elements)));
      add(node.moduleSpecifier.text, typeOnly);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      const clause = node.exportClause;
      const typeOnly =
        node.isTypeOnly ||
        (clause !== undefined && ts.isNamedExports(clause) && isTypeOnlyNamed(clause.elements));
      add(node.moduleSpecifier.text, typeOnly);
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      add(node.moduleReference.expression.text, node.isTypeOnly);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments.length > 0 &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      add(node.arguments[0].text, false);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return edges;
}

function repoGraph(): Edge[] {
  return SCANNED.flatMap(sourceFiles).flatMap((f) => importsOf(f, readFileSync(join(ROOT, f), 'utf8')));
}

// ---------------------------------------------------------------------------------------------
// The checker (pure: a graph in, messages out)

interface Rules {
  readonly layers: readonly (readonly string[])[];
  readonly typeOnly: readonly { from: string; to: string }[];
  readonly publicEntryOnly: readonly string[];
  readonly publicEntries: readonly string[];
  readonly allowed: readonly { from: string; to: string }[];
}

interface Report {
  /** One line per forbidden edge: `file → import  (reason)`. */
  readonly violations: string[];
  /** One line per cycle: the folders in order, then the edges that close it. */
  readonly cycles: string[];
  /** Allow-list entries whose edge no longer exists. */
  readonly stale: string[];
}

/** The unit of a repo-relative file path (see the header). */
function unitOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'engine') return parts[0];
  if (parts.length === 2) return `engine/${parts[1].replace(/\.ts$/, '')}`;
  return `engine/${parts[1]}`;
}

function isAncestor(a: string, b: string): boolean {
  return b.startsWith(`${a}/`);
}

/** Strongly connected components of size > 1 (Tarjan), members in discovery order. */
function cyclesIn(adjacency: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const out: string[][] = [];
  const strong = (v: string): void => {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of adjacency.get(v) ?? []) {
      if (!indexOf.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
      }
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component.reverse());
    }
  };
  for (const v of [...adjacency.keys()].sort()) if (!indexOf.has(v)) strong(v);
  return out;
}

/** The cycles of the graph whose nodes are `nodeOf(file)`, over the edges `include` keeps. */
function describeCycles(
  edges: readonly Edge[],
  nodeOf: (file: string) => string,
  include: (a: string, b: string) => boolean,
  forbidden: ReadonlySet<Edge>,
): string[] {
  const adjacency = new Map<string, Set<string>>();
  const witness = new Map<string, Edge>();
  for (const e of edges) {
    const a = nodeOf(e.from);
    const b = nodeOf(e.to);
    if (a === b || !include(a, b)) continue;
    if (!adjacency.has(a)) adjacency.set(a, new Set());
    adjacency.get(a)!.add(b);
    const seen = witness.get(`${a} ${b}`);
    if (seen === undefined || (forbidden.has(e) && !forbidden.has(seen))) witness.set(`${a} ${b}`, e);
  }
  return cyclesIn(adjacency).map((members) => {
    const inside = new Set(members);
    const via = [...witness.entries()]
      .filter(([key]) => key.split(' ').every((n) => inside.has(n)))
      .map(
        ([, e]) =>
          `      ${e.from} → '${e.spec}'${e.typeOnly ? ' (type)' : ''}${forbidden.has(e) ? '  ← forbidden' : ''}`,
      );
    return `  cycle among ${[...members].sort().join(', ')}:\n${via.join('\n')}`;
  });
}

function checkGraph(edges: readonly Edge[], rules: Rules): Report {
  const layerOf = new Map<string, number>();
  rules.layers.forEach((units, i) => {
    for (const u of units) layerOf.set(u, i);
  });
  const allowed = new Set(rules.allowed.map((a) => `${a.from} ${a.to}`));
  const used = new Set<string>();
  const violations: string[] = [];
  /** Every edge but the allow-listed ones: the cycle search runs on these. */
  const kept: Edge[] = [];
  const forbidden = new Set<Edge>();

  for (const e of edges) {
    const from = unitOf(e.from);
    const to = unitOf(e.to);
    if (from === to) {
      kept.push(e);
      continue;
    }
    const key = `${e.from} ${e.to}`;
    const reason = ((): string | null => {
      const lf = layerOf.get(from);
      const lt = layerOf.get(to);
      if (lf === undefined) return `${from} has no layer: add it to LAYERS in test/architecture.test.ts`;
      if (lt === undefined) return `${to} has no layer: add it to LAYERS in test/architecture.test.ts`;
      if (
        rules.publicEntryOnly.includes(from) &&
        to.startsWith('engine/') &&
        !rules.publicEntries.includes(to)
      ) {
        return `${from} may import the engine only through ${rules.publicEntries.map((e) => `${e}.ts`).join(' or ')}`;
      }
      if (lt > lf) return `upward: ${from} (layer ${lf}) may not import ${to} (layer ${lt})`;
      if (lt === lf) return `peers: ${from} and ${to} share layer ${lf} and may not import each other`;
      if (!e.typeOnly && rules.typeOnly.some((t) => t.from === from && t.to === to)) {
        return `${from} may import ${to} type-only (use \`import type\`)`;
      }
      return null;
    })();
    if (reason !== null && allowed.has(key)) {
      used.add(key);
      continue;
    }
    kept.push(e);
    if (reason === null) continue;
    forbidden.add(e);
    violations.push(`  ${e.from} → '${e.spec}'${e.typeOnly ? ' (type)' : ''}\n      ${reason}`);
  }

  const folderOf = (file: string) => file.slice(0, file.lastIndexOf('/'));
  const sameUnit = (a: string, b: string) => unitOf(`${a}/-`) === unitOf(`${b}/-`);
  const cycles = [
    // between units
    ...describeCycles(kept, unitOf, () => true, forbidden),
    // between nested folders of one unit, ignoring a folder's edges with its own ancestors
    ...describeCycles(
      kept,
      folderOf,
      (a, b) => sameUnit(a, b) && !isAncestor(a, b) && !isAncestor(b, a),
      forbidden,
    ),
  ];
  const stale = rules.allowed
    .filter((a) => !used.has(`${a.from} ${a.to}`))
    .map((a) => `  ${a.from} → ${a.to}`);
  return { violations: [...new Set(violations)], cycles: [...new Set(cycles)], stale };
}

// ---------------------------------------------------------------------------------------------

const RULES: Rules = {
  layers: LAYERS,
  typeOnly: TYPE_ONLY,
  publicEntryOnly: PUBLIC_ENTRY_ONLY,
  publicEntries: PUBLIC_ENTRIES,
  allowed: ALLOWED,
};

describe('architecture: one-way imports', () => {
  const edges = repoGraph();
  const report = checkGraph(edges, RULES);

  it('reads a real graph', () => {
    expect(edges.length).toBeGreaterThan(200);
    expect(
      edges.some((e) => e.from === 'engine/runtime/engine.ts' && e.to === 'engine/compile/compile.ts'),
    ).toBe(true);
  });

  it('has no forbidden edge', () => {
    const message = `${report.violations.length} forbidden import(s):\n${report.violations.join('\n')}`;
    expect(report.violations, message).toEqual([]);
  });

  it('has no folder cycle', () => {
    const message = `${report.cycles.length} folder cycle(s):\n${report.cycles.join('\n')}`;
    expect(report.cycles, message).toEqual([]);
  });

  it('has no stale allow-list entry', () => {
    const message = `allow-listed edges that no longer exist; delete them from ALLOWED:\n${report.stale.join('\n')}`;
    expect(report.stale, message).toEqual([]);
  });

  it('gives every unit a layer exactly once', () => {
    const all = LAYERS.flat();
    expect(new Set(all).size).toBe(all.length);
    const units = new Set(edges.flatMap((e) => [unitOf(e.from), unitOf(e.to)]));
    expect([...units].filter((u) => !all.includes(u))).toEqual([]);
  });
});

describe('architecture checker (self-test: it cannot pass vacuously)', () => {
  const edge = (from: string, to: string, typeOnly = false): Edge => ({
    from,
    to,
    spec: relative(dirname(from), to).replace(/\.ts$/, '.js'),
    typeOnly,
  });
  const clean = [
    edge('engine/runtime/engine.ts', 'engine/compile/compile.ts'),
    edge('engine/compile/compile.ts', 'engine/limits/limiter.ts'),
    edge('engine/limits/limiter.ts', 'engine/shared/units.ts'),
    edge('engine/compile/compile.ts', 'engine/providers/types.ts', true),
    edge('server/app.ts', 'engine/index.ts'),
    edge('cli/commands/serve.ts', 'server/app.ts'),
  ];

  it('accepts a downward graph', () => {
    expect(checkGraph(clean, { ...RULES, allowed: [] })).toEqual({ violations: [], cycles: [], stale: [] });
  });

  it('reports a planted upward edge, naming the file and the import', () => {
    const planted = edge('engine/limits/resilient-store.ts', 'engine/runtime/clock.ts', true);
    const { violations } = checkGraph([...clean, planted], { ...RULES, allowed: [] });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain("engine/limits/resilient-store.ts → '../runtime/clock.js' (type)");
    expect(violations[0]).toContain(
      'upward: engine/limits (layer 5) may not import engine/runtime (layer 10)',
    );
  });

  it('reports peers, engine internals from server/cli, value imports of type-only units, unknown units', () => {
    const { violations } = checkGraph(
      [
        ...clean,
        edge('engine/cache/stream.ts', 'engine/limits/keys.ts'),
        edge('server/explain.ts', 'engine/runtime/attempts/index.ts'),
        edge('cli/io.ts', 'engine/types.ts', true),
        edge('engine/compile/compile.ts', 'engine/providers/index.ts'),
        edge('engine/newthing/a.ts', 'engine/types.ts'),
      ],
      { ...RULES, allowed: [] },
    );
    expect(violations.join('\n')).toMatch(/peers: engine\/cache and engine\/limits/);
    expect(violations.join('\n')).toMatch(/server may import the engine only through engine\/index\.ts/);
    expect(violations.join('\n')).toMatch(/cli may import the engine only through engine\/index\.ts/);
    expect(violations.join('\n')).toMatch(/engine\/compile may import engine\/providers type-only/);
    expect(violations.join('\n')).toMatch(/engine\/newthing has no layer/);
    expect(violations).toHaveLength(5);
  });

  it('lets an allow-listed edge through and reports allow-list entries that are gone', () => {
    const planted = edge('server/explain.ts', 'engine/runtime/attempts/index.ts');
    const allowed = [
      { from: planted.from, to: planted.to },
      { from: 'server/gone.ts', to: 'engine/decide.ts' },
    ];
    const report = checkGraph([...clean, planted], { ...RULES, allowed });
    expect(report.violations).toEqual([]);
    expect(report.stale).toEqual(['  server/gone.ts → engine/decide.ts']);
  });

  it('reports a folder cycle between units and between nested folders', () => {
    const cyclic = [
      ...clean,
      // compile → limits is downward; limits → compile closes a cycle (and is upward)
      edge('engine/limits/keys.ts', 'engine/compile/match.ts'),
      // nested folders of one unit importing each other
      edge('engine/runtime/stages/cache.ts', 'engine/runtime/attempts/index.ts'),
      edge('engine/runtime/attempts/walk.ts', 'engine/runtime/stages/errors.ts'),
      // a folder and its parent importing each other: the normal shape, not a cycle
      edge('engine/runtime/engine.ts', 'engine/runtime/stages/cache.ts'),
      edge('engine/runtime/stages/cache.ts', 'engine/runtime/scope.ts'),
    ];
    const report = checkGraph(cyclic, { ...RULES, allowed: [] });
    expect(report.violations).toHaveLength(1);
    expect(report.cycles).toHaveLength(2);
    expect(report.cycles[0]).toContain('cycle among engine/compile, engine/limits:');
    expect(report.cycles[0]).toContain("engine/limits/keys.ts → '../compile/match.js'  ← forbidden");
    expect(report.cycles[1]).toContain('cycle among engine/runtime/attempts, engine/runtime/stages:');
    expect(report.cycles[1]).toContain("engine/runtime/attempts/walk.ts → '../stages/errors.js'");
    // an allow-listed edge is a known exception: no violation, and left out of the cycle search
    const allowed = [{ from: 'engine/limits/keys.ts', to: 'engine/compile/match.ts' }];
    const excused = checkGraph(cyclic, { ...RULES, allowed });
    expect(excused.violations).toEqual([]);
    expect(excused.cycles).toHaveLength(1);
  });

  it('classifies import forms, type-only included', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../limits/b.js';",
      "import { type C, type D } from './c.js';",
      "import { type E, f } from './e.js';",
      "export * from '../shared/units.js';",
      "export type { G } from './g.js';",
      "import 'node:fs';",
      "const h = () => import('./h.js');",
      "type I = import('./i.js').I;",
    ].join('\n');
    const found = importsOf('engine/cache/x.ts', text).map((e) => `${e.to}${e.typeOnly ? ' type' : ''}`);
    expect(found).toEqual([
      'engine/cache/a.ts',
      'engine/limits/b.ts type',
      'engine/cache/c.ts type',
      'engine/cache/e.ts',
      'engine/shared/units.ts',
      'engine/cache/g.ts type',
      'engine/cache/h.ts',
      'engine/cache/i.ts type',
    ]);
  });
});
