/**
 * The request headers that carry credentials (lower case). Their values are never printed
 * (`explain`), logged (the server's redaction) or recorded: one list, so a header added here is
 * kept out of all of them.
 */
export const CREDENTIAL_HEADERS: readonly string[] = Object.freeze([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'cookie',
]);

/** A header name that looks like it carries a credential (`x-anthropic-api-key`, `x-auth-token`). */
const CREDENTIAL_NAME_PATTERN = /(?:auth|api-?key|token|secret|password|cookie|session)/;

/**
 * Whether a recording may never keep the header `name` (any case): the credential headers,
 * `set-cookie`, and any name that looks like a credential. Validation refuses such a name in
 * `recording.headers`, and the recorder drops it whatever it is given.
 */
export function isCredentialHeaderName(name: string): boolean {
  const lower = name.toLowerCase();
  return CREDENTIAL_HEADERS.includes(lower) || lower === 'set-cookie' || CREDENTIAL_NAME_PATTERN.test(lower);
}
