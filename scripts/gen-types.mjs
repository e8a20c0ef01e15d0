#!/usr/bin/env node
// Generates engine/policy/types.generated.ts from schemas/policy.schema.json.
// `--check` exits 1 when the committed file is stale (the test suite runs it).
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schemaPath = join(root, 'schemas/policy.schema.json');
const outPath = join(root, 'engine/policy/types.generated.ts');

export async function generateTypes() {
  const schema = JSON.parse(await readFile(schemaPath, 'utf8'));
  // Type names come from the $defs keys, not from the human titles (which are documentation).
  const stripTitles = (node) => {
    if (Array.isArray(node)) return node.map(stripTitles);
    if (node === null || typeof node !== 'object') return node;
    const out = {};
    for (const [k, v] of Object.entries(node)) if (k !== 'title') out[k] = stripTitles(v);
    // Pattern keys (`metadata.<k>`) become an `unknown` index signature: TypeScript cannot type
    // a pattern index next to differently typed fixed keys; the compiler narrows them itself.
    if (out.patternProperties !== undefined) {
      delete out.patternProperties;
      out.additionalProperties = true;
    }
    return out;
  };
  const named = stripTitles(schema);
  named.title = 'Policy';
  for (const [key, def] of Object.entries(named.$defs)) def.title = key;
  const ts = await compile(named, 'Policy', {
    bannerComment:
      '/* Generated from schemas/policy.schema.json by scripts/gen-types.mjs. Do not edit: run `npm run gen:types`. */',
    additionalProperties: false,
    unreachableDefinitions: true,
    strictIndexSignatures: true,
    style: { singleQuote: true, printWidth: 110 },
    format: true,
  });
  return ts;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ts = await generateTypes();
  if (process.argv.includes('--check')) {
    const current = await readFile(outPath, 'utf8').catch(() => '');
    if (current !== ts) {
      console.error('engine/policy/types.generated.ts is stale: run `npm run gen:types`');
      process.exit(1);
    }
  } else {
    await writeFile(outPath, ts);
    console.log(`wrote ${outPath}`);
  }
}
