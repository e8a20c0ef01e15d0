import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSse, SseError, SseParser, sseFrame } from '../../../engine/providers/sse.js';

const enc = new TextEncoder();

function parseAll(pieces: Uint8Array[]): { event: string; data: string }[] {
  const parser = new SseParser();
  const out = pieces.flatMap((p) => parser.push(p));
  out.push(...parser.end());
  return out.map(({ event, data }) => ({ event, data }));
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    pieces.push(bytes.subarray(prev, p));
    prev = p;
  }
  pieces.push(bytes.subarray(prev));
  return pieces;
}

describe('SseParser', () => {
  it('parses data, event names, comments and multi-line data', () => {
    const text =
      ': keep-alive\n\nevent: message_start\ndata: {"a":1}\n\ndata: line one\ndata: line two\n\ndata:nospace\n\n';
    expect(parseAll([enc.encode(text)])).toEqual([
      { event: 'message_start', data: '{"a":1}' },
      { event: 'message', data: 'line one\nline two' },
      { event: 'message', data: 'nospace' },
    ]);
  });

  it('accepts CRLF and lone CR line endings, including a CRLF split across chunks', () => {
    expect(parseAll([enc.encode('data: a\r\n\r\ndata: b\r\rdata: c\r')])).toEqual([
      { event: 'message', data: 'a' },
      { event: 'message', data: 'b' },
    ]);
    expect(parseAll([enc.encode('data: a\r'), enc.encode('\n\r'), enc.encode('\ndata: b\r\n\r\n')])).toEqual([
      { event: 'message', data: 'a' },
      { event: 'message', data: 'b' },
    ]);
  });

  it('reassembles a UTF-8 character split across chunks', () => {
    const bytes = enc.encode('data: héllo 🌍 wörld\n\n');
    const emoji = bytes.indexOf(0xf0);
    const pieces = [bytes.subarray(0, 8), bytes.subarray(8, emoji + 2), bytes.subarray(emoji + 2)];
    expect(parseAll(pieces)).toEqual([{ event: 'message', data: 'héllo 🌍 wörld' }]);
  });

  it('drops an event not terminated by a blank line at the end of input', () => {
    expect(parseAll([enc.encode('data: complete\n\ndata: partial')])).toEqual([
      { event: 'message', data: 'complete' },
    ]);
  });

  it('refuses over-long lines', () => {
    const parser = new SseParser({ maxLineLength: 16 });
    expect(() => parser.push(enc.encode('data: 0123456789abcdef'))).toThrow(SseError);
  });

  it('gives the same events however the bytes are split (property)', () => {
    const line = fc.stringMatching(/^[^\r\n]{0,12}$/);
    const event = fc.record({
      name: fc.option(fc.constantFrom('message_start', 'ping', 'delta'), { nil: undefined }),
      data: fc.array(line, { minLength: 1, maxLength: 3 }),
      eol: fc.constantFrom('\n', '\r\n', '\r'),
    });
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 6 }),
        fc.array(fc.nat(400), { maxLength: 10 }),
        (events, cuts) => {
          const text = events
            .map((e) => {
              const lines = e.name === undefined ? [] : [`event: ${e.name}`];
              lines.push(...e.data.map((d) => `data: ${d}`));
              return lines.join(e.eol) + e.eol + e.eol;
            })
            .join('');
          const bytes = enc.encode(text);
          const expected = events.map((e) => ({ event: e.name ?? 'message', data: e.data.join('\n') }));
          expect(parseAll([bytes])).toEqual(expected);
          expect(parseAll(splitAt(bytes, cuts))).toEqual(expected);
        },
      ),
    );
  });

  it('parseSse reads an async byte stream', async () => {
    async function* source() {
      yield enc.encode('data: {"x"');
      yield enc.encode(':1}\n\ndata: [DONE]\n\n');
    }
    const events = [];
    for await (const e of parseSse(source())) events.push(e.data);
    expect(events).toEqual(['{"x":1}', '[DONE]']);
  });
});

describe('sseFrame', () => {
  it('frames single-line data', () => {
    expect(sseFrame('[DONE]')).toBe('data: [DONE]\n\n');
    expect(sseFrame('{"a":1}', 'error')).toBe('event: error\ndata: {"a":1}\n\n');
  });

  it('round-trips multi-line data through the parser', () => {
    const data = 'one\ntwo\r\nthree';
    expect(parseAll([enc.encode(sseFrame(data))])).toEqual([{ event: 'message', data: 'one\ntwo\nthree' }]);
  });
});
