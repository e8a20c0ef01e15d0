import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { DURATION_PATTERN, MONEY_PATTERN, RATE_PATTERN, SIZE_PATTERN } from '../../../engine/shared/units.js';
import { GENERATED_DOCS } from '../../../scripts/gen-docs.js';
import { generateTypes } from '../../../scripts/gen-types.mjs';

const root = join(import.meta.dirname, '../../..');
const schema = JSON.parse(readFileSync(join(root, 'schemas/policy.schema.json'), 'utf8')) as {
  $defs: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
};

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

describe('policy JSON Schema', () => {
  it('compiles under Ajv strict mode (2020-12)', () => {
    const ajv = new Ajv2020({
      strict: true,
      strictRequired: false,
      discriminator: true,
      allowUnionTypes: true,
    });
    expect(() => ajv.compile(schema)).not.toThrow();
  });

  it('gives every definition a title and a description (the user reference)', () => {
    const missing = Object.entries(schema.$defs)
      .filter(([, def]) => typeof def.title !== 'string' || typeof def.description !== 'string')
      .map(([name]) => name);
    expect(missing).toEqual([]);
  });

  it('describes every property (directly or through the definition it references)', () => {
    const undocumented: string[] = [];
    const visit = (node: unknown, path: string): void => {
      if (!isNode(node)) return;
      for (const key of ['properties', 'patternProperties'] as const) {
        const props = node[key];
        if (!isNode(props)) continue;
        for (const [name, prop] of Object.entries(props)) {
          if (!isNode(prop)) continue;
          if (typeof prop.description !== 'string' && typeof prop.$ref !== 'string') {
            undocumented.push(`${path}/${name}`);
          }
          visit(prop, `${path}/${name}`);
        }
      }
      for (const key of ['items', 'additionalProperties', 'not']) visit(node[key], `${path}/${key}`);
      for (const key of ['oneOf', 'anyOf', 'allOf']) {
        const list = node[key];
        if (Array.isArray(list)) for (const [i, n] of list.entries()) visit(n, `${path}/${key}/${i}`);
      }
    };
    visit(schema, '#');
    for (const [name, def] of Object.entries(schema.$defs)) visit(def, `#/$defs/${name}`);
    expect(undocumented).toEqual([]);
  });

  it('uses the same unit formats as the compiler', () => {
    expect(schema.$defs.Duration.pattern).toBe(DURATION_PATTERN);
    expect(schema.$defs.Rate.pattern).toBe(RATE_PATTERN);
    expect(schema.$defs.Money.pattern).toBe(MONEY_PATTERN);
    expect(schema.$defs.Size.pattern).toBe(SIZE_PATTERN);
  });

  it('has committed TypeScript types that match it (run `npm run gen:types`)', async () => {
    const committed = readFileSync(join(root, 'engine/policy/types.generated.ts'), 'utf8');
    expect(committed).toBe(await generateTypes());
  });

  it.each(GENERATED_DOCS.map((d) => [d.path, d.render] as const))(
    'has an up-to-date %s (run `npm run gen:docs`)',
    (path, render) => {
      expect(readFileSync(join(root, path), 'utf8')).toBe(render());
    },
  );
});
