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

export interface LineBatch {
  readonly lines: readonly Line[];
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

/**
 * The non-blank lines of the file at `path`, a batch per chunk read.
 * @example
 * for await (const batch of readLines('traffic.jsonl'))
 *   for (const { line, text } of batch.lines) if (text !== null) handle(line, text);
 */
export async function* readLines(path: string, options: ReadLinesOptions = {}): AsyncGenerator<LineBatch> {
  const maxLine = options.maxLineBytes ?? 64 * 1024 * 1024;
  const stream = createReadStream(path, { highWaterMark: options.chunkBytes ?? 256 * 1024 });
  let rest: Buffer | null = null;
  let lineNo = 0;
  let bytesRead = 0;
  /** Inside a line already reported as too long: drop bytes up to the next newline. */
  let skipping = false;

  const text = (buf: Buffer, start: number, end: number): string | null => {
    if (end > start && buf[end - 1] === CR) end--;
    // Blank lines (and lines of spaces) are numbered but not returned.
    let s = start;
    while (s < end && (buf[s] === 0x20 || buf[s] === 0x09)) s++;
    if (s === end) return null;
    let out = buf.toString('utf8', start, end);
    if (lineNo === 1 && out.charCodeAt(0) === 0xfeff) out = out.slice(1);
    return out;
  };

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytesRead += chunk.length;
      const lines: Line[] = [];
      let buf: Buffer = chunk;
      let start = 0;
      if (rest !== null) {
        buf = Buffer.concat([rest, chunk]);
        rest = null;
      }
      for (let nl = buf.indexOf(NEWLINE, start); nl !== -1; nl = buf.indexOf(NEWLINE, start)) {
        lineNo++;
        if (skipping) skipping = false;
        else {
          const t = text(buf, start, nl);
          if (t !== null) lines.push({ line: lineNo, text: t });
        }
        start = nl + 1;
      }
      if (start < buf.length && !skipping) {
        if (buf.length - start > maxLine) {
          // The line goes on past the limit: report it once and drop the rest of it.
          lines.push({ line: lineNo + 1, text: null });
          skipping = true;
        } else rest = buf.subarray(start);
      }
      yield { lines, bytesRead };
    }
    if (rest !== null && !skipping) {
      lineNo++;
      const t = text(rest, 0, rest.length);
      if (t !== null) yield { lines: [{ line: lineNo, text: t }], bytesRead };
    }
  } finally {
    stream.destroy();
  }
}
