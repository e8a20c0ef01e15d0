/** `switchyard schema`: prints the policy JSON Schema (the public contract) for editors and CI. */

import { parseArgs } from 'node:util';
import { type CliIo, readPackageFile } from '../io.js';

export const SCHEMA_HELP = `Usage: switchyard schema

Prints the policy JSON Schema (JSON Schema 2020-12). Point your editor's YAML language server at
it, e.g. "# yaml-language-server: $schema=./policy.schema.json".
`;

export async function runSchema(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    strict: true,
    options: { help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.stdout.write(SCHEMA_HELP);
    return 0;
  }
  const text = await readPackageFile('schemas/policy.schema.json');
  io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  return 0;
}
