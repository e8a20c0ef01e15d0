/**
 * What the published package promises, read from its manifest, lockfile and bin: no TypeScript
 * runner at run time, a `switchyard/server` entry beside the engine's, a bin that runs the build
 * in its own process, `npm start` and `npm run dev` that hand npm's signals to the server, and a
 * dependency tree that installs on the oldest Node the package supports without an engine warning.
 * (What each entry loads is checked by test/integration/packaging/entry-points.test.ts.)
 */
import { existsSync, readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli-process.js';

interface Manifest {
  engines: { node: string };
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
  files: string[];
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  overrides?: unknown;
}

const manifest = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as Manifest;
const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, 'utf8')) as {
  packages: Record<string, { version?: string; dev?: boolean; engines?: Record<string, string> | string[] }>;
};

type Version = [number, number, number];

function parseVersion(text: string): Version {
  const m = /^(\d+)(?:\.(\d+|x))?(?:\.(\d+|x))?$/.exec(text.trim());
  if (m === null) throw new Error(`unrecognised version "${text}"`);
  const part = (s: string | undefined): number => (s === undefined || s === 'x' ? 0 : Number(s));
  return [Number(m[1]), part(m[2]), part(m[3])];
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/**
 * Whether `version` satisfies an `engines.node` range, for the forms npm packages use: `>=V`,
 * `^V`, a bare major, `*`, alternatives joined by `||`. Any other form throws, so the check below
 * never passes by not understanding a range.
 */
function satisfies(version: Version, range: string): boolean {
  return range.split('||').some((alternative) => {
    const a = alternative.trim();
    const ge = /^>=\s*(.+)$/.exec(a);
    if (ge !== null) return compare(version, parseVersion(ge[1])) >= 0;
    const caret = /^\^\s*(.+)$/.exec(a);
    if (caret !== null) {
      const min = parseVersion(caret[1]);
      return version[0] === min[0] && compare(version, min) >= 0;
    }
    if (/^\d+$/.test(a)) return version[0] === Number(a);
    if (a === '*' || a === '') return true;
    throw new Error(`unrecognised engines range "${range}"`);
  });
}

describe('satisfies (the engines check below)', () => {
  it('reads the range forms of the lockfile, and refuses others', () => {
    const v = parseVersion('20.19.0');
    expect(satisfies(v, '>=20.19')).toBe(true);
    expect(satisfies(v, '>=22')).toBe(false);
    expect(satisfies(v, '>= 10.x')).toBe(true);
    expect(satisfies(v, '^20.19.0 || >=22.12.0')).toBe(true);
    expect(satisfies(v, '^20.20.0 || >=22.12.0')).toBe(false);
    expect(satisfies(v, '^18 || ^22')).toBe(false);
    expect(satisfies(v, '20 || >=22')).toBe(true);
    expect(satisfies(v, '*')).toBe(true);
    expect(() => satisfies(v, '~20.1')).toThrow(/unrecognised/);
  });
});

describe('the package', () => {
  it('needs no TypeScript runner or compiler at run time', () => {
    for (const name of ['tsx', 'ts-node', 'esbuild', 'typescript', '@swc/core', 'jiti']) {
      expect(manifest.dependencies, name).not.toHaveProperty(name);
    }
    expect(manifest.devDependencies).toHaveProperty('tsx');
  });

  it('has a bin that runs the build in its own process', () => {
    expect(manifest.bin.switchyard).toBe('./bin/switchyard.js');
    const bin = readFileSync(`${ROOT}bin/switchyard.js`, 'utf8');
    expect(bin).toMatch(/dist\/cli\/bin\.js/);
    for (const word of ['tsx', 'child_process', 'spawn', 'fork', 'execFile']) {
      expect(bin, word).not.toContain(word);
    }
  });

  it('exports the engine and the server as separate entries, each built from a source that exists', () => {
    const entries = { '.': 'engine/index', './server': 'server/index' };
    for (const [key, source] of Object.entries(entries)) {
      expect(manifest.exports[key]).toEqual({
        types: `./dist/${source}.d.ts`,
        import: `./dist/${source}.js`,
      });
      expect(existsSync(`${ROOT}${source}.ts`), source).toBe(true);
    }
    expect(manifest.files).toEqual(expect.arrayContaining(['bin', 'dist', 'schemas']));
  });

  it('starts the gateway with npm so that npm signals the server itself (exec), from dist/ or the sources', () => {
    const start = manifest.scripts.start;
    const dev = manifest.scripts.dev;
    expect(start).toMatch(/^exec node bin\/switchyard\.js /);
    expect(dev).toMatch(/^exec node --import tsx cli\/bin\.ts /);
    // The same command after the entry, so the npm start test (run on dev) covers start.
    expect(start.replace('node bin/switchyard.js', '')).toBe(dev.replace('node --import tsx cli/bin.ts', ''));
    // A checkout builds dist/ on `npm install`, which `npm start` runs.
    expect(manifest.scripts.prepare).toBe('npm run build');
  });

  it('installs on the oldest supported Node without an engine warning (the lockfile is what a consumer resolves)', () => {
    // `overrides` apply to this repository only, never to a consumer: a fix there would hide the
    // warning here and leave it for every user, so the dependency ranges themselves must resolve.
    expect(manifest.overrides).toBeUndefined();
    const oldest = parseVersion(/^>=\s*(\S+)$/.exec(manifest.engines.node)?.[1] ?? '');
    const unsupported = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && !Array.isArray(p.engines) && p.engines?.node !== undefined)
      .filter(([, p]) => !satisfies(oldest, (p.engines as Record<string, string>).node))
      .map(([path, p]) => `${path}@${p.version} needs node ${(p.engines as Record<string, string>).node}`);
    expect(unsupported).toEqual([]);
    // The case that prompted this: fastify → light-my-request ≥ 6.7 → cookie 2, which needs Node 22.
    // The server is on node:http now: neither is a dependency, and nothing pulls cookie in.
    for (const name of ['fastify', 'light-my-request', '@fastify/multipart']) {
      expect(manifest.dependencies, name).not.toHaveProperty(name);
    }
    expect(lock.packages['node_modules/cookie']).toBeUndefined();
  });
});

