import { isDeepStrictEqual } from 'node:util';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { parsePolicySources } from '../../../engine/policy/load.js';
import {
  createSourceMap,
  escapePointerToken,
  joinPointer,
  splitPointer,
} from '../../../engine/policy/source-map.js';
import type { SourceLocation } from '../../../engine/types.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

// Characters that stress YAML quoting and pointer escaping; no `$`, which would interpolate.
const char = fc.constantFrom(
  'a',
  'b',
  'z',
  '0',
  '1',
  '.',
  ' ',
  '-',
  '#',
  ':',
  '~',
  '/',
  '"',
  "'",
  '\\',
  '{',
  '[',
  '\n',
  'é',
  '*',
  '&',
  '!',
);
const text = fc.string({ unit: char, maxLength: 8 });
const scalar: fc.Arbitrary<Json> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
  text,
);

function toObject(entries: [string, Json][]): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const [k, v] of entries)
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

const { value: json } = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.uniqueArray(fc.tuple(text, tie('value')), { maxLength: 4, selector: (e) => e[0] }).map(toObject),
  ),
}));
const rootMapping = fc
  .uniqueArray(fc.tuple(text, json), { minLength: 1, maxLength: 5, selector: (e) => e[0] })
  .map(toObject);

/** Every pointer of a JSON value, with the value there (and whether a mapping key holds it). */
function* walk(value: Json, pointer = ''): Generator<[string, Json, boolean]> {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const p = joinPointer(pointer, i);
      yield [p, v, false];
      yield* walk(v, p);
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const p = joinPointer(pointer, k);
      yield [p, v, true];
      yield* walk(v, p);
    }
  }
}

/** Whether yaml itself reads `src` back as `doc`. */
function roundTrips(src: string, doc: Json): boolean {
  try {
    return isDeepStrictEqual(parseYaml(src, { logLevel: 'silent' }), doc);
  } catch {
    return false;
  }
}

function offsetOf(src: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) offset = src.indexOf('\n', offset) + 1;
  return offset + column - 1;
}

/** The source text of a span, re-indented to its column so it parses on its own. */
function spanText(src: string, loc: SourceLocation): string {
  const start = offsetOf(src, loc.line, loc.column);
  const end = offsetOf(src, loc.endLine!, loc.endColumn!);
  return ' '.repeat(loc.column - 1) + src.slice(start, end);
}

describe('source map', () => {
  test.prop([rootMapping, fc.constantFrom('any', 'block', 'flow') as fc.Arbitrary<'any' | 'block' | 'flow'>])(
    'locate() points at text that parses back to the value at every pointer; locateKey() at its key',
    (doc, collectionStyle) => {
      const src = stringify(doc, { collectionStyle });
      // yaml's own stringify is not a perfect inverse (e.g. whitespace-only block scalars); skip those.
      fc.pre(roundTrips(src, doc));
      const r = parsePolicySources([{ file: 'gen.yaml', text: src }]);
      expect(r.diagnostics).toEqual([]);
      expect(r.document).toEqual(doc);
      for (const [pointer, value, keyed] of walk(doc)) {
        const loc = r.sourceMap.locate(pointer);
        expect(loc, pointer).toBeDefined();
        expect(loc!.file).toBe('gen.yaml');
        const span = spanText(src, loc!);
        if (/^\s*[|>]/.test(span)) {
          // A block scalar's indentation indicator is relative to its parent, so it cannot be
          // re-parsed alone; it is enough that the span starts at the indicator of a string.
          expect(typeof value, pointer).toBe('string');
        } else {
          expect(parseYaml(span, { logLevel: 'silent' }) ?? null, `${pointer} in\n${src}`).toEqual(value);
        }
        if (keyed) {
          const key = r.sourceMap.locateKey(pointer)!;
          const token = splitPointer(pointer).at(-1);
          expect(String(parseYaml(spanText(src, key), { logLevel: 'silent' }) ?? ''), pointer).toBe(token);
        }
      }
    },
  );

  test.prop([fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 })])(
    'maps concatenated routes back to their fragment, file and line',
    (counts) => {
      const sources = counts.map((n, f) => ({
        file: `f${f}.yaml`,
        text: `routes:\n${Array.from({ length: n }, (_, i) => `  - name: r${f}-${i}\n`).join('')}`,
      }));
      const r = parsePolicySources(sources);
      const expected = counts.flatMap((n, f) => Array.from({ length: n }, (_, i) => ({ f, i })));
      expect((r.document as { routes: unknown[] | null }).routes ?? []).toHaveLength(expected.length);
      expected.forEach(({ f, i }, k) => {
        expect(r.sourceMap.locate(`/routes/${k}/name`)).toMatchObject({
          file: `f${f}.yaml`,
          line: 2 + i,
          column: 11,
        });
        expect(r.sourceMap.locate(`/routes/${k}`)).toMatchObject({
          file: `f${f}.yaml`,
          line: 2 + i,
          column: 5,
        });
      });
      expect(r.sourceMap.locate(`/routes/${expected.length}`)).toBeUndefined();
    },
  );

  it('escapes and splits pointer tokens per RFC 6901', () => {
    expect(escapePointerToken('a/b~c')).toBe('a~1b~0c');
    expect(joinPointer('', 'a/b', 0, '~')).toBe('/a~1b/0/~0');
    expect(splitPointer('/a~1b/0/~0')).toEqual(['a/b', '0', '~']);
    expect(splitPointer('')).toEqual([]);
    expect(splitPointer('#/a%20b')).toEqual(['a b']);
  });

  it('locateNearest walks up to an existing ancestor', () => {
    const at = (line: number): SourceLocation => ({ file: 'f', line, column: 1 });
    const map = createSourceMap(
      new Map([
        ['', { value: at(1) }],
        ['/a', { value: at(2), key: at(3) }],
      ]),
      ['f'],
    );
    expect(map.locateNearest('/a/b/c')).toEqual(at(2));
    expect(map.locateNearest('/x')).toEqual(at(1));
    expect(map.locateKey('/a')).toEqual(at(3));
    expect(map.locateKey('/a/b')).toBeUndefined();
    expect(createSourceMap(new Map(), []).locateNearest('/a')).toBeUndefined();
  });
});
