/**
 * Forwarding stream chunks as their text (engine/providers/openai-frames.ts): the stream relay
 * takes a committed OpenAI stream's chunks as their JSON text and edits it in place rather than
 * parsing and re-serialising every chunk. That is only a shortcut, so:
 *
 * - the scan accepts a text only when `JSON.stringify(JSON.parse(text))` gives it back, and what
 *   it notes (choices, finish reason, where `id`, `created`, `model`, `usage` are) is what the
 *   parsed chunk says; it accepts the chunks `JSON.stringify` writes (so the shortcut is taken);
 * - the edited text is byte for byte the frame the relay makes from the parsed chunk;
 * - end to end, whatever the upstream sends (split anywhere across reads, CRLF or CR line ends,
 *   comments and other fields, `data` over several lines, ids and models that differ per chunk,
 *   `usage` on every chunk or only on the last, escapes `JSON.stringify` would not write,
 *   repeated keys, in-band error events, broken JSON, a cut), the caller receives exactly the
 *   same frames, the same final usage and the same attempt records as through the full path (a
 *   provider that never hands out text).
 *
 * Set FC_NUM_RUNS for a long run.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { createOpenAIProvider } from '../../engine/providers/openai.js';
import { editedFrame, scanChunk } from '../../engine/providers/openai-frames.js';
import type { HttpResponse, Transport } from '../../engine/providers/transport.js';
import type { Provider, StreamItem, StreamItemIterator } from '../../engine/providers/types.js';
import { createExecutor } from '../../engine/runtime/attempts/index.js';
import { systemClock } from '../../engine/shared/clock.js';
import type { AttemptRecord, FrameBatches } from '../../engine/types.js';
import { makeContext, makeDecision, makeTarget } from '../support/decision-fixtures.js';
import { providerSpec } from '../support/providers.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 200);

// ---- the scan ------------------------------------------------------------------------------------

/** Strings with what JSON escapes, what it does not, and what it would escape in another way. */
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom(
    '',
    'Hello',
    ' wörld',
    '😀',
    '\n',
    '"q"',
    '\\',
    '\u0000\u001f\u007f',
    '\u2028',
    'a/b',
    '\ud800',
    '\udc00x',
  ),
);
const number = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(
    0,
    -0,
    1e21,
    1e-7,
    9007199254740992,
    12345678901234567000,
    123456789012345,
    1234567890123456,
  ),
);
const key = fc.oneof(
  fc.constantFrom('id', 'model', 'usage', 'error', 'choices', 'created', '1', '__proto__'),
  text,
);
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    text,
    number,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  ),
})).value;

const choice = fc.record(
  {
    index: fc.nat(3),
    delta: fc.oneof(
      fc.record(
        { role: fc.constant('assistant'), content: fc.oneof(text, fc.constant(null)) },
        { requiredKeys: [] },
      ),
      json,
    ),
    finish_reason: fc.oneof(fc.constant(null), fc.constantFrom('stop', 'length', ''), json),
    logprobs: json,
  },
  { requiredKeys: ['index'] },
);
/** Chunk-like objects: the usual members in any order, with other values and extra keys now and then. */
const members = {
  id: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('chatcmpl-1', 'chatcmpl-2') }, json),
  object: fc.constant('chat.completion.chunk'),
  created: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(1_700_000_000, 1_700_000_001) }, json),
  model: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('m', 'm-2024') }, json),
  choices: fc.oneof({ weight: 5, arbitrary: fc.array(choice, { maxLength: 2 }) }, json),
  usage: fc.oneof(
    fc.constant(null),
    fc.record({ prompt_tokens: fc.nat(), completion_tokens: fc.nat(), total_tokens: fc.nat() }),
    json,
  ),
  system_fingerprint: fc.oneof(fc.constant('fp_1'), json),
  obfuscation: fc.oneof({ weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9]{0,16}$/) }, json),
};
/** OpenAI's padding, or a value the template's shortcut does not take (escaped, not a string). */
const padding = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9]{0,16}$/) },
  fc.constantFrom('a-b', 'x"y', '\\', 'é'),
  json,
);
const chunkObject = fc
  .oneof(
    // Mostly the chunk's shape; sometimes anything (members missing, an in-band `error`).
    {
      weight: 4,
      arbitrary: fc.record(members, { requiredKeys: ['id', 'object', 'created', 'model', 'choices'] }),
    },
    fc.record({ ...members, error: json }, { requiredKeys: [] }),
  )
  .chain((picked) =>
    fc
      .shuffledSubarray(Object.keys(picked), { minLength: Object.keys(picked).length })
      .map((order) => Object.fromEntries(order.map((k) => [k, (picked as Record<string, unknown>)[k]]))),
  );

