#!/usr/bin/env node
// Generates engine/replay/recorded-line.validate.generated.ts: the validator of a recording line
// (schemas/recorded-traffic.schema.json) as Ajv standalone code, so that a replay does not spend
// the first ~100 ms of every run compiling the schema. The Ajv options are those the schema was
// always checked with, so the errors are the same. `--check` exits 1 when the committed file is
// stale (the test suite compares it too).
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schemaPath = join(root, 'schemas/recorded-traffic.schema.json');
const outPath = join(root, 'engine/replay/recorded-line.validate.generated.ts');

/** The options of the recording line's validator (engine/replay/read.ts documents them). */
export const RECORDED_LINE_AJV_OPTIONS = Object.freeze({
  allErrors: true,
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
});

export async function generateValidators() {
  const schema = JSON.parse(await readFile(schemaPath, 'utf8'));
  const ajv = new Ajv2020({ ...RECORDED_LINE_AJV_OPTIONS, code: { source: true, esm: true } });
  const code = standaloneCode(ajv, ajv.compile(schema));
  // Ajv's ESM output still `require`s its runtime helpers (ucs2length): a require of the module's
  // own gives them the same way under Node and under a test runner's loader.
  const requires = /\brequire\(/.test(code);
  return [
    '// @ts-nocheck',
    '/* Generated from schemas/recorded-traffic.schema.json by scripts/gen-validators.mjs. Do not edit: run `npm run gen:validators`. */',
    ...(requires
      ? ["import { createRequire } from 'node:module';", 'const require = createRequire(import.meta.url);']
      : []),
    code.replace(/^"use strict";/, ''),
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const ts = await generateValidators();
  if (process.argv.includes('--check')) {
    const current = await readFile(outPath, 'utf8').catch(() => '');
    if (current !== ts) {
      console.error(
        'engine/replay/recorded-line.validate.generated.ts is stale: run `npm run gen:validators`',
      );
      process.exit(1);
    }
  } else {
    await writeFile(outPath, ts);
    console.log(`wrote ${outPath}`);
  }
}
