/**
 * `${NAME}` / `${NAME:-default}` interpolation inside string scalars. The result is always a
 * string (no re-typing: `"${PORT}"` stays `"8080"`, never `8080`), and `$${` is a literal `${`.
 * Problems are returned as data with the offending token, never with the substituted value, so
 * that no secret can reach a diagnostic.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export interface InterpolationProblem {
  kind: 'missing' | 'syntax';
  /** The literal token as written, e.g. `${OPENAI_API_KEY}`; safe to show (it is source text). */
  token: string;
  /** Which occurrence of `token` in the string this is (0-based), to locate it in the source. */
  occurrence: number;
  /** The variable name (missing), or '' when the token is malformed. */
  name: string;
  message: string;
}

export interface InterpolationResult {
  value: string;
  /** True when at least one `${...}` was expanded (from the environment or its default). */
  substituted: boolean;
  problems: InterpolationProblem[];
}

const EXPRESSION = /^([A-Za-z_][A-Za-z0-9_]*)(:-([\s\S]*))?$/;

/** Expands `${...}` references in one string; pure, so tests and property tests pass `env` in. */
export function interpolate(text: string, env: Env): InterpolationResult {
  if (!text.includes('${')) return { value: text, substituted: false, problems: [] };
  let out = '';
  let substituted = false;
  const problems: InterpolationProblem[] = [];
  const seen = new Map<string, number>();
  const occurrence = (token: string): number => {
    const n = seen.get(token) ?? 0;
    seen.set(token, n + 1);
    return n;
  };
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!text.startsWith('${', i)) {
      out += text[i];
      i += 1;
      continue;
    }
    const close = text.indexOf('}', i + 2);
    if (close === -1) {
      const token = text.slice(i);
      problems.push({
        kind: 'syntax',
        token,
        occurrence: occurrence(token),
        name: '',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${...} syntax is the subject here
        message: 'unterminated "${": expected ${NAME} or ${NAME:-default} (write $${ for a literal ${)',
      });
      out += token;
      break;
    }
    const token = text.slice(i, close + 1);
    const m = EXPRESSION.exec(text.slice(i + 2, close));
    if (!m || m[3]?.includes('${')) {
      problems.push({
        kind: 'syntax',
        token,
        occurrence: occurrence(token),
        name: '',
        message: `malformed interpolation ${JSON.stringify(token)}: expected \${NAME} or \${NAME:-default} where NAME is letters, digits and _ (nesting is not supported)`,
      });
      out += token;
      i = close + 1;
      continue;
    }
    const name = m[1];
    const fallback = m[3];
    const value = env[name];
    if (fallback !== undefined) {
      // Shell semantics: `:-` also applies when the variable is set but empty.
      out += value === undefined || value === '' ? fallback : value;
      substituted = true;
    } else if (value !== undefined) {
      out += value;
      substituted = true;
    } else {
      problems.push({
        kind: 'missing',
        token,
        occurrence: occurrence(token),
        name,
        message: `environment variable ${name} is not set and has no default`,
      });
    }
    i = close + 1;
  }
  return { value: out, substituted, problems };
}