/** The text `JSON.stringify` writes, and ways of writing the same value that it would not. */
function variants(value: unknown): fc.Arbitrary<string> {
  const canonical = JSON.stringify(value);
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant(canonical) },
    fc.constant(JSON.stringify(value, null, 1)),
    fc
      .nat(canonical.length)
      .chain((at) =>
        fc
          .constantFrom(
            ' ',
            '\\/',
            '\\u0041',
            '\\u00e9',
            '\\ud83d\\ude00',
            '"',
            ',',
            '1.0',
            '-0',
            '1e2',
            '\u0001',
            'x',
          )
          .map((insert) => canonical.slice(0, at) + insert + canonical.slice(at)),
      ),
    // Inside a string value: escapes JSON.stringify would not write.
    fc
      .tuple(
        fc.nat(),
        fc.constantFrom(
          '\\/',
          '\\u0041',
          '\\u00e9',
          '\\u001F',
          '\\u0008',
          '\\ud83d\\ude00',
          '\\ud800',
          '\t',
          '\ud800',
          '\udc00',
          '\ud83d',
          '","x":"',
          '\\',
        ),
      )
      .map(([pick, insert]) => {
        const starts = [...canonical.matchAll(/[:[,]"/g)].map((m) => (m.index as number) + 2);
        if (starts.length === 0) return canonical;
        const at = starts[pick % starts.length];
        return canonical.slice(0, at) + insert + canonical.slice(at);
      }),
    fc.constant(canonical.replace(/"id":/, '"id":"dup","id":')),
    // A key an object puts first, after another one; numbers written another way.
    fc.constant(canonical.replace(/,"/, ',"7":0,"')),
    fc
      .constantFrom('12345678901234567890', '1.0', '1e3', '-0', '0.10', '1E+21')
      .map((n) => canonical.replace(/"created":[^,}]*/, `"created":${n}`)),
    fc.constant(canonical.replace(/é/g, '\\u00e9').replace(/\//g, '\\/')),
  );
}

/** What the relay frames for a parsed chunk (stream-relay.ts, Framer.frame without a scanner). */
function fullFrame(chunk: Record<string, unknown>, id: unknown, created: unknown, model: string): string {
  const out: Record<string, unknown> = { ...chunk, choices: chunk.choices ?? [], id, created, model };
  if (out.usage !== undefined) out.usage = undefined;
  return `data: ${JSON.stringify(out)}\n\n`;
}

/** No lone surrogate (`encodeURIComponent` refuses one). */
function wellFormed(s: string): boolean {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

describe('scanChunk', () => {
  test.prop([chunkObject.chain(variants)], { numRuns: NUM_RUNS * 5 })(
    'accepts only canonical chunks, and notes what the parsed chunk says',
    (data) => {
      const frame = scanChunk(data);
      if (frame === null) return;
      const parsed = JSON.parse(data) as Record<string, unknown>;
      expect(JSON.stringify(parsed)).toBe(data);
      expect(Array.isArray(parsed.choices)).toBe(true);
      const choices = parsed.choices as unknown[];
      expect(choices.every((c) => typeof c === 'object' && c !== null && !Array.isArray(c))).toBe(true);
      expect('error' in parsed).toBe(false);
      expect(frame.choices).toBe(choices.length);
      expect(frame.finish).toBe(
        choices.some((c) => (c as { finish_reason?: unknown }).finish_reason != null),
      );
      const span = (start: number, end: number) => (start === -1 ? undefined : data.slice(start, end));
      const member = (k: string) => (k in parsed ? JSON.stringify(parsed[k]) : undefined);
      expect(span(frame.idStart, frame.idEnd)).toBe(member('id'));
      expect(span(frame.createdStart, frame.createdEnd)).toBe(member('created'));
      expect(span(frame.modelStart, frame.modelEnd)).toBe(member('model'));
      expect(span(frame.usageValue, frame.usageEnd)).toBe(member('usage'));
      expect(frame.usage()).toEqual(parsed.usage);
      expect(frame.parse()).toEqual(parsed);
    },
  );

  test.prop([chunkObject], { numRuns: NUM_RUNS * 5 })('accepts what JSON.stringify writes', (value) => {
    const data = JSON.stringify(value);
    const plain = (v: unknown): boolean =>
      typeof v === 'string'
        ? wellFormed(v)
        : Array.isArray(v)
          ? v.every(plain)
          : typeof v === 'object' && v !== null
            ? Object.keys(v).every((k) => !/^\d/.test(k) && plain(k)) && Object.values(v).every(plain)
            : true;
    const shaped =
      Array.isArray(value.choices) &&
      value.choices.every((c) => typeof c === 'object' && c !== null && !Array.isArray(c)) &&
      !('error' in value);
    // Numbers are written as `String(n)` writes them; only a key order the object would change
    // or a lone surrogate (escaped) keeps a canonical text out.
    if (shaped && plain(value)) expect(scanChunk(data)).not.toBeNull();
  });

  test.prop(
    [
      fc
        .record({
          base: chunkObject,
          first: text,
          second: text,
          other: fc.oneof(fc.constant(null), chunkObject),
          padLast: fc.boolean(),
          pad: padding,
        })
        .chain(({ base: shuffled, first, second, other, padLast, pad }) => {
          // Often the padding last, as OpenAI writes it (and the template's shortcut needs).
          const { obfuscation, ...rest } = shuffled as Record<string, unknown>;
          const base: Record<string, unknown> =
            padLast && obfuscation !== undefined ? { ...rest, obfuscation } : shuffled;
          // The chunk with one content and with another (or another chunk), written either way;
          // the second with other padding when there is some.
          const withContent = (content: string, padded = false) => {
            const chunk =
              Array.isArray(base.choices) && base.choices.length > 0
                ? { ...base, choices: [{ ...(base.choices[0] as object), delta: { content } }] }
                : base;
            return padded && 'obfuscation' in chunk ? { ...chunk, obfuscation: pad } : chunk;
          };
          const next = fc.oneof(
            { weight: 4, arbitrary: variants(other ?? withContent(second, true)) },
            { weight: 2, arbitrary: variants(withContent(second)) },
            // An unescaped quote or a trailing backslash where the content was.
            fc
              .constantFrom('a","x":"b', 'a\\', '"')
              .map((inject) =>
                JSON.stringify(withContent(second, true)).replace('"content":"', `"content":"${inject}`),
              ),
          );
          return fc.tuple(variants(withContent(first)), next);
        }),
    ],
    { numRuns: NUM_RUNS * 5 },
  )('checks a chunk against the previous frame as a full scan does', ([previous, data]) => {
    const template = scanChunk(previous);
    expect(scanChunk(data, template)).toEqual(scanChunk(data));
  });

  test.prop(
    [
      chunkObject.chain(variants),
      fc.constantFrom('chatcmpl-1', 'other'),
      fc.constantFrom(1_700_000_000, 7),
      fc.constantFrom('m', 'm-2024', 'x"y'),
    ],
    { numRuns: NUM_RUNS * 5 },
  )('edits the text into the frame the relay makes of the parsed chunk', (data, id, created, model) => {
    const frame = scanChunk(data);
    if (frame === null) return;
    const edited = editedFrame(frame, JSON.stringify(id), JSON.stringify(created), JSON.stringify(model));
    const parsed = JSON.parse(data) as Record<string, unknown>;
    if (!('id' in parsed && 'created' in parsed && 'model' in parsed)) {
      expect(edited).toBeNull();
      return;
    }
    expect(edited).toBe(fullFrame(parsed, id, created, model));
  });
});

// ---- end to end ----------------------------------------------------------------------------------

const encoder = new TextEncoder();

/** One upstream event, as the upstream writes it (the line ends are chosen per stream). */
type UpstreamEvent =
  | { readonly kind: 'data'; readonly data: string; readonly lines: 1 | 2 }
  | { readonly kind: 'comment' }
  | { readonly kind: 'fields' }
  | { readonly kind: 'done' };

const contentChunk = (
  id: string,
  model: string,
  delta: unknown,
  finish: unknown,
  usage: unknown,
  obfuscation?: string,
) => {
  const chunk: Record<string, unknown> = {
    id,
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
  if (usage !== undefined) chunk.usage = usage;
  // OpenAI's padding: last, random letters and digits, different on every chunk.
  if (obfuscation !== undefined) chunk.obfuscation = obfuscation;
  return chunk;
};

const USAGE = { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 };

/** A stream: a role chunk, content, a finish (or not), a usage chunk (or not), [DONE] (or not), noise anywhere. */
const upstreamStream = fc
  .record({
    id: fc.constantFrom('chatcmpl-1', 'chatcmpl-2'),
    model: fc.constantFrom('gpt-up', 'gpt-up-2024'),
    usageEveryChunk: fc.boolean(),
    pads: fc.option(fc.array(fc.stringMatching(/^[A-Za-z0-9]{0,8}$/), { minLength: 10, maxLength: 10 }), {
      nil: undefined,
    }),
    pieces: fc.array(fc.oneof(text, fc.constantFrom('Hello', ' world', '')), { minLength: 1, maxLength: 8 }),
    finish: fc.constantFrom('stop', 'length', null),
    usageChunk: fc.boolean(),
    done: fc.boolean(),
    tail: fc.constantFrom('', 'data: after\n\n'),
  })
  .chain((s) => {
    const usage = s.usageEveryChunk ? null : undefined;
    const pad = (i: number) => s.pads?.[i];
    const chunks: Record<string, unknown>[] = [
      contentChunk(s.id, s.model, { role: 'assistant', content: '' }, null, usage, pad(9)),
      ...s.pieces.map((p, i) =>
        contentChunk(i === 2 ? 'chatcmpl-other' : s.id, s.model, { content: p }, null, usage, pad(i)),
      ),
    ];
    if (s.finish !== null) chunks.push(contentChunk(s.id, s.model, {}, s.finish, usage, pad(8)));
    if (s.usageChunk) {
      chunks.push({
        id: s.id,
        object: 'chat.completion.chunk',
        created: 1_700_000_000,
        model: s.model,
        choices: [],
        usage: USAGE,
      });
    }
    return fc
      .tuple(
        ...chunks.map((c) =>
          fc.record({
            data: fc.oneof(
              { weight: 6, arbitrary: fc.constant(JSON.stringify(c)) },
              variants(c),
              fc.constant('{"error":{"message":"boom","type":"server_error","code":null}}'),
              fc.constant('{not json'),
            ),
            lines: fc.constantFrom<1 | 2>(1, 1, 1, 1, 1, 2),
            noise: fc.constantFrom<('comment' | 'fields' | null)[]>([], [], ['comment'], ['fields']),
          }),
        ),
      )
      .map((items) => {
        const events: UpstreamEvent[] = [];
        for (const item of items) {
          for (const n of item.noise) if (n !== null) events.push({ kind: n });
          events.push({ kind: 'data', data: item.data, lines: item.lines });
        }
        if (s.done) events.push({ kind: 'done' });
        return { events, tail: s.tail };
      });
  });

function render(events: readonly UpstreamEvent[], tail: string, eol: string): string {
  let out = '';
  for (const e of events) {
    if (e.kind === 'comment') out += `: keep-alive${eol}${eol}`;
    else if (e.kind === 'fields') out += `event: message${eol}id: 7${eol}retry: 100${eol}`;
    else if (e.kind === 'done') out += `data: [DONE]${eol}${eol}`;
    else if (e.lines === 2 && e.data.length > 1) {
      // Split at a JSON comma where there is one (the joined data then has a line break in it).
      const at = Math.max(1, e.data.indexOf(',') + 1);
      out += `data: ${e.data.slice(0, at)}${eol}data:${e.data.slice(at)}${eol}${eol}`;
    } else out += `data: ${e.data}${eol}${eol}`;
  }
  return out + tail;
}

/** A transport that answers every request with `body`, cut into reads at `cuts` (byte offsets). */
function fakeTransport(body: Uint8Array, cuts: readonly number[]): Transport {
  return {
    async request(): Promise<HttpResponse> {
      async function* reads(): AsyncGenerator<Uint8Array> {
        let at = 0;
        for (const cut of [...cuts, body.length]) {
          if (cut <= at) continue;
          yield body.slice(at, cut);
          at = cut;
        }
      }
      return {
        status: 200,
        headers: { 'content-type': 'text/event-stream' },
        body: reads(),
        text: async () => new TextDecoder().decode(body),
      };
    },
    async close() {},
  };
}

/** The provider with its stream items passed through an iterator that never hands out text. */
function withoutFrames(provider: Provider): Provider {
  return {
    spec: provider.spec,
    async call(req) {
      const result = await provider.call(req);
      if (!result.ok || result.kind !== 'stream') return result;
      const inner = result.items[Symbol.asyncIterator]() as StreamItemIterator;
      const items: StreamItemIterator & AsyncIterable<StreamItem> = {
        next: () => inner.next(),
        return: () => inner.return?.() ?? Promise.resolve({ done: true, value: undefined }),
        poll: () => inner.poll?.(),
        [Symbol.asyncIterator]() {
          return items;
        },
      };
      return { ...result, items };
    },
  };
}

interface Run {
  readonly status: number;
  readonly frames: readonly string[];
  readonly usage: unknown;
  readonly attempts: readonly unknown[];
}

async function run(
  transport: Transport,
  frames: boolean,
  includeUsage: boolean,
  batches: boolean,
): Promise<Run> {
  const openai = createOpenAIProvider(providerSpec({ name: 'sim', baseUrl: 'http://upstream.test/v1' }), {
    transport,
    clock: systemClock,
  });
  const attempts: AttemptRecord[] = [];
  const executor = createExecutor({
    providers: new Map([['sim', frames ? openai : withoutFrames(openai)]]),
    clock: systemClock,
    random: () => 0.5,
    onAttempt: (a) => attempts.push(a),
  });
  const res = await executor.execute(
    makeDecision([makeTarget('a', { upstreamModel: 'gpt-up', retry: { attempts: 0 } })]),
    makeContext({ stream: true, includeUsage }),
  );
  const seen = attempts.map((a) => ({
    target: a.target,
    outcome: a.outcome,
    status: a.status,
    usage: a.usage,
  }));
  if (res.kind !== 'stream')
    return { status: res.status, frames: [JSON.stringify(res.body)], usage: null, attempts: seen };
  const out: string[] = [];
  const iterator = res.events[Symbol.asyncIterator]() as AsyncIterator<string> & Partial<FrameBatches>;
  for (;;) {
    if (batches && iterator.nextFrames !== undefined) {
      const step = await iterator.nextFrames();
      if (step.done === true) break;
      expect(step.value.length).toBeGreaterThan(0);
      out.push(...step.value);
    } else {
      const step = await iterator.next();
      if (step.done === true) break;
      out.push(step.value);
    }
  }
  const meta = await res.done;
  return {
    status: res.status,
    frames: out,
    usage: meta.usage,
    attempts: attempts.map((a) => ({
      target: a.target,
      outcome: a.outcome,
      status: a.status,
      usage: a.usage,
    })),
  };
}

describe('the stream relay forwards chunk text as the full path frames the parsed chunks', () => {
  test.prop(
    [
      upstreamStream,
      fc.constantFrom('\n', '\r\n', '\r'),
      fc.uniqueArray(fc.nat(4000), { maxLength: 10 }).map((c) => c.sort((a, b) => a - b)),
      fc.boolean(),
      fc.boolean(),
    ],
    { numRuns: NUM_RUNS * 2 },
  )('same frames, usage and attempts', async (stream, eol, cuts, includeUsage, batches) => {
    const bytes = encoder.encode(render(stream.events, stream.tail, eol));
    const transport = fakeTransport(bytes, cuts);
    const full = await run(transport, false, includeUsage, false);
    const fast = await run(transport, true, includeUsage, batches);
    expect(fast).toEqual(full);
    // Never a truncated success: [DONE] only after a finish reason or a [DONE] upstream.
    if (fast.frames.at(-1) === 'data: [DONE]\n\n') {
      expect(fast.frames.some((f) => f.includes('"error"'))).toBe(false);
    }
  });
});
