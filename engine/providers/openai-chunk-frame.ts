/**
 * A chunk of an OpenAI stream as its canonical JSON text, with where the members the relay reads
 * and edits are (openai-frames.ts says when a text is accepted, openai-frame-scanner.ts finds them).
 */
import type { ChatCompletionChunk } from './openai-types.js';

/** A chunk's JSON text, known canonical, with the positions of the members the relay edits. */
export class ChunkFrame {
  /**
   * For a frame whose one choice's `delta.content` is a string: the text before the content's
   * characters and after them (from its closing quote), the template the next chunks are checked
   * against. Null otherwise.
   */
  prefix: string | null = null;
  suffix: string | null = null;
  /**
   * For a template whose text ends with a top-level `"obfuscation"` string of letters and digits
   * (OpenAI pads every chunk with random characters there, against side channels): the suffix up
   * to and including that string's opening quote. Chunks are then checked against the template
   * whatever their padding. Null otherwise.
   */
  padded: string | null = null;

  constructor(
    /** The chunk's JSON text (an SSE event's `data`). */
    readonly data: string,
    /** The number of choices; 0 for the final usage chunk. */
    readonly choices: number,
    /** A choice has a `finish_reason` other than null. */
    readonly finish: boolean,
    /** Start and end of the value of `id`, `created`, `model` (-1 when absent). */
    readonly idStart: number,
    readonly idEnd: number,
    readonly createdStart: number,
    readonly createdEnd: number,
    readonly modelStart: number,
    readonly modelEnd: number,
    /** Start of the `"usage"` key and end of its value (-1 when absent). */
    readonly usageStart: number,
    readonly usageEnd: number,
    /** Start of the value of `usage`. */
    readonly usageValue: number,
  ) {}

  /** The chunk, parsed: the text is valid JSON of the chunk's shape. */
  parse(): ChatCompletionChunk {
    return JSON.parse(this.data) as ChatCompletionChunk;
  }

  /** The value of `usage` (undefined when absent), parsed. */
  usage(): unknown {
    if (this.usageStart === -1) return undefined;
    // OpenAI writes `"usage":null` on every chunk but the last once usage is asked for (always).
    if (this.usageEnd - this.usageValue === 4 && this.data.charCodeAt(this.usageValue) === 110) return null;
    return JSON.parse(this.data.slice(this.usageValue, this.usageEnd));
  }

  /**
   * The frame of `data`, which is this frame's text with other content: every position after the
   * content moves by the difference in length.
   */
  withContent(data: string): ChunkFrame {
    return this.#moved(data, data.length - this.data.length, this.suffix);
  }

  /**
   * The frame of `data`, which is this frame's text with other content, whose closing quote is at
   * `close`, and other padding (see {@link padded}): the positions after the content move by the
   * content's difference in length (the padding comes after all of them).
   */
  withPadding(data: string, close: number): ChunkFrame {
    const shift = close - (this.data.length - (this.suffix as string).length);
    return this.#moved(data, shift, data.slice(close));
  }

  #moved(data: string, shift: number, suffix: string | null): ChunkFrame {
    const at = (this.prefix as string).length;
    // `moved` is a function of its own, not a closure over `at` and `shift`: one per chunk was
    // an allocation of the relay's hottest path.
    const frame = new ChunkFrame(
      data,
      this.choices,
      this.finish,
      moved(this.idStart, at, shift),
      moved(this.idEnd, at, shift),
      moved(this.createdStart, at, shift),
      moved(this.createdEnd, at, shift),
      moved(this.modelStart, at, shift),
      moved(this.modelEnd, at, shift),
      moved(this.usageStart, at, shift),
      moved(this.usageEnd, at, shift),
      moved(this.usageValue, at, shift),
    );
    frame.prefix = this.prefix;
    frame.suffix = suffix;
    frame.padded = this.padded;
    return frame;
  }
}

/** A position after the content (`at`) moves with its length; one before it stays. */
function moved(p: number, at: number, shift: number): number {
  return p >= at ? p + shift : p;
}

const PADDING_KEY = ',"obfuscation":"';

/** The suffix up to the padding's opening quote when `suffix` ends with a padding member; else null. */
export function paddedPart(suffix: string): string | null {
  const end = suffix.length - 2;
  if (end < 0 || suffix.charCodeAt(end) !== 34 || suffix.charCodeAt(end + 1) !== 125) return null;
  const open = suffix.lastIndexOf('"', end - 1);
  if (open < PADDING_KEY.length - 1 || !isPlain(suffix, open + 1, end)) return null;
  if (!suffix.startsWith(PADDING_KEY, open + 1 - PADDING_KEY.length)) return null;
  return suffix.slice(0, open + 1);
}

/** Only ASCII letters and digits from `from` to `to`: JSON.stringify writes them as they are. */
export function isPlain(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return false;
  }
  return true;
}
