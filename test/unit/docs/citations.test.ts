/**
 * Comments and descriptions cite documents by path (`docs/design.md §2`, `docs/properties.md`,
 * `CONTRIBUTING.md`): every cited document must exist in the repository, so a reader can follow
 * the citation. In code, a citation is a `.md` path with a folder or an upper-case file name,
 * from the root; in Markdown, a link to a `.md` file, from the linking file.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const SCANNED = ['engine', 'server', 'cli', 'test', 'bench', 'scripts', 'schemas', 'docs'];
const EXTENSIONS = /\.(ts|mts|mjs|json|md)$/;

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (EXTENSIONS.test(name)) yield path;
  }
}

/** A cited path, resolved: against the repository root in code, against the file in Markdown. */
interface Citation {
  readonly file: string;
  readonly cited: string;
  readonly resolved: string;
}

function citations(): Citation[] {
  const out: Citation[] = [];
  const extra = ['README.md', 'CONTRIBUTING.md'].map((f) => join(ROOT, f)).filter(existsSync);
  for (const file of [...SCANNED.flatMap((d) => [...files(join(ROOT, d))]), ...extra]) {
    const rel = relative(ROOT, file);
    // The design documents are kept as written; their own references are to the workspace.
    if (rel === 'docs/design.md' || rel === 'docs/properties.md') continue;
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.md')) {
      for (const m of text.matchAll(/\]\(([^)#\s]+\.md)(?:#[^)]*)?\)/g)) {
        if (!/^https?:/.test(m[1])) out.push({ file: rel, cited: m[1], resolved: join(dirname(file), m[1]) });
      }
      continue;
    }
    for (const m of text.matchAll(/(?<![\w/.-])((?:[\w.-]+\/)+[\w.-]+\.md|[A-Z][A-Z_-]+\.md)\b/g)) {
      out.push({ file: rel, cited: m[1], resolved: join(ROOT, m[1]) });
    }
  }
  return out;
}

describe('cited documents exist', () => {
  it('finds the citations it checks', () => {
    const cited = new Set(citations().map((c) => c.cited));
    expect(cited).toContain('docs/design.md');
    expect(cited).toContain('docs/properties.md');
  });

  it('every cited .md file exists in the repository', () => {
    const missing = citations().filter(({ resolved }) => !existsSync(resolved));
    expect(missing.map(({ file, cited }) => ({ file, cited }))).toEqual([]);
  });
});
