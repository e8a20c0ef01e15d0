/**
 * What the policy load worker (engine/compile/load-worker.ts) loads: everything its static value
 * imports reach, since an ES module's imports are all evaluated. The worker reads and validates;
 * the compiler (compile.ts and the guardrails, limits and route graph it pulls in) runs on the
 * calling thread, so loading it in the worker is start-up time and native memory for nothing.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const FROM = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s+'(\.[^']+)'/gm;

/** The relative imports of a file that are kept in the emitted JavaScript (not type-only). */
function valueImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(FROM)) {
    if (m[2] !== undefined) continue; // `import type` / `export type`
    const names = /^\{([^}]*)\}$/.exec(m[3].trim());
    if (names !== null) {
      const items = names[1]
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      if (items.length > 0 && items.every((s) => s.startsWith('type '))) continue;
    }
    found.push(join(dirname(file), m[4].replace(/\.js$/, '.ts')));
  }
  return found;
}

function reached(entry: string): Set<string> {
  const seen = new Set<string>();
  const stack = [join(ROOT, entry)];
  while (stack.length > 0) {
    const file = stack.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    stack.push(...valueImports(file));
  }
  return new Set([...seen].map((f) => relative(ROOT, f)));
}

describe('the policy load worker', () => {
  it('loads the loader and the validator, not the compiler', () => {
    const files = reached('engine/compile/load-worker.ts');
    expect(files).toContain('engine/policy/validate/index.ts');
    expect(files).toContain('engine/compile/check.ts');
    expect(files).not.toContain('engine/compile/compile.ts');
    expect(
      [...files].filter((f) => /^engine\/(limits|cache|match|classify|runtime|providers)\//.test(f)),
    ).toEqual([]);
  });

  it('and the first-load child process (load-child.ts) loads no more than the worker', () => {
    const files = reached('engine/compile/load-child.ts');
    expect(files).toContain('engine/compile/check.ts');
    expect([...files].filter((f) => !reached('engine/compile/load-worker.ts').has(f))).toEqual([
      'engine/compile/load-child.ts',
    ]);
  });

  it('sees the compiler where it is loaded (the walk is not vacuous)', () => {
    expect(reached('engine/compile/load-policy.ts')).toContain('engine/compile/compile.ts');
  });
});
