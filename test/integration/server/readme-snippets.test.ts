/**
 * The README's quickstart snippets run as shown, against the gateway on the quickstart policy
 * (port 0 instead of 8080, the only change): the `curl` call and what its comments promise (the
 * primary's 503, the backup answering), the `openai` SDK and Anthropic SDK code blocks (run with
 * tsx from the repository, so the packages resolve as they would for a user), the library block
 * and `examples/embedding.ts`. `switchyard …` commands are run by test/unit/docs/readme-commands.test.ts.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../support/cli-process.js';
import { startServer, type TestServer } from './helpers.js';

const run = promisify(execFile);
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const QUICKSTART = readFileSync(join(ROOT, 'policies/quickstart.yaml'), 'utf8');
const README_ORIGIN = 'http://127.0.0.1:8080';

/** The README's code blocks of one language, in order. */
function blocks(lang: string): string[] {
  return [...README.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\``, 'gm'))].map((m) => m[1]);
}

let t: TestServer;
let origin: string;
let scratch: string;
beforeAll(async () => {
  t = await startServer(QUICKSTART);
  origin = t.server.url;
  // Inside the repository (its ignored .bench-out/), so `openai`, `@anthropic-ai/sdk` and
  // `switchyard` resolve from it as they would for a user.
  mkdirSync(join(ROOT, '.bench-out'), { recursive: true });
  scratch = mkdtempSync(join(ROOT, '.bench-out', 'readme-'));
});
afterAll(async () => {
  await t?.close();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

/** Runs TypeScript source with tsx from the repository root; its stdout. */
async function runTs(name: string, source: string): Promise<string> {
  const file = join(scratch, name);
  writeFileSync(file, source);
  const { stdout } = await run(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, timeout: 60_000 });
  return stdout;
}

describe('the README quickstart snippets', () => {
  // curl is what the README shows; a machine without it cannot run the snippet as written.
  it.skipIf(!existsSync('/usr/bin/curl') && !existsSync('/bin/curl'))(
    'the curl call answers as its comments say: routed to chat, the primary 503s, the backup answers',
    async () => {
      const block = blocks('sh').find((b) => b.includes('curl '));
      expect(block).toBeDefined();
      const command = (block ?? '')
        .split('\n')
        .filter((line) => !line.startsWith('#'))
        .join('\n')
        .replaceAll(README_ORIGIN, origin);
      const { stdout } = await run('sh', ['-c', command], { timeout: 30_000 });
      const lower = stdout.toLowerCase();
      for (const promised of (block ?? '').matchAll(/^# (x-switchyard-[\w-]+): (\S+)/gm)) {
        expect(lower).toContain(`${promised[1]}: ${promised[2]}`);
      }
      expect(stdout).toMatch(/"content":"Echo: Hello!"/);
    },
  );

  it('the openai SDK block (chat and a stream) and the Responses/Anthropic block run as written', async () => {
    const ts = blocks('ts');
    const sdk = ts.find((b) => b.includes("from 'openai'"));
    const other = ts.find((b) => b.includes('client.responses.create'));
    expect(sdk).toBeDefined();
    expect(other).toBeDefined();
    // The second block continues the first (it uses its `client`), as a reader would paste it.
    const source = `${sdk}\n${other}`.replaceAll(README_ORIGIN, origin);
    const out = await runTs('readme-sdk.mts', source);
    expect(out).toContain('Echo: Hello!');
    expect(out).toContain('Echo: Stream me something');
    // The Anthropic SDK's answer is printed as content blocks.
    expect(out).toMatch(/type: 'text'/);
  });

  it('the library block and examples/embedding.ts run as written', async () => {
    const library = blocks('ts').find((b) => b.includes("from 'switchyard'"));
    expect(library).toBeDefined();
    const out = await runTs(
      'readme-library.mts',
      `${library}\nconsole.log(decision.kind, response.status);\nawait engine.close();\n`,
    );
    expect(out.trim()).toBe('route 200');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'examples/embedding.ts')], {
      cwd: ROOT,
      timeout: 60_000,
    });
    expect(stdout).toMatch(/^route chat → primary, backup$/m);
    expect(stdout).toMatch(/200 served by backup/);
  });
});
