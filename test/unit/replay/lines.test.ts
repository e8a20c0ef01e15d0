import { createReadStream, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { type Line, readLines, readRawLines } from '../../../engine/replay/lines.js';

const dir = mkdtempSync(join(tmpdir(), 'sy-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
async function linesOf(content: string | Buffer, options = {}): Promise<{ lines: Line[]; bytes: number }> {
  const path = join(dir, `f${n++}.jsonl`);
  writeFileSync(path, content);
  const lines: Line[] = [];
  let bytes = 0;
  for await (const batch of readLines(path, options)) {
    lines.push(...batch.lines);
    bytes = batch.bytesRead;
  }
  return { lines, bytes };
}

describe('readLines', () => {
  it('numbers every line as an editor does, returns the non-blank ones, reads CRLF and a last line without newline', async () => {
    const { lines, bytes } = await linesOf('a\r\n\n  \nb\nc');
    expect(lines).toEqual([
      { line: 1, text: 'a' },
      { line: 4, text: 'b' },
      { line: 5, text: 'c' },
    ]);
    expect(bytes).toBe(10);
  });

  it('drops a byte order mark and keeps multi-byte characters split across chunks whole', async () => {
    const text = `\uFEFF${'é'.repeat(40)}\n${'€'.repeat(50)}\n`;
    const { lines } = await linesOf(text, { chunkBytes: 7 });
    expect(lines).toEqual([
      { line: 1, text: 'é'.repeat(40) },
      { line: 2, text: '€'.repeat(50) },
    ]);
  });

  it('reports a line longer than the limit once, with its number, and goes on after it', async () => {
    const { lines } = await linesOf(`ok\n${'x'.repeat(100)}\nafter\n`, { maxLineBytes: 10, chunkBytes: 16 });
    expect(lines).toEqual([
      { line: 1, text: 'ok' },
      { line: 2, text: null },
      { line: 3, text: 'after' },
    ]);
  });

  it('an empty file has no lines', async () => {
    expect((await linesOf('')).lines).toEqual([]);
  });

  it('readRawLines gives the same lines as bytes: decoded, they are the text readLines gives', async () => {
    const cases: [string | Buffer, object][] = [
      ['a\r\n\n  \nb\nc', {}],
      [`\uFEFF${'é'.repeat(40)}\n${'€'.repeat(50)}\n`, { chunkBytes: 7 }],
      [`\uFEFF\n\uFEFFx\n`, {}],
      [`ok\n${'x'.repeat(100)}\nafter\n`, { maxLineBytes: 10, chunkBytes: 16 }],
      ['', {}],
      ['{"v":1}\r\n\t\n{"v":2}', { chunkBytes: 3 }],
    ];
    for (const [content, options] of cases) {
      const path = join(dir, `f${n++}.jsonl`);
      writeFileSync(path, content);
      const raw: Line[] = [];
      let bytes = 0;
      for await (const batch of readRawLines(path, options)) {
        for (const l of batch.lines)
          raw.push({
            line: l.line,
            text: l.chunk === null ? null : l.chunk.toString('utf8', l.start, l.end),
          });
        bytes = batch.bytesRead;
      }
      const text = await linesOf(content, options);
      expect(raw).toEqual(text.lines);
      expect(bytes).toBe(text.bytes);
    }
  });

  it('splits any file into its lines whatever the chunk size (lines straddling one or many chunks)', async () => {
    const lineArb = fc.oneof(fc.string({ maxLength: 40 }), fc.constant(''), fc.constant('\r'));
    await fc.assert(
      fc.asyncProperty(
        fc.array(lineArb, { maxLength: 12 }),
        fc.integer({ min: 1, max: 50 }),
        async (ls, chunkBytes) => {
          const content = ls.map((l) => l.replace(/\n/g, ' ')).join('\n');
          const expected: Line[] = [];
          content.split('\n').forEach((l, i) => {
            const text = l.endsWith('\r') ? l.slice(0, -1) : l;
            if (text.replace(/[ \t]/g, '') !== '') expected.push({ line: i + 1, text });
          });
          if (content === '') expected.length = 0;
          expect((await linesOf(content, { chunkBytes })).lines).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads the chunks a stream of the same chunk size reads (batches end where they did), reading ahead', async () => {
    for (const [size, chunkBytes] of [
      [0, 16],
      [15, 16],
      [16, 16],
      [17, 16],
      [160, 16],
      [1000, 7],
    ]) {
      const path = join(dir, `f${n++}.jsonl`);
      writeFileSync(path, 'abcdefghi\n'.repeat(100).slice(0, size));
      const streamed: number[] = [];
      let total = 0;
      for await (const chunk of createReadStream(path, { highWaterMark: chunkBytes })) {
        total += (chunk as Buffer).length;
        streamed.push(total);
      }
      const read: number[] = [];
      for await (const batch of readRawLines(path, { chunkBytes })) read.push(batch.bytesRead);
      // The last batch may repeat the count: the line after the last newline.
      expect([...new Set(read)]).toEqual(streamed);
    }
  });

  it('closes the file when the reader stops early', async () => {
    const path = join(dir, `f${n++}.jsonl`);
    writeFileSync(path, 'x\n'.repeat(10_000));
    // Open files, where the system says (Linux); else only the reader's own end is checked.
    const open = (): number | null =>
      process.platform === 'linux' ? readdirSync('/proc/self/fd').length : null;
    const before = open();
    const batches = readRawLines(path, { chunkBytes: 64 });
    await batches.next();
    expect(open()).toBe(before === null ? null : before + 1);
    await batches.return(undefined);
    expect(open()).toBe(before);
    expect((await batches.next()).done).toBe(true);
  });
});
