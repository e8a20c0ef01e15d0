/**
 * An OpenAI stream chunk taken as its JSON text rather than parsed, so that the stream relay can
 * forward it without a `JSON.parse` and a `JSON.stringify` per chunk.
 *
 * `scanChunk` accepts a chunk's text only when it is exactly what `JSON.stringify` would write
 * for the value `JSON.parse` reads from it (no whitespace, the shortest escapes, no escaped
 * character `JSON.stringify` writes as is, numbers as `String(n)` writes them, no repeated key, no
 * key that an object would reorder: one starting with a digit), and when it has the chunk's shape
 * (an object with a `choices` array of objects, no `error`). For such a text, a member's value
 * can be replaced, or a member dropped, in the text itself, and the result is byte for byte what
 * re-serialising the edited parsed chunk gives (test/property/stream-frames.test.ts). Anything
 * else is not accepted, and the chunk is parsed as before: the scan is only ever a shortcut.
 *
 * Along the way it notes what the attempt loop must know of every chunk without parsing it:
 * how many choices, whether one has a finish reason, and where `id`, `created`, `model` and
 * `usage` are.
 *
 * Most chunks of a stream differ from the one before only in their text (`{…"delta":{"content":"`
 * then the text, then `"}…}`): given the stream's previous frame of that shape, a chunk with the
 * same text before and after its content is accepted by checking the content alone (two native
 * string comparisons and a scan of a few characters, not of the whole chunk). Everything else is
 * the same JSON as the previous frame's, which was accepted, so this chunk is canonical too.
 * OpenAI also pads every chunk with a random `obfuscation` string, its last member: when the
 * template ends with one of letters and digits, a chunk with other such padding is accepted too.
 */
import { type ChunkFrame, isPlain } from './openai-chunk-frame.js';
import { Scanner } from './openai-frame-scanner.js';

export { ChunkFrame } from './openai-chunk-frame.js';

const scanner = new Scanner();

/**
 * The chunk's text as a {@link ChunkFrame} when it is canonical JSON of the chunk's shape; null
 * otherwise (parse it). `previous`, a frame of the same stream with a content string, is the
 * template tried first.
 *
 * @example
 * scanChunk('{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}')?.choices // 0
 * scanChunk('{ "id": "c", "choices": [] }') // null: not as JSON.stringify writes it
 */
export function scanChunk(data: string, previous: ChunkFrame | null = null): ChunkFrame | null {
  const prefix = previous?.prefix;
  if (prefix == null) return scanner.scan(data);
  const template = previous as ChunkFrame;
  const padded = template.padded;
  if (padded === null) {
    const suffix = template.suffix as string;
    const close = data.length - suffix.length;
    // The prefix (~130 characters) is compared as a slice, not with `startsWith`: V8's
    // `startsWith` compares a long search string character by character (0.8 µs for this one,
    // 6–7 % of a streamed request's busy time); string equality compares the bytes at once.
    if (
      close >= prefix.length &&
      data.slice(0, prefix.length) === prefix &&
      data.endsWith(suffix) &&
      scanner.content(data, prefix.length - 1, close)
    ) {
      return template.withContent(data);
    }
    return scanner.scan(data);
  }
  // Padding at the end (OpenAI's `obfuscation`, different on every chunk): the text after it is
  // `"}`, before it the template's suffix up to the padding, and before that the content. The
  // two long texts are compared as slices: V8's `startsWith` compares character by character.
  const end = data.length - 2;
  const open = data.lastIndexOf('"', end - 1);
  const close = open + 1 - padded.length;
  if (
    data.charCodeAt(end) === 34 &&
    data.charCodeAt(end + 1) === 125 &&
    close >= prefix.length &&
    isPlain(data, open + 1, end) &&
    data.slice(close, open + 1) === padded &&
    data.slice(0, prefix.length) === prefix &&
    scanner.content(data, prefix.length - 1, close)
  ) {
    return template.withPadding(data, close);
  }
  return scanner.scan(data);
}

/**
 * The caller's frame of a scanned chunk: its text with `id`, `created` and `model` set to the
 * stream's values (given as JSON) and `usage` dropped, as `data: …\n\n`; null when one of the
 * three members is absent (the relay then frames the parsed chunk, which adds them at the end).
 * What `JSON.stringify({ ...chunk, id, created, model, usage: undefined })` gives, without the
 * parse and the copy.
 */
