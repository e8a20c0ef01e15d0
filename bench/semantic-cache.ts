/**
 * Semantic cache benchmark: lookup time in the vector index as it grows (1k, 10k, 100k entries
 * in one partition, the worst case: every entry of a tenant and key set is compared), at 1536
 * dimensions (OpenAI `text-embedding-3-small`) and 256 (the mock at `dimensions: 256`), plus the
 * bytes each entry costs and the time of an insert. Run with `npm run bench:semantic-cache`
 * (`--quick` stops at 10k; run with `node --expose-gc --import tsx` for a
 * steadier heap column, the growth of heap and array buffers while the index is filled). Search is exact (see engine/cache/semantic-index.ts), so lookup time
 * grows linearly with the partition's entries; answers here are ~600-byte chat completions.
 */
import { normalizeVector, SemanticIndex } from '../engine/cache/semantic-index.js';
import type { CachedAnswer } from '../engine/cache/store.js';

const quick = process.argv.includes('--quick');
const SIZES = quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
const DIMENSIONS = [256, 1536];

/** Deterministic pseudo-random vectors (xorshift), so runs compare. */
function vectors(count: number, dimensions: number, seed: number): Float32Array[] {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 4294967296) * 2 - 1;
  };
  const out: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const raw = new Float32Array(dimensions);
    for (let d = 0; d < dimensions; d++) raw[d] = next();
    out.push(normalizeVector(raw) as Float32Array);
  }
  return out;
}

function answer(i: number): CachedAnswer {
  return {
    body: {
      id: `chatcmpl-${i}`,
      object: 'chat.completion',
      created: 1_767_225_600,
      model: 'gpt-5-nano',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: `Answer number ${i}. `.repeat(16), refusal: null },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 20, completion_tokens: 80, total_tokens: 100 },
    },
    model: 'gpt-5-nano',
    usage: { promptTokens: 20, completionTokens: 80, totalTokens: 100 },
    storedAt: 0,
    target: 'fast',
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

console.log(`semantic cache index: exact search, one partition (node ${process.version})`);
console.log('dims   entries   insert µs/op   lookup p50 ms   lookup p99 ms   bytes/entry   heap MiB');
for (const dimensions of DIMENSIONS) {
  for (const size of SIZES) {
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const index = new SemanticIndex({ maxEntries: size, maxSizeBytes: 16 * 1024 * 1024 * 1024 });
    const stored = vectors(size, dimensions, 42 + dimensions);
    const answers = Array.from({ length: size }, (_, i) => answer(i));
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < size; i++) index.add('tenant|key', stored[i], answers[i], 3_600_000, 0);
    const insertUs = Number(process.hrtime.bigint() - t0) / 1000 / size;
    stored.length = 0; // the inputs are not the index's memory
    answers.length = 0;
    global.gc?.();
    const queries = vectors(quick ? 30 : 60, dimensions, 7);
    for (const q of queries.slice(0, 5)) index.search('tenant|key', q, 0.95, 1); // warm up
    const times: number[] = [];
    for (const q of queries) {
      const start = process.hrtime.bigint();
      index.search('tenant|key', q, 0.95, 1);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    times.sort((a, b) => a - b);
    global.gc?.();
    const heapAfter = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    console.log(
      [
        String(dimensions).padEnd(6),
        String(size).padStart(7),
        insertUs.toFixed(1).padStart(14),
        percentile(times, 0.5).toFixed(3).padStart(15),
        percentile(times, 0.99).toFixed(3).padStart(15),
        Math.round(index.bytes / size)
          .toString()
          .padStart(13),
        ((heapAfter - heapBefore) / 1024 / 1024).toFixed(1).padStart(10),
      ].join(' '),
    );
    index.clear();
  }
}
