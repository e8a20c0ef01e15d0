/**
 * Reading a JSON Lines file as a stream of numbered lines, in batches: the file is never held
 * whole, only one chunk and the line it ends in the middle of. Line numbers are 1-based and count
 * every line of the file, blank ones included, so a reported number is the one an editor shows.
 * `\n` and `\r\n` endings are both read; a UTF-8 byte order mark on the first line is dropped.
 *
 * A line longer than `maxLineBytes` is not buffered further: it is reported (`tooLong`) and the
 * reader skips to the next newline, so a file without newlines cannot exhaust memory.
 */
import { createReadStream } from 'node:fs';

export interface Line {
  /** 1-based line number in the file. */
  readonly line: number;
  /** The text without its line ending; null for a line skipped as too long. */
  readonly text: string | null;
}

/**
 * A line as bytes, not decoded: see {@link readRawLines}. Its place in the chunk read, not a view
 * of it: a Buffer view per line costs more than the rest of reading the line.
 */
export interface RawLine {
  /** 1-based line number in the file. */
  readonly line: number;
  /** The chunk holding the line's UTF-8 bytes; null for a line skipped as too long. */
  readonly chunk: Buffer | null;
  /** The line is `chunk[start, end)`, without its line ending. */
  readonly start: number;
  readonly end: number;
}

export interface LineBatch<L = Line> {
  readonly lines: readonly L[];
  /** Bytes of the file read so far. */
  readonly bytesRead: number;
}

export interface ReadLinesOptions {
  /** Longest line kept, in bytes; default 64 MiB. */
  readonly maxLineBytes?: number;
  /** Read size; default 256 KiB. */
  readonly chunkBytes?: number;
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

/**
 * The splitting both readers share: `make` turns the bytes `[start, end)` of `buf` (the line
 * ending dropped, not blank) into a line; `tooLong` the number of a line over the limit.
 */
async function* splitLines<L>(
  path: string,
  options: ReadLinesOptions,
  make: (buf: Buffer, start: number, end: number, line: number) => L,
  tooLong: (line: number) => L,
): AsyncGenerator<LineBatch<L>> {
  const maxLine = options.maxLineBytes ?? 64 * 1024 * 1024;
  const stream = createReadStream(path, { highWaterMark: options.chunkBytes ?? 256 * 1024 });
  let rest: Buffer | null = null;
  let lineNo = 0;
  let bytesRead = 0;
  /** Inside a line already reported as too long: drop bytes up to the next newline. */
  let skipping = false;

  /** Pushes the line `[start, end)` unless it is blank (blank lines, and lines of spaces, are numbered but not returned). */
  const add = (lines: L[], buf: Buffer, start: number, end: number): void => {
    if (end > start && buf[end - 1] === CR) end--;
    let s = start;
    while (s < end && (buf[s] === SPACE || buf[s] === TAB)) s++;
    if (s < end) lines.push(make(buf, start, end, lineNo));
  };

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytesRead += chunk.length;
      const lines: L[] = [];
      let buf: Buffer = chunk;
      let start = 0;
      if (rest !== null) {
        // Only the line that straddles the chunks is copied, not the whole chunk after it.
        const nl = chunk.indexOf(NEWLINE);
        if (nl === -1) buf = Buffer.concat([rest, chunk]);
        else {
          const straddling = Buffer.concat([rest, chunk.subarray(0, nl)]);
          lineNo++;
          add(lines, straddling, 0, straddling.length);
          start = nl + 1;
        }
        rest = null;
      }
      for (let nl = buf.indexOf(NEWLINE, start); nl !== -1; nl = buf.indexOf(NEWLINE, start)) {
        lineNo++;
        if (skipping) skipping = false;
        else add(lines, buf, start, nl);
        start = nl + 1;
      }
      if (start < buf.length && !skipping) {
        if (buf.length - start > maxLine) {
          // The line goes on past the limit: report it once and drop the rest of it.
          lines.push(tooLong(lineNo + 1));
          skipping = true;
        } else rest = buf.subarray(start);
      }
      yield { lines, bytesRead };
    }
    if (rest !== null && !skipping) {
      lineNo++;
      const lines: L[] = [];
      add(lines, rest, 0, rest.length);
      if (lines.length > 0) yield { lines, bytesRead };
    }
  } finally {
    stream.destroy();
  }
}

/**
 * The non-blank lines of the file at `path`, a batch per chunk read.
 * @example
 * for await (const batch of readLines('traffic.jsonl'))
 *   for (const { line, text } of batch.lines) if (text !== null) handle(line, text);
 */
export function readLines(path: string, options: ReadLinesOptions = {}): AsyncGenerator<LineBatch> {
  return splitLines<Line>(
    path,
    options,
    (buf, start, end, line) => {
      let text = buf.toString('utf8', start, end);
      if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      return { line, text };
    },
    (line) => ({ line, text: null }),
  );
}

/**
 * {@link readLines} without decoding: each line is its place in the chunk read, for a caller that
 * holds many lines before it reads them. Held strings are copied by every young-generation
 * garbage collection until they are promoted; the bytes of a Buffer live outside the JS heap. A
 * held line keeps its whole chunk (`chunkBytes`) alive, so hold a bounded number of them.
 * `chunk.toString('utf8', start, end)` is the text {@link readLines} gives (a UTF-8 byte order
 * mark is dropped here too).
 */
export function readRawLines(
  path: string,
  options: ReadLinesOptions = {},
): AsyncGenerator<LineBatch<RawLine>> {
  return splitLines<RawLine>(
    path,
    options,
    (buf, start, end, line) => {
      if (
        line === 1 &&
        end - start >= 3 &&
        buf[start] === 0xef &&
        buf[start + 1] === 0xbb &&
        buf[start + 2] === 0xbf
      )
        start += 3;
      return { line, chunk: buf, start, end };
    },
    (line) => ({ line, chunk: null, start: 0, end: 0 }),
  );
}
