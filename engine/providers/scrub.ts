/**
 * Credentials out of upstream error text. A provider's error can reach the caller unchanged (a
 * policy returns a 400 or a content-policy refusal as the provider sent it), and its message goes
 * to the logs and the recording. Some upstreams (proxies, self-hosted servers, debug modes) quote
 * the request's headers in their errors: that would hand the provider key to every caller.
 *
 * A `Scrubber` is built once per provider, from its configured key and secret-looking headers;
 * the generic patterns below are built once at module load. Nothing is compiled per request, and
 * only error paths pay for a scrub.
 */
import type { ProviderError, ProviderErrorBody, ProviderSpec } from './types.js';

export const REDACTED = '[redacted]';

/**
 * Strings shaped like provider API keys, whosever they are: OpenAI and Anthropic (`sk-…`,
 * `sk-proj-…`, `sk-ant-…`, masked forms like `sk-abc1****wxyz` included), Groq, xAI, Google,
 * Hugging Face.
 */
const KEY_SHAPES =
  /\b(?:sk-[A-Za-z0-9][A-Za-z0-9_*-]{15,}|gsk_[A-Za-z0-9]{20,}|xai-[A-Za-z0-9]{20,}|AIza[0-9A-Za-z_-]{30,}|hf_[A-Za-z0-9]{20,})/g;

/**
 * An echoed credential header (`authorization: …`, `"api-key": "…"`, `x-api-key=…`): its value.
 * The value stops at quotes, backslashes and JSON punctuation, so a scrub of raw JSON text keeps
 * it JSON.
 */
const HEADER_ECHO =
  /\b((?:proxy-)?authorization|x-api-key|api[-_]?key|x-goog-api-key)(["']?\s*[:=]\s*["']?)(?:(?:bearer|basic)\s+)?[^\s"'\\,;}\]]{8,}/gi;

/**
 * A bearer or basic credential anywhere in the text. Real ones are long; the length keeps prose
 * ("basic authentication") out.
 */
const AUTH_SCHEME = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=*-]{16,}/gi;

/** Header names whose configured values are secrets. */
const SECRET_HEADER = /authorization|api[-_]?key|token|secret|password|cookie/i;

/** Nesting below this depth is dropped rather than walked (error bodies are shallow). */
const MAX_DEPTH = 32;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * What every match of the patterns above contains (case aside): `HEADER_ECHO` needs
 * `authorization` or an `api key` spelling, `AUTH_SCHEME` `bearer` or `basic`, `KEY_SHAPES` one
 * of the key prefixes.
 */
const TRIGGERS = 'authorization|api[-_]?key|bearer|basic|sk-|gsk_|xai-|aiza|hf_';

export class Scrubber {
  /** The configured secrets as one alternation, longest first; null when there are none. */
  readonly #secrets: RegExp | null;
  /**
   * Matches somewhere in every text a replacement would change (the secrets and the triggers,
   * ignoring case): a text it does not match is returned as it is, after one scan instead of
   * four. Error bodies and their strings rarely contain any, and a fallback scrubs each.
   */
  readonly #quick: RegExp;

  constructor(secrets: Iterable<string | null | undefined>) {
    const list = [...new Set([...secrets].filter((s): s is string => typeof s === 'string' && s !== ''))];
    list.sort((a, b) => b.length - a.length);
    const alternation = list.map(escapeRegExp).join('|');
    this.#secrets = list.length === 0 ? null : new RegExp(alternation, 'g');
    this.#quick = new RegExp(list.length === 0 ? TRIGGERS : `${alternation}|${TRIGGERS}`, 'i');
  }

  /** The text with every configured secret and every credential-shaped string redacted. */
  text(value: string): string {
    return this.#quick.test(value) ? this.redact(value) : value;
  }

  /** What `text` does, without its pre-check: every replacement, whether or not one matches. */
  redact(value: string): string {
    let out = this.#secrets === null ? value : value.replace(this.#secrets, REDACTED);
    out = out.replace(HEADER_ECHO, `$1$2${REDACTED}`);
    out = out.replace(AUTH_SCHEME, `$1 ${REDACTED}`);
    return out.replace(KEY_SHAPES, REDACTED);
  }

  /** A parsed JSON value with every string (keys included) scrubbed. */
  value(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return this.text(value);
    if (typeof value !== 'object' || value === null) return value;
    if (depth >= MAX_DEPTH) return REDACTED;
    if (Array.isArray(value)) return value.map((item) => this.value(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty: an own `__proto__` key (JSON.parse makes one) stays a plain property.
      Object.defineProperty(out, this.text(key), {
        value: this.value(item, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }

  /** The error with its message and its whole body (passed through to callers) scrubbed. */
  error(error: ProviderError): ProviderError {
    return {
      ...error,
      message: this.text(error.message),
      body: this.value(error.body) as ProviderErrorBody,
    };
  }
}

/**
 * The scrubber for a provider: its API key, and the values of its configured headers that carry
 * credentials (`Authorization`, `api-key`, `x-…-token`, ...), with the bare token of a
 * `Bearer`/`Basic` value too.
 */
export function scrubberFor(spec: ProviderSpec): Scrubber {
  const secrets: string[] = [];
  if (spec.apiKey !== null) secrets.push(spec.apiKey);
  for (const [name, value] of Object.entries(spec.headers)) {
    if (!SECRET_HEADER.test(name)) continue;
    secrets.push(value);
    const token = /^(?:bearer|basic)\s+(.+)$/i.exec(value);
    if (token !== null) secrets.push(token[1]);
  }
  return new Scrubber(secrets);
}
