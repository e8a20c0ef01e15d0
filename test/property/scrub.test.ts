/**
 * The scrubber's pre-check (engine/providers/scrub.ts): `text` returns a text unchanged when one
 * scan finds none of the secrets or triggers, and runs every replacement otherwise. Over texts
 * built from credential-shaped pieces in any case, it gives exactly what the replacements alone
 * (`redact`) give.
 */
import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { Scrubber } from '../../engine/providers/scrub.js';

const anyCase = (word: string) =>
  fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((upper) => [...word].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''));

const secret = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9 .+*()-]{1,12}$/),
  fc.constantFrom('sk-test-0123456789abcdef', 'tok.en+(x)*', 'Bearer abcdefghijklmnopqrstu'),
);

const token = (min: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9_*.~+/=-]{${min},30}$`));

/** A credential as the patterns see it: a scheme, an echoed header or a key prefix, then a token. */
const credential = fc.oneof(
  fc
    .tuple(fc.constantFrom('bearer', 'basic').chain(anyCase), fc.constantFrom(' ', '  ', '\t'), token(16))
    .map((p) => p.join('')),
  fc
    .tuple(
      fc
        .constantFrom(
          'authorization',
          'proxy-authorization',
          'x-api-key',
          'api_key',
          'api-key',
          'apikey',
          'x-goog-api-key',
        )
        .chain(anyCase),
      fc.constantFrom(': ', '="', "='", '=', '": "'),
      token(8),
    )
    .map((p) => p.join('')),
  fc
    .tuple(
      fc.constantFrom('sk-', 'sk-proj-', 'gsk_', 'xai-', 'AIza', 'hf_'),
      fc.stringMatching(/^[A-Za-z0-9]{30,36}$/),
    )
    .map((p) => p.join('')),
);

const piece = fc.oneof(
  credential,
  fc.constantFrom(' ', '"', '\n', '[redacted]', 'basic authentication', 'sk', 'api').chain(anyCase),
  fc.string({ maxLength: 8 }),
);

test.prop([fc.array(secret, { maxLength: 3 }), fc.array(piece, { maxLength: 6 }), fc.nat(3)], {
  numRuns: 300,
})('text() is redact(): the pre-check skips only texts no replacement changes', (secrets, pieces, at) => {
  const scrubber = new Scrubber(secrets);
  // A configured secret somewhere in the text, some of the time.
  const parts = [...pieces];
  if (secrets.length > 0 && at < parts.length) parts.splice(at, 0, secrets[at % secrets.length]);
  const text = parts.join('');
  expect(scrubber.text(text)).toBe(scrubber.redact(text));
});
