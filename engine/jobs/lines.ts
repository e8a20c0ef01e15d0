/**
 * Reading a JSON Lines file as a stream of lines with their byte offsets, in bounded memory.
 *
 * Written by hand rather than with `node:readline` or `split2`: the journal's recovery needs the
 * byte offset where each line ends (to cut a torn last line off), and a line longer than the
 * limit must be skipped without being buffered, which neither offers.
 */

import { createReadStream } from 'node:fs';

/** A file path, or a function opening the content from a byte offset (a store's file). */
export type LineSource = string | ((start: number) => AsyncIterable<Buffer>);

export interface FileLine {
  /** 1-based line number. */
  readonly number: number;
  /** The line without its newline (a trailing `\r` removed); null when longer than the limit. */
  readonly text: string | null;
  /** Byte offset of the line's first byte. */
  readonly start: number;
  /** Byte offset just past the line's newline (or past its last byte when it has none). */
  readonly end: number;
  /** The line ends with a newline (false only for an unterminated last line). */
  readonly terminated: boolean;
}

export interface ReadLinesOptions {
  /** Lines longer than this (in bytes) are reported with `text: null`, never buffered whole. */
  readonly maxLineBytes: number;
  /** Start reading at this byte offset (line numbers then count from there). */
  readonly start?: number;
}

const NEWLINE = 0x0a;

/**
 * The lines of `source` (a path or a store's file), one at a time.
 * @example
 * for await (const line of readLines('input.jsonl', { maxLineBytes: 1 << 20 })) use(line.text);
 */
export async function* readLines(source: LineSource, options: ReadLinesOptions): AsyncGenerator<FileLine> {
  const { maxLineBytes } = options;
  let offset = options.start ?? 0;
  let lineStart = offset;
  let parts: Buffer[] = [];
  let size = 0;
  let tooLong = false;
  let number = 0;
  const finish = (end: number, terminated: boolean): FileLine => {
    let text: string | null = null;
    if (!tooLong) {
      text = Buffer.concat(parts, size).toString('utf8');
      if (text.endsWith('\r')) text = text.slice(0, -1);
    }
    const line: FileLine = { number: ++number, text, start: lineStart, end, terminated };
    parts = [];
    size = 0;
    tooLong = false;
    lineStart = end;
    return line;
  };
  const take = (chunk: Buffer): void => {
    if (tooLong) return;
    if (size + chunk.length > maxLineBytes) {
      tooLong = true;
      parts = [];
      size = 0;
      return;
    }
    parts.push(chunk);
    size += chunk.length;
  };
  const stream =
    typeof source === 'string'
      ? (createReadStream(source, { start: offset, highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>)
      : source(offset);
  for await (const chunk of stream) {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, from);
      if (nl < 0) break;
      take(chunk.subarray(from, nl));
      yield finish(offset + nl + 1, true);
      from = nl + 1;
    }
    if (from < chunk.length) take(chunk.subarray(from));
    offset += chunk.length;
  }
  if (size > 0 || tooLong) yield finish(offset, false);
}
