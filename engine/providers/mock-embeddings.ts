/**
 * The mock provider's embeddings: a deterministic unit vector per input, honouring `dimensions`
 * and `encoding_format` as OpenAI does. `base64` is the vector's little-endian float32 bytes, what
 * the OpenAI SDKs request by default and decode; `float` (or no format) is a JSON number array.
 * The vector of `dimensions: d` is the default vector's first `d` components renormalised, as
 * OpenAI's shortened embeddings are.
 *
 * Similar texts get similar vectors, so a semantic cache or an embedding classifier behaves
 * offline roughly as with a real model: the text (NFKC, lower-cased) is a bag of features — each
 * word, and each character trigram of each word — hashed into {@link FEATURE_BUCKETS} buckets;
 * the vector is the sum of each bucket's fixed pseudo-random direction weighted by its count
 * (a random projection, which keeps cosine similarity approximately; the noise shrinks as
 * 1/sqrt(dimensions), so ask for 64 or more dimensions when similarity matters). A text without
 * letters or digits gets a pseudo-random vector from its hash. Not a language model: synonyms
 * are far apart, reordered words close.
 */
import { hash32, nextFloat, type Rng } from '../shared/random.js';
import { providerError } from './classify.js';
import type { EmbeddingsResponse } from './openai-types.js';
import type { MockOutcome, ProviderCallRequest, ProviderCallResult } from './types.js';

/** Components of a vector when the request does not ask for `dimensions`. */
export const DEFAULT_DIMENSIONS = 8;
/** The most `dimensions` the mock accepts (OpenAI's largest model has 3072). */
export const MAX_DIMENSIONS = 4096;
/** The most inputs in one request, as OpenAI allows. */
export const MAX_INPUTS = 2048;
/** The most vector components in one answer (inputs × dimensions), which bounds its size. */
export const MAX_COMPONENTS = 1 << 20;

/** Buckets the features of a text are hashed into (bounds the work per input to buckets × dimensions). */
export const FEATURE_BUCKETS = 256;
/** A word counts this many times a trigram does (whole words carry more meaning than fragments). */
const WORD_WEIGHT = 2;

/** Each bucket's direction, its first components computed once and extended on demand. */
const directions: Float32Array[] = [];

function direction(bucket: number, dimensions: number): Float32Array {
  const known = directions[bucket];
  if (known !== undefined && known.length >= dimensions) return known;
  const rng: Rng = { state: hash32(`mock-embedding-bucket:${bucket}`) };
  const out = new Float32Array(Math.max(dimensions, DEFAULT_DIMENSIONS));
  for (let d = 0; d < out.length; d++) out[d] = nextFloat(rng) * 2 - 1;
  directions[bucket] = out;
  return out;
}

/** Feature counts per bucket; empty when the text has no word. */
function featureCounts(text: string): Map<number, number> {
  const counts = new Map<number, number>();
  const add = (feature: string, weight: number): void => {
    const bucket = hash32(feature) % FEATURE_BUCKETS;
    counts.set(bucket, (counts.get(bucket) ?? 0) + weight);
  };
  for (const word of text
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)) {
    if (word === '') continue;
    add(`w:${word}`, WORD_WEIGHT);
    const padded = `^${word}$`;
    for (let i = 0; i + 3 <= padded.length; i++) add(`t:${padded.slice(i, i + 3)}`, 1);
  }
  return counts;
}

/** A deterministic unit-length vector for `text`; similar texts get close vectors. */
export function embedText(text: string, dimensions = DEFAULT_DIMENSIONS): Float32Array {
  const counts = featureCounts(text);
  if (counts.size === 0) return hashVector(text, dimensions);
  const vector = new Float32Array(dimensions);
  for (const [bucket, count] of counts) {
    const dir = direction(bucket, dimensions);
    for (let d = 0; d < dimensions; d++) vector[d] += count * dir[d];
  }
  let sum = 0;
  for (let d = 0; d < dimensions; d++) sum += vector[d] * vector[d];
  if (!(sum > 0)) return hashVector(text, dimensions);
  const norm = Math.sqrt(sum);
  for (let d = 0; d < dimensions; d++) vector[d] /= norm;
  return vector;
}

/** A pseudo-random unit vector from the text's hash (a text without words). */
function hashVector(text: string, dimensions: number): Float32Array {
  const rng: Rng = { state: hash32(text) };
  const vector = new Float32Array(dimensions);
  let sum = 0;
  for (let d = 0; d < dimensions; d++) {
    const v = nextFloat(rng) * 2 - 1;
    vector[d] = v;
    sum += v * v;
  }
  const norm = Math.sqrt(sum) || 1;
  for (let d = 0; d < dimensions; d++) vector[d] /= norm;
  return vector;
}

/** The vector's float32 values, little-endian whatever the platform, in base64. */
export function float32Base64(vector: Float32Array): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i], i * 4);
  return bytes.toString('base64');
}

function badRequest(message: string): ProviderCallResult {
  return { ok: false, error: providerError('bad_request', `${message} (mock)`, { status: 400 }) };
}

/** The prompt tokens the mock reports for an embeddings request: its inputs' characters / 4. */
export function mockEmbeddingTokens(body: Readonly<Record<string, unknown>>): number {
  const input = body.input;
  const chars = Array.isArray(input)
    ? input.reduce((sum: number, s: unknown) => sum + String(s).length, 0)
    : typeof input === 'string'
      ? input.length
      : 0;
  return Math.ceil(chars / 4);
}

export function mockEmbeddings(
  req: ProviderCallRequest,
  outcome: MockOutcome,
  promptTokens: number,
): ProviderCallResult {
  if (outcome === 'malformed' || outcome === 'stream_cut') {
    const cls = outcome === 'malformed' ? 'malformed' : 'stream_cut';
    return {
      ok: false,
      error: providerError(cls, `upstream answer broke (mock ${outcome})`, { status: 200 }),
    };
  }
  const { dimensions, encoding_format: format } = req.body;
  if (format !== undefined && format !== null && format !== 'float' && format !== 'base64') {
    return badRequest(`'encoding_format' must be "float" or "base64", got ${JSON.stringify(format)}`);
  }
  if (
    dimensions !== undefined &&
    dimensions !== null &&
    !(Number.isInteger(dimensions) && Number(dimensions) >= 1 && Number(dimensions) <= MAX_DIMENSIONS)
  ) {
    return badRequest(`'dimensions' must be an integer from 1 to ${MAX_DIMENSIONS}`);
  }
  const size = typeof dimensions === 'number' ? dimensions : DEFAULT_DIMENSIONS;
  const inputs = Array.isArray(req.body.input) ? req.body.input.map(String) : [String(req.body.input ?? '')];
  if (inputs.length > MAX_INPUTS) return badRequest(`'input' may hold at most ${MAX_INPUTS} items`);
  if (inputs.length * size > MAX_COMPONENTS) {
    return badRequest(`${inputs.length} inputs × ${size} dimensions is more than the mock answers at once`);
  }
  const body: EmbeddingsResponse = {
    object: 'list',
    data: inputs.map((text, index) => {
      const vector = embedText(text, size);
      const embedding = format === 'base64' ? float32Base64(vector) : Array.from(vector);
      return { object: 'embedding', index, embedding };
    }),
    model: req.upstreamModel,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
  return {
    ok: true,
    kind: 'json',
    status: 200,
    headers: { 'content-type': 'application/json' },
    body,
    usage: { promptTokens, completionTokens: 0, totalTokens: promptTokens },
  };
}
