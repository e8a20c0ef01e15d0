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
