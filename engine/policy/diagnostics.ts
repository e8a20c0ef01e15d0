/**
 * Diagnostics: every problem found in a policy, by any stage, is one `Diagnostic` value
 * (docs/design.md §6). Stages collect them and never throw; renderers live in `format.ts`.
 */

import type { SourceLocation } from '../types.js';

export type Severity = 'error' | 'warning';

export type DiagnosticStage = 'parse' | 'schema' | 'reference' | 'semantic';

export interface RelatedLocation {
  message: string;
  file: string;
  line: number;
  column: number;
}

export interface Diagnostic {
  /** Stable code from `DIAGNOSTIC_CODES`. */
  code: string;
  severity: Severity;
  /** Never contains a value that came from `${ENV}` interpolation or a secret field. */
  message: string;
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
  endLine?: number;
  /** Exclusive: the column just past the span (as in SARIF). */
  endColumn?: number;
  /** RFC 6901 pointer into the merged document; '' for the root. */
  pointer: string;
  /** The route involved, when there is one. */
  route?: string;
  /** A "did you mean" suggestion: the known name itself, rendered as `(did you mean "x"?)`. */
  hint?: string;
  related?: RelatedLocation[];
}

export interface DiagnosticCodeInfo {
  stage: DiagnosticStage;
  /** One line; the SARIF rule description. */
  title: string;
  /** A failing snippet. Multi-file examples separate files with `# file: <name>` lines. */
  example: string;
  /** What to change. */
  fix: string;
}

/**
 * The one catalogue of diagnostic codes, grouped by stage (parse, schema, reference, semantic).
 * A code is never renamed or reused once released; tests check that every emitted code is here.
 */
