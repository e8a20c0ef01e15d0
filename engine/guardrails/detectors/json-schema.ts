import type { Ajv2020 } from 'ajv/dist/2020.js';
import { lazyRequire } from '../../shared/lazy-require.js';

// Loaded by the first policy with a JSON Schema guardrail, at compile time (shared/lazy-require.ts).
const ajvModule = lazyRequire<typeof import('ajv/dist/2020.js')>('ajv/dist/2020.js');

export type JsonCheckResult = { valid: true; value: unknown } | { valid: false; reason: string };

export type CompileJsonSchemaResult =
  | { ok: true; check(text: string): JsonCheckResult }
  | { ok: false; message: string };

/** The first fenced block labelled json (or unlabelled); models often wrap JSON in one. */
const FENCE = /```[ \t]*(?:json|JSON)?[ \t]*\r?\n([\s\S]*?)\r?\n?```/;

/**
 * Compiles a JSON Schema (draft 2020-12, Ajv) once; `check` then parses an answer and validates
 * it. The text may be bare JSON or contain a fenced ```json block (the first one is taken).
 * Resolving `$ref: ./file.json` beside the policy is the caller's job: pass the loaded schema.
 *
 * @example
 * const c = compileJsonSchemaCheck({ type: 'object', required: ['city'] });
 * if (c.ok) c.check('```json\n{"city":"Paris"}\n```'); // { valid: true, value: { city: 'Paris' } }
 */
export function compileJsonSchemaCheck(schema: object): CompileJsonSchemaResult {
  // One Ajv per schema: schemas from different policies may reuse an `$id`, which a shared
  // instance would refuse. allErrors is off: the first error is enough for a verdict.
  const ajv = new (ajvModule().Ajv2020)({ strict: false, allErrors: false, validateFormats: false });
  let validate: ReturnType<Ajv2020['compile']>;
  try {
    validate = ajv.compile(schema);
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  return {
    ok: true,
    check(text: string): JsonCheckResult {
      const fenced = FENCE.exec(text);
      const source = fenced !== null ? fenced[1] : text.trim();
      let value: unknown;
      try {
        value = JSON.parse(source);
      } catch (err) {
        return { valid: false, reason: `not JSON: ${err instanceof Error ? err.message : String(err)}` };
      }
      if (validate(value)) return { valid: true, value };
      const e = validate.errors?.[0];
      const where = e === undefined || e.instancePath === '' ? '(root)' : e.instancePath;
      return { valid: false, reason: `${where} ${e?.message ?? 'does not match the schema'}` };
    },
  };
}