export function editedFrame(
  frame: ChunkFrame,
  idJson: string,
  createdJson: string,
  modelJson: string,
): string | null {
  const data = frame.data;
  if (frame.idStart === -1 || frame.createdStart === -1 || frame.modelStart === -1) return null;
  const idSame = same(data, frame.idStart, frame.idEnd, idJson);
  const createdSame = same(data, frame.createdStart, frame.createdEnd, createdJson);
  const modelSame = same(data, frame.modelStart, frame.modelEnd, modelJson);
  if (idSame && createdSame && modelSame && frame.usageStart === -1) return `data: ${data}\n\n`;
  // At most four edits, applied in the order they appear in the text.
  const edits: Edit[] = [];
  if (!idSame) edits.push({ start: frame.idStart, end: frame.idEnd, text: idJson });
  if (!createdSame) edits.push({ start: frame.createdStart, end: frame.createdEnd, text: createdJson });
  if (!modelSame) edits.push({ start: frame.modelStart, end: frame.modelEnd, text: modelJson });
  if (frame.usageStart !== -1) {
    // The member and one comma: the one before it, or after it when it is the first member
    // (`choices` is always another one).
    if (frame.usageStart === 1) edits.push({ start: 1, end: frame.usageEnd + 1, text: '' });
    else edits.push({ start: frame.usageStart - 1, end: frame.usageEnd, text: '' });
  }
  return `data: ${applyEdits(data, edits)}\n\n`;
}

/**
 * Whether the frame's `id`, `created` and `model` are the given JSON texts and all three lie in
 * its prefix (the text before the content; see {@link scanChunk}). Then so do they in every frame
 * with the same `prefix` string: such a frame was accepted against that template, so its text up
 * to the content is the prefix, and positions before the content do not move.
 */
export function headMatches(
  frame: ChunkFrame,
  idJson: string,
  createdJson: string,
  modelJson: string,
): boolean {
  const prefix = frame.prefix;
  if (prefix === null || frame.idStart === -1 || frame.createdStart === -1 || frame.modelStart === -1)
    return false;
  const at = prefix.length;
  return (
    frame.idEnd < at &&
    frame.createdEnd < at &&
    frame.modelEnd < at &&
    same(frame.data, frame.idStart, frame.idEnd, idJson) &&
    same(frame.data, frame.createdStart, frame.createdEnd, createdJson) &&
    same(frame.data, frame.modelStart, frame.modelEnd, modelJson)
  );
}

/**
 * The frame's prefix with `id`, `created` and `model` set to the given JSON texts, when all three
 * lie in the prefix and `usage`, if any, after it; null otherwise. Then the same holds in every
 * frame with the same `prefix` string (see {@link headMatches}), so one edited prefix serves all
 * of them: {@link withHead} makes each frame from it.
 */
export function editedHead(
  frame: ChunkFrame,
  idJson: string,
  createdJson: string,
  modelJson: string,
): string | null {
  const prefix = frame.prefix;
  if (prefix === null || frame.idStart === -1 || frame.createdStart === -1 || frame.modelStart === -1)
    return null;
  const at = prefix.length;
  if (frame.idEnd >= at || frame.createdEnd >= at || frame.modelEnd >= at) return null;
  if (frame.usageStart !== -1 && frame.usageStart < at) return null;
  const edits: Edit[] = [
    { start: frame.idStart, end: frame.idEnd, text: idJson },
    { start: frame.createdStart, end: frame.createdEnd, text: createdJson },
    { start: frame.modelStart, end: frame.modelEnd, text: modelJson },
  ];
  return applyEdits(prefix, edits);
}

/**
 * The caller's frame of `frame` given its prefix edited by {@link editedHead}: the same bytes as
 * {@link editedFrame} gives, `usage` (after the content) and the comma before it dropped.
 */
export function withHead(frame: ChunkFrame, head: string): string {
  const data = frame.data;
  const at = (frame.prefix as string).length;
  if (frame.usageStart === -1) return `data: ${head}${data.slice(at)}\n\n`;
  return `data: ${head}${data.slice(at, frame.usageStart - 1)}${data.slice(frame.usageEnd)}\n\n`;
}

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** `text` with each edit's span replaced by its text (the spans do not overlap). */
function applyEdits(text: string, edits: Edit[]): string {
  edits.sort(byStart);
  let out = '';
  let at = 0;
  for (const edit of edits) {
    out += text.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return out + text.slice(at);
}

function byStart(a: Edit, b: Edit): number {
  return a.start - b.start;
}

function same(data: string, start: number, end: number, json: string): boolean {
  return end - start === json.length && data.startsWith(json, start);
}