export const DIAGNOSTIC_CODES: Record<string, DiagnosticCodeInfo> = {
  // -- parse ------------------------------------------------------------------------------------
  PARSE_NO_FILES: {
    stage: 'parse',
    title: 'No policy files found',
    example: '# switchyard validate ./empty-dir   (a directory with no *.yaml or *.yml files)',
    fix: 'Point at a policy file, or at a directory that holds *.yaml / *.yml fragments (test files *.test.yaml and dotfiles are skipped).',
  },
  PARSE_FILE_READ: {
    stage: 'parse',
    title: 'Policy file cannot be read',
    example: '# switchyard validate ./does-not-exist.yaml',
    fix: 'Check the path and the file permissions.',
  },
  PARSE_FILE_TOO_LARGE: {
    stage: 'parse',
    title: 'Policy file is too large',
    example: '# a 6 MB policy file',
    fix: 'Split the policy into fragments in a directory; each file must stay under 5 MB.',
  },
  PARSE_YAML_SYNTAX: {
    stage: 'parse',
    title: 'YAML syntax error',
    example: 'switchyard: v1\nmodels: { fast: { provider: openai }\n',
    fix: 'Fix the YAML at the reported position (unclosed brackets and quotes, bad indentation, tabs used for indentation).',
  },
  PARSE_YAML_WARNING: {
    stage: 'parse',
    title: 'Suspicious YAML',
    example: 'switchyard: v1\npolicy: !custom { name: p, version: "1" }\n',
    fix: 'Remove custom tags and directives; policies are plain YAML 1.2.',
  },
  PARSE_MULTI_DOCUMENT: {
    stage: 'parse',
    title: 'More than one YAML document in a file',
    example: 'switchyard: v1\n---\nroutes: []\n',
    fix: 'Put one document in each file; to split a policy, use several files in a directory.',
  },
  PARSE_EMPTY_FILE: {
    stage: 'parse',
    title: 'Policy file is empty',
    example: '# only a comment\n',
    fix: 'Add policy content or delete the file.',
  },
  PARSE_NOT_A_MAPPING: {
    stage: 'parse',
    title: 'Policy document is not a mapping',
    example: '- switchyard: v1\n- routes: []\n',
    fix: 'The top level of a policy file is a mapping of keys (switchyard, policy, providers, models, routes, ...).',
  },
  PARSE_DUPLICATE_KEY: {
    stage: 'parse',
    title: 'Duplicate key in a YAML mapping',
    example:
      'switchyard: v1\nmodels:\n  fast: { provider: openai, model: gpt-5-nano }\n  fast: { provider: openai, model: gpt-5-mini }\n',
    fix: 'Remove or rename one of the keys; YAML keys must be unique, and Switchyard never drops one silently.',
  },
  PARSE_COMPLEX_KEY: {
    stage: 'parse',
    title: 'Mapping key is not a scalar',
    example: 'switchyard: v1\n? [a, b]\n: value\n',
    fix: 'Use a plain string as the key.',
  },
  PARSE_ALIAS_CYCLE: {
    stage: 'parse',
    title: 'YAML alias refers to a node that contains it',
    example: 'switchyard: v1\nmodels: &m { fast: *m }\n',
    fix: 'An alias may only refer to a complete node outside itself.',
  },
  PARSE_ALIAS_LIMIT: {
    stage: 'parse',
    title: 'YAML aliases expand to too many nodes',
    example:
      'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n',
    fix: 'Write the content out instead of nesting aliases (the expansion is bounded to prevent "billion laughs" documents).',
  },
  PARSE_ENV_MISSING: {
    stage: 'parse',
    title: 'Environment variable is not set',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${...} syntax is the subject here
    example: 'switchyard: v1\nproviders:\n  openai: { kind: openai, apiKey: "${OPENAI_API_KEY}" }\n',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${...} syntax is the subject here
    fix: 'Set the variable in the environment, or give a default with ${NAME:-default}. Write $${ for a literal ${.',
  },
  PARSE_ENV_SYNTAX: {
    stage: 'parse',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${...} syntax is the subject here
    title: 'Malformed ${...} interpolation',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${...} syntax is the subject here
    example: 'switchyard: v1\nproviders:\n  openai: { kind: openai, apiKey: "${OPENAI API KEY}" }\n',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal ${...} syntax is the subject here
    fix: 'Use ${NAME} or ${NAME:-default}, where NAME is letters, digits and underscores; write $${ for a literal ${.',
  },
  PARSE_DUPLICATE_NAME: {
    stage: 'parse',
    title: 'A name is defined in two policy fragments',
    example:
      '# file: a.yaml\nmodels:\n  fast: { provider: openai, model: gpt-5-nano }\n# file: b.yaml\nmodels:\n  fast: { provider: anthropic, model: claude-4-haiku }\n',
    fix: 'Define each provider, model, tenant, limit, budget, cache and guardrail in exactly one file; rename or delete one.',
  },
  PARSE_FRAGMENT_CONFLICT: {
    stage: 'parse',
    title: 'Policy fragments disagree',
    example:
      '# file: a.yaml\nswitchyard: v1\npolicy: { name: prod, version: "1" }\n# file: b.yaml\nswitchyard: v1\npolicy: { name: prod, version: "2" }\n',
    fix: 'Give `policy` and each `defaults` entry in one fragment only, and use the same `switchyard` version everywhere.',
  },
};

/** Builds a diagnostic from a location so stages need not spread positions by hand. */
export function makeDiagnostic(
  code: string,
  severity: Severity,
  message: string,
  location: SourceLocation,
  pointer: string,
  extra: Pick<Diagnostic, 'route' | 'hint' | 'related'> = {},
): Diagnostic {
  const d: Diagnostic = {
    code,
    severity,
    message,
    file: location.file,
    line: location.line,
    column: location.column,
    pointer,
  };
  if (location.endLine !== undefined) d.endLine = location.endLine;
  if (location.endColumn !== undefined) d.endColumn = location.endColumn;
  if (extra.route !== undefined) d.route = extra.route;
  if (extra.hint !== undefined) d.hint = extra.hint;
  if (extra.related !== undefined && extra.related.length > 0) d.related = extra.related;
  return d;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders diagnostics by file, line, column, code (then pointer, message) so output is reproducible. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      compareStrings(a.file, b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      compareStrings(a.code, b.code) ||
      compareStrings(a.pointer, b.pointer) ||
      compareStrings(a.message, b.message),
  );
}

/** A policy is usable only when this is false; warnings never block. */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Formats a location the way every renderer and message does: `file:line:col`. */
export function formatLocation(location: { file: string; line: number; column: number }): string {
  return `${location.file}:${location.line}:${location.column}`;
}
