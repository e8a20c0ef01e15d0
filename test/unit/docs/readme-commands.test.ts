/**
 * The README's commands run as shown. Every `switchyard` command the README writes out in full
 * (in a shell block, or inline without `<placeholders>` or `[options]`) is run through the CLI
 * and must exit 0. A file the README names but the repository does not have (`candidate.yaml`,
 * an output such as `replay.html`) is made in a temporary directory: the candidate is the
 * quickstart policy with a new version. `npm install`, `npm start` and `npm test` are proven by
 * `.ci/run` and `test/integration/server/npm-start.test.ts`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliIo, main } from '../../../cli/main.js';
import { ROOT } from '../../support/cli-process.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** `npx switchyard …` lines of the README's shell blocks, continuation lines joined, comments cut. */
function blockCommands(): string[] {
  const out: string[] = [];
  for (const block of README.matchAll(/^```(?:sh|bash)\n([\s\S]*?)^```/gm)) {
    const joined = block[1].replace(/\\\n\s*/g, ' ');
    for (const line of joined.split('\n')) {
      const command = line.replace(/\s+#.*$/, '').trim();
      if (/^(npx )?switchyard /.test(command)) out.push(command);
    }
  }
  return out;
}

/** Inline `switchyard …` spans written out in full (no placeholder, no optional part). */
function inlineCommands(): string[] {
  const out: string[] = [];
  for (const span of README.matchAll(/`((?:npx )?switchyard [^`]+)`/g)) {
    const command = span[1];
    if (/[<[|…]/.test(command) || command.includes('listening')) continue;
    if (command.split(' ').length < (command.startsWith('npx') ? 4 : 3)) continue; // a bare name
    out.push(command);
  }
  return out;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sy-readme-'));
  const quickstart = readFileSync(join(ROOT, 'policies/quickstart.yaml'), 'utf8');
  writeFileSync(
    join(dir, 'candidate.yaml'),
    quickstart.replace(/^(\s*version:\s*).*$/m, '$1readme-candidate'),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The argv the CLI gets: files the repository lacks live in the temporary directory. */
function argvOf(command: string): { argv: string[]; redirect: string | null } {
  const words = command.replace(/^npx /, '').split(/\s+/).slice(1);
  let redirect: string | null = null;
  const redirectAt = words.indexOf('>');
  if (redirectAt >= 0) {
    redirect = words[redirectAt + 1] ?? null;
    words.splice(redirectAt, 2);
  }
  const argv = words.map((w) =>
    /\.(ya?ml|html|json|jsonl|xml)$/.test(w) && !existsSync(join(ROOT, w)) ? join(dir, w) : w,
  );
  return { argv, redirect };
}

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
  };
  return { code: await main(argv, io), stdout, stderr };
}

describe('the README', () => {
  const commands = [...new Set([...blockCommands(), ...inlineCommands()])];

  it('shows switchyard commands to check (the extraction finds them)', () => {
    expect(commands.some((c) => c.includes('replay'))).toBe(true);
    expect(commands.some((c) => c.includes('diff'))).toBe(true);
    expect(commands.some((c) => c.includes('validate'))).toBe(true);
  });

  for (const command of commands) {
    it(`runs as shown: ${command}`, async () => {
      const { argv, redirect } = argvOf(command);
      const { code, stdout, stderr } = await run(argv);
      expect({ code, stderr: stderr.slice(0, 2000) }).toMatchObject({ code: 0 });
      if (redirect?.endsWith('.json')) expect(() => JSON.parse(stdout)).not.toThrow();
      for (const w of argv) {
        // Outputs the command was asked to write exist afterwards.
        if (w.startsWith(dir) && /\.(html|json|xml)$/.test(w)) expect(existsSync(w)).toBe(true);
      }
    }, 60_000);
  }
});
