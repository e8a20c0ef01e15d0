/**
 * What a recording saw of each model, for answering the calls it never recorded: a first pass over
 * the file keeps, per model and per kind (JSON, stream), a uniform sample of at most
 * {@link SAMPLE_SIZE} of its attempts (outcome, status, time to first byte and token, duration,
 * completion tokens) — the model's latency distribution and error mix in a few kilobytes,
 * whatever the size of the file. The sample is drawn with a PRNG seeded from `--seed` and the
 * model's name (reservoir sampling), so it is the same on every run with the same seed.
 *
 * The pass reads each line's attempts without parsing the whole line when the line has the
 * recorder's key order (the attempts array sits between `"attempts":[` and `],"outcome":`);
 * any other line is parsed whole. Lines it cannot read are skipped here: the replay pass reports
 * them.
 */
import { hash32, nextFloat, type Rng } from '../compile/random.js';
import { isRecord } from '../shared/guards.js';
import type { ErrorClass } from '../types.js';
import { readLines } from './lines.js';

/** Attempts kept per model and kind. */
export const SAMPLE_SIZE = 512;

/** One recorded attempt, as much of it as a simulated answer needs. */
export interface AttemptSample {
  readonly outcome: 'ok' | ErrorClass;
  readonly status: number | null;
  readonly firstByteMs: number | null;
  readonly firstTokenMs: number | null;
  readonly durationMs: number;
  readonly completionTokens: number | null;
}

export class ModelSample {
  readonly json: AttemptSample[] = [];
  readonly stream: AttemptSample[] = [];
  #seenJson = 0;
  #seenStream = 0;
  readonly #rng: Rng;

  constructor(seed: number) {
    this.#rng = { state: seed >>> 0 };
  }

  /** Attempts seen (not only kept). */
  get seen(): number {
    return this.#seenJson + this.#seenStream;
  }

  add(sample: AttemptSample, stream: boolean): void {
    const list = stream ? this.stream : this.json;
    const seen = stream ? ++this.#seenStream : ++this.#seenJson;
    if (list.length < SAMPLE_SIZE) list.push(sample);
    else {
      // Algorithm R: the new attempt replaces a kept one with probability SAMPLE_SIZE / seen.
      const j = Math.floor(nextFloat(this.#rng) * seen);
      if (j < SAMPLE_SIZE) list[j] = sample;
    }
  }
}

export interface RecordingStats {
  /** By policy model name (the attempt's `target`). */
  readonly models: ReadonlyMap<string, ModelSample>;
  /** By upstream model name: for a model the policy renamed. */
  readonly upstreamModels: ReadonlyMap<string, ModelSample>;
  /** Mean completion tokens of the successful attempts that reported usage; null when none did. */
  readonly meanCompletionTokens: number | null;
  /** Earliest and latest arrival (ms since the epoch); null when no line was read. */
  readonly from: number | null;
  readonly to: number | null;
}

interface ScannedLine {
  readonly at: number;
  readonly stream: boolean;
  readonly attempts: readonly unknown[];
}

/** The fields the scan needs, from the recorder's fixed key order; null when the line has another shape. */
function scanFast(text: string): ScannedLine | null {
  if (!text.startsWith('{"v":1,"time":"')) return null;
  const timeEnd = text.indexOf('"', 15);
  const request = text.indexOf('"request":{"path":');
  const streamKey = request < 0 ? -1 : text.indexOf('"stream":', request);
  // The last `"attempts":[`: a body key of that name comes earlier, and nothing after the
  // top-level one has it (strings cannot hold an unescaped quote).
  const start = text.lastIndexOf('"attempts":[');
  const end = start < 0 ? -1 : text.indexOf('],"outcome":', start);
  if (timeEnd < 0 || streamKey < 0 || end < 0 || start < streamKey) return null;
  const at = Date.parse(text.slice(15, timeEnd));
  const attempts: unknown = JSON.parse(text.slice(start + 11, end + 1));
  if (Number.isNaN(at) || !Array.isArray(attempts)) return null;
  return { at, stream: text.startsWith('true', streamKey + 9), attempts };
}

function scanSlow(text: string): ScannedLine | null {
  const value: unknown = JSON.parse(text);
  if (!isRecord(value) || typeof value.time !== 'string' || !Array.isArray(value.attempts)) return null;
  const at = Date.parse(value.time);
  if (Number.isNaN(at)) return null;
  const stream = isRecord(value.request) && value.request.stream === true;
  return { at, stream, attempts: value.attempts };
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}

/**
 * The first pass: per-model samples and the time span of a recording.
 * @example
 * const stats = await scanRecording('traffic.jsonl', { seed: 1 });
 * stats.models.get('primary')?.json.length; // up to SAMPLE_SIZE
 */
export async function scanRecording(
  path: string,
  options: { readonly seed: number; readonly onBytes?: (bytesRead: number) => void },
): Promise<RecordingStats> {
  const models = new Map<string, ModelSample>();
  const upstreamModels = new Map<string, ModelSample>();
  let completionSum = 0;
  let completionCount = 0;
  let from: number | null = null;
  let to: number | null = null;
  const sampleOf = (map: Map<string, ModelSample>, name: string): ModelSample => {
    let s = map.get(name);
    if (s === undefined) {
      s = new ModelSample(options.seed ^ hash32(name));
      map.set(name, s);
    }
    return s;
  };
  for await (const batch of readLines(path)) {
    for (const { text } of batch.lines) {
      if (text === null) continue;
      let line: ScannedLine | null;
      try {
        line = scanFast(text) ?? scanSlow(text);
      } catch {
        line = null;
      }
      if (line === null) continue;
      if (from === null || line.at < from) from = line.at;
      if (to === null || line.at > to) to = line.at;
      for (const a of line.attempts) {
        if (!isRecord(a) || typeof a.target !== 'string' || typeof a.outcome !== 'string') continue;
        const usage = isRecord(a.usage) ? num(a.usage.completionTokens) : null;
        const sample: AttemptSample = {
          outcome: a.outcome as AttemptSample['outcome'],
          status: typeof a.status === 'number' ? a.status : null,
          firstByteMs: num(a.firstByteMs),
          firstTokenMs: num(a.firstTokenMs),
          durationMs: num(a.durationMs) ?? 0,
          completionTokens: usage,
        };
        if (a.outcome === 'ok' && usage !== null) {
          completionSum += usage;
          completionCount++;
        }
        sampleOf(models, a.target).add(sample, line.stream);
        if (typeof a.upstreamModel === 'string')
          sampleOf(upstreamModels, a.upstreamModel).add(sample, line.stream);
      }
    }
    options.onBytes?.(batch.bytesRead);
  }
  return {
    models,
    upstreamModels,
    meanCompletionTokens: completionCount === 0 ? null : Math.round(completionSum / completionCount),
    from,
    to,
  };
}