/** A tsconfig file's options as tsc resolves them (`extends` followed). */
function tsconfig(name: string): ts.ParsedCommandLine {
  const file = `${ROOT}${name}`;
  const read = ts.readConfigFile(file, ts.sys.readFile);
  if (read.error !== undefined)
    throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  return ts.parseJsonConfigFileContent(read.config, ts.sys, ROOT, undefined, file);
}

describe('the build', () => {
  // V8 keeps each loaded module's source text, as two-byte text when any character (a comment's
  // "→" or "×" too) is not Latin-1: the JavaScript ships without comments, the declarations with.
  it('emits the declarations with their documentation and the JavaScript without comments, in one command', () => {
    expect(manifest.scripts.build).toBe('tsc -p tsconfig.build.json && tsc -p tsconfig.build-js.json');
    const types = tsconfig('tsconfig.build.json');
    const js = tsconfig('tsconfig.build-js.json');
    expect(types.options).toMatchObject({ declaration: true, emitDeclarationOnly: true });
    expect(types.options.removeComments).not.toBe(true);
    expect(types.options.noCheck).not.toBe(true); // this pass type-checks
    expect(js.options).toMatchObject({
      removeComments: true,
      declaration: false,
      emitDeclarationOnly: false,
    });
    // The same files to the same place.
    expect(js.fileNames).toEqual(types.fileNames);
    expect(js.options.outDir).toBe(types.options.outDir);
    expect(js.options.rootDir).toBe(types.options.rootDir);
    const source = '/** Sums → a total × 2. */\nexport const sum = (a: number) => a * 2; // why: “ok”\n';
    // (ESNext: alone, transpileModule cannot see package.json's "type": "module".)
    const compilerOptions = { ...js.options, module: ts.ModuleKind.ESNext };
    const out = ts.transpileModule(source, { compilerOptions }).outputText;
    expect(out).toContain('export const sum');
    expect(out).not.toMatch(/[^\x00-\x7f]|\/\*\*|\/\/ why/);
  });
});
