/**
 * The mock provider's schema sampler (engine/providers/mock-schema.ts): for every schema of the
 * subset it supports, the value it draws validates against the schema (checked by Ajv, draft
 * 2020-12, formats included) and is the same for the same seed; for any JSON at all it returns or
 * refuses with a MockSchemaError, nothing else. The seed is printed on failure; FC_NUM_RUNS sets
 * the number of runs (default 100).
 */
import { fc, test } from '@fast-check/vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect } from 'vitest';
import { MockSchemaError, sampleSchema } from '../../engine/providers/mock-schema.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 100);

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

const FORMATS = ['date-time', 'date', 'time', 'email', 'uri', 'uuid', 'hostname', 'ipv4', 'ipv6', 'duration'];
const name = fc.constantFrom('city', 'unit', 'days', 'tags', 'when', 'id', 'a/b', 'x~y');

/** Satisfiable schemas of the supported subset: bounds are drawn so that they can be met. */
const { schema } = fc.letrec<{ schema: Record<string, unknown>; leaf: Record<string, unknown> }>((tie) => ({
  leaf: fc.oneof(
    fc.record(
      {
        type: fc.constant('string'),
        minLength: fc.integer({ min: 0, max: 20 }),
        maxLength: fc.integer({ min: 20, max: 40 }),
      },
      { requiredKeys: ['type'] },
    ),
    // A format's values have their own length: no minLength/maxLength beside it.
    fc.record({ type: fc.constant('string'), format: fc.constantFrom(...FORMATS) }),
    fc
      .record({ min: fc.integer({ min: -1000, max: 1000 }), span: fc.integer({ min: 2, max: 1000 }) })
      .chain(({ min, span }) =>
        fc.record(
          {
            type: fc.constantFrom('integer', 'number'),
            minimum: fc.constant(min),
            maximum: fc.constant(min + span),
            exclusiveMinimum: fc.constant(min - 1),
            multipleOf: fc.constantFrom(1, 2, 5),
          },
          { requiredKeys: ['type'] },
        ),
      ),
    fc
      .record({
        type: fc.constantFrom('number'),
        exclusiveMinimum: fc.double({ min: -5, max: 5, noNaN: true }),
      })
      .map((s) => ({ ...s, exclusiveMaximum: s.exclusiveMinimum + 0.5 })),
    fc.constant({ type: 'boolean' }),
    fc.constant({ type: 'null' }),
    fc.constant({}),
    fc.record({
      enum: fc.uniqueArray(fc.jsonValue(), {
        minLength: 1,
        maxLength: 4,
        selector: (v) => JSON.stringify(v),
      }),
    }),
    fc.record({ const: fc.jsonValue() }),
  ),
  schema: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc
      .dictionary(name, tie('schema'), { maxKeys: 4 })
      .chain((properties) =>
        fc.record(
          {
            type: fc.constant('object'),
            properties: fc.constant(properties),
            required: fc.subarray(Object.keys(properties)),
            additionalProperties: fc.oneof(fc.constant(false), tie('leaf')),
            minProperties: fc.integer({ min: 0, max: 3 }),
          },
          { requiredKeys: ['type', 'properties'] },
        ),
      )
      .filter(
        (s) =>
          !(s.additionalProperties === false && (s.minProperties ?? 0) > Object.keys(s.properties).length),
      ),
    fc.record(
      {
        type: fc.constant('array'),
        items: tie('schema'),
        minItems: fc.integer({ min: 0, max: 3 }),
        maxItems: fc.integer({ min: 3, max: 6 }),
      },
      { requiredKeys: ['type', 'items'] },
    ),
    fc.record({ type: fc.constant(['string', 'null']), maxLength: fc.integer({ min: 0, max: 5 }) }),
    fc.array(tie('schema'), { minLength: 1, maxLength: 3 }).map((anyOf) => ({ anyOf })),
    fc
      .tuple(
        fc.dictionary(name, tie('leaf'), { maxKeys: 2 }),
        fc.dictionary(name, tie('leaf'), { maxKeys: 2 }),
      )
      .map(([p, q]) => ({
        allOf: [
          { type: 'object', properties: p, required: Object.keys(p) },
          { type: 'object', properties: q, required: Object.keys(q) },
        ],
      }))
      .filter((s) => {
        // Both halves must agree on the properties they share.
        const [a, b] = s.allOf.map((part) => part.properties as Record<string, unknown>);
        return Object.keys(a).every((k) => !(k in b) || JSON.stringify(a[k]) === JSON.stringify(b[k]));
      }),
  ),
}));

/** `$ref`s into the root's `$defs` (top level only: a nested `#/$defs/x` still means the root's). */
const withRefs = fc.tuple(schema, schema).map(([a, b]) => ({
  $defs: { a, b },
  type: 'object',
  properties: { first: { $ref: '#/$defs/a' }, second: { $ref: '#/$defs/b' } },
  required: ['first', 'second'],
}));

/** A recursive tree: a required, nullable link to itself ends once the value is deep. */
const TREE = {
  $defs: {
    node: {
      type: 'object',
      properties: {
        label: { type: 'string' },
        next: { anyOf: [{ $ref: '#/$defs/node' }, { type: 'null' }] },
      },
      required: ['label', 'next'],
      additionalProperties: false,
    },
  },
  $ref: '#/$defs/node',
};

describe('mock schema sampler', () => {
  test.prop([fc.oneof(schema, withRefs, fc.constant(TREE)), fc.integer({ min: 0, max: 2 ** 32 - 1 })], {
    numRuns: NUM_RUNS,
  })('draws a value the schema accepts, the same for the same seed', (s, seed) => {
    const value = sampleSchema(s, seed);
    const validate = ajv.compile(s);
    expect(validate(value), JSON.stringify({ value, errors: validate.errors })).toBe(true);
    expect(sampleSchema(s, seed)).toEqual(value);
  });

  test.prop([fc.jsonValue(), fc.integer()], { numRuns: NUM_RUNS })(
    'any JSON as a schema: a value or a MockSchemaError, nothing else',
    (s, seed) => {
      try {
        sampleSchema(s, seed);
      } catch (err) {
        expect(err).toBeInstanceOf(MockSchemaError);
      }
    },
  );
});
