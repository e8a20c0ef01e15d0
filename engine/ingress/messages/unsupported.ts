/**
 * What a Messages request carries that no translation can: the 400 `unsupported_feature` naming
 * it (server tools, documents, unknown fields, ...), and the fields accepted and not carried
 * (request.ts's comment). Never a silent drop.
 */
import { Problem } from '../common.js';

type Obj = Record<string, unknown>;

/** The problem for `what` at `param`: it cannot be translated. */
export function unsupported(param: string, what: string): Problem {
  return new Problem(
    'unsupported_feature',
    `${what} (${param}) cannot be translated for the targets this gateway routes to; remove it. See docs/ingress.md for what /v1/messages carries.`,
    param,
  );
}

/** Accepted and not carried (request.ts). */
const IGNORED_FIELDS = new Set([
  'cache_control',
  'thinking',
  'top_k',
  'service_tier',
  'speed',
  'inference_geo',
  'diagnostics',
]);

/**
 * Throws the problem for the first set field of `body` that is neither read by the translation
 * (`known`) nor accepted and not carried.
 */
export function refuseUntranslatedFields(body: Readonly<Obj>, known: ReadonlySet<string>): void {
  for (const key of Object.keys(body)) {
    if (known.has(key) || IGNORED_FIELDS.has(key) || body[key] === null || body[key] === undefined) continue;
    throw unsupported(key, `The field "${key}"`);
  }
}
