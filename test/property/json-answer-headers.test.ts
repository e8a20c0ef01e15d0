/**
 * The JSON answer's headers as a flat list (server/http.ts `jsonAnswerHeaders`) are the lines the
 * one merged object gave: the engine's headers spread, then the request id, the overhead (and an
 * API's own request-id header), the length, and the content type as `withJsonType` sets it. The
 * same for a streamed answer's (server/sse.ts `streamAnswerHeaders`): the engine's, the route's,
 * then the event stream's four.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { JSON_TYPE, jsonAnswerHeaders, withJsonType } from '../../server/http.js';
import { streamAnswerHeaders } from '../../server/sse.js';

/** What the route wrote before: one object, built by spreading. */
function merged(engine: Record<string, string>, ours: string[], length: string): [string, string][] {
  const headers: Record<string, string> = { ...engine, [ours[0]]: ours[1], [ours[2]]: ours[3] };
  if (ours.length > 4) headers[ours[4]] = ours[5];
  headers['content-length'] = length;
  return Object.entries(withJsonType(headers));
}

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]]);
  return out;
}

const name = fc.oneof(
  fc.constantFrom(
    'content-type',
    'Content-Type',
    'x-switchyard-route',
    'x-switchyard-attempts',
    'retry-after',
    'x-request-id',
    'request-id',
    'content-length',
    'x-switchyard-overhead-ms',
    'cache-control',
    'connection',
    'x-accel-buffering',
    '42',
  ),
  fc.stringMatching(/^[a-z0-9-]{1,12}$/),
);
const value = fc.oneof(
  fc.constantFrom('application/json', JSON_TYPE, 'text/plain', 'application/json; charset=utf-16'),
  fc.stringMatching(/^[ -~]{0,16}$/),
);

describe('jsonAnswerHeaders', () => {
  test.prop([
    fc.dictionary(name, value, { maxKeys: 8 }),
    fc.boolean(),
    fc.stringMatching(/^[0-9a-f-]{1,36}$/),
    fc.nat().map(String),
  ])(
    'gives the merged object’s lines in its order, or null when a name collides',
    (engine, anthropic, id, length) => {
      const ours = ['x-request-id', id, 'x-switchyard-overhead-ms', '0.123'];
      if (anthropic) ours.push('request-id', id);
      const flat = jsonAnswerHeaders(engine, ours, length);
      const collides = ['content-length', ...ours.filter((_, i) => i % 2 === 0)].some((n) =>
        Object.hasOwn(engine, n),
      );
      if (collides) {
        expect(flat).toBeNull();
        return;
      }
      expect(flat).not.toBeNull();
      expect(pairs(flat ?? [])).toEqual(merged(engine, ours, length));
    },
  );
});

describe('streamAnswerHeaders', () => {
  test.prop([
    fc.dictionary(name, value, { maxKeys: 8 }),
    fc.boolean(),
    fc.stringMatching(/^[0-9a-f-]{1,36}$/),
    fc.boolean(),
  ])(
    'gives the merged object’s lines in its order, or null when a name collides',
    (engine, anthropic, id, keepAlive) => {
      const extra: Record<string, string> = { 'x-request-id': id, 'x-switchyard-overhead-ms': '0.123' };
      if (anthropic) extra['request-id'] = id;
      const flat = streamAnswerHeaders(engine, extra, keepAlive);
      const merged = {
        ...engine,
        ...extra,
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: keepAlive ? 'keep-alive' : 'close',
        'x-accel-buffering': 'no',
      };
      const names = [
        ...Object.keys(extra),
        'content-type',
        'cache-control',
        'connection',
        'x-accel-buffering',
      ];
      if (names.some((n) => Object.hasOwn(engine, n))) {
        expect(flat).toBeNull();
        return;
      }
      expect(flat).not.toBeNull();
      expect(pairs(flat ?? [])).toEqual(Object.entries(merged));
    },
  );
});
