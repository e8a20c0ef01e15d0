/**
 * What the ingress translators share on the request side: the problem shape and how a
 * translation raises and returns it, and type names for its messages.
 */
import { isRecord } from '../shared/guards.js';

/** A request an ingress cannot translate: a 400 of the catalogue, with the offending field. */
export interface IngressProblem {
  readonly code: 'invalid_request' | 'unsupported_feature';
  readonly message: string;
  readonly param: string | null;
}

/**
 * Thrown inside a translation at the first thing it cannot translate; the translation's entry
 * ({@link translateBody}) returns it as its {@link IngressProblem}.
 */
export class Problem extends Error {
  constructor(
    readonly code: IngressProblem['code'],
    message: string,
    readonly param: string | null,
  ) {
    super(message);
  }
}

export function invalid(param: string, message: string): Problem {
  return new Problem('invalid_request', message, param);
}

/**
 * `translate` applied to a request body, with a body that is no object, or a {@link Problem} it
 * throws, returned as the problem (400). Never throws a Problem.
 */
export function translateBody<T>(
  body: unknown,
  translate: (body: Record<string, unknown>) => T,
): T | ({ readonly ok: false } & IngressProblem) {
  if (!isRecord(body)) {
    return {
      ok: false,
      code: 'invalid_request',
      message: `The request body must be a JSON object, got ${typeName(body)}.`,
      param: null,
    };
  }
  try {
    return translate(body);
  } catch (err) {
    if (err instanceof Problem) return { ok: false, code: err.code, message: err.message, param: err.param };
    throw err;
  }
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
