/**
 * Guardrails compiled once per policy version: detectors built (regexes, keyword automata, the
 * injection pack, JSON Schemas with Ajv), files named beside the policy already read, defaults
 * resolved. Each route gets its ordered input and output lists (`defaults.guardrails` minus its
 * `skipGuardrails`, then its own). Nothing here runs per request.
 */
import {
  type CompiledGuardrail,
  compileInjectionDetector,
  compileJsonSchemaCheck,
  compileKeywordDetector,
  compilePiiDetector,
  compileRegexDetector,
  type Detector,
  type GuardrailScope,
  loadKeywordFile,
  measureLength,
  type PiiEntity,
} from '../guardrails/index.js';
import type { Attachments } from '../policy/attachments.js';
import type { Policy, Route } from '../policy/types.generated.js';
import { isRecord } from '../shared/guards.js';

/** The route's guardrails in the order they run. */
export interface RouteGuardrails {
  readonly names: readonly string[];
  readonly input: readonly CompiledGuardrail[];
  readonly output: readonly CompiledGuardrail[];
  /** Some output guardrail must see a whole streamed answer before any of it is sent. */
  readonly bufferOutput: boolean;
}

/** The fields every kind shares, and each kind's own (the generated types of two kinds are loose). */
interface Definition {
  readonly kind: string;
  readonly stage: 'input' | 'output';
  readonly action: 'block' | 'flag' | 'redact' | 'fallback';
  readonly shadow?: boolean;
  readonly streaming?: 'buffer' | 'scan';
  readonly scope?: GuardrailScope;
  readonly deny?: readonly string[];
  readonly keywords?: readonly string[];
  readonly file?: string;
  readonly caseSensitive?: boolean;
  readonly entities?: readonly PiiEntity[];
  readonly extra?: readonly string[];
  readonly chars?: number;
  readonly tokens?: number;
  readonly schema?: Record<string, unknown>;
}

function fail(name: string, message: string): never {
  // Validation checks every one of these first; reaching one is an engine bug.
  throw new Error(`internal: guardrail "${name}": ${message}`);
}

function compileOne(name: string, g: Definition, attachments: Attachments): CompiledGuardrail {
  const pointer = `/guardrails/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  let detector: Detector | null = null;
  let judge: CompiledGuardrail['judge'] = null;
  let version: string | null = null;
  switch (g.kind) {
    case 'regex': {
      // Patterns were checked for catastrophic backtracking by validation; not again here.
      const r = compileRegexDetector(g.deny ?? [], { skipReDoSCheck: true });
      if (!r.ok) fail(name, r.problems.map((p) => p.message).join('; '));
      detector = r.detector;
      break;
    }
    case 'keywords': {
      const terms = [...(g.keywords ?? [])];
      if (g.file !== undefined) {
        const text = attachments.get(`${pointer}/file`)?.text;
        if (text === null || text === undefined) fail(name, `keywords file ${g.file} was not read`);
        terms.push(...loadKeywordFile(text));
      }
      detector = compileKeywordDetector(terms, { caseSensitive: g.caseSensitive === true });
      break;
    }
    case 'pii':
      detector = compilePiiDetector(g.entities ?? []);
      break;
    case 'injection': {
      const injection = compileInjectionDetector({ extra: g.extra ?? [] });
      detector = injection;
      version = injection.version;
      break;
    }
    case 'maxLength': {
      const { chars, tokens } = g;
      judge = (texts) => {
        let size = 0;
        for (const t of texts) size += measureLength(t).chars;
        if (chars !== undefined && size > chars) return `longer than ${chars} characters`;
        // The engine's token estimate (characters / 4, rounded up), as at admission.
        if (tokens !== undefined && Math.ceil(size / 4) > tokens) return `longer than ${tokens} tokens`;
        return null;
      };
      break;
    }
    case 'jsonSchema': {
      let schema: unknown = g.schema;
      const ref = isRecord(g.schema) ? g.schema.$ref : undefined;
      if (typeof ref === 'string' && ref.startsWith('.')) {
        const text = attachments.get(`${pointer}/schema/$ref`)?.text;
        if (text === null || text === undefined) fail(name, `schema file ${ref} was not read`);
        schema = JSON.parse(text);
      }
      const c = compileJsonSchemaCheck(isRecord(schema) ? schema : {});
      if (!c.ok) fail(name, c.message);
      judge = (texts) => {
        const r = c.check(texts.join(''));
        return r.valid ? null : `not valid against the schema (${r.reason.slice(0, 200)})`;
      };
      break;
    }
    default:
      fail(name, `unknown kind ${g.kind}`);
  }
  const wholeText = judge !== null;
  return {
    name,
    kind: g.kind,
    stage: g.stage,
    action: g.action,
    shadow: g.shadow === true,
    streaming: g.streaming ?? (wholeText || g.action === 'fallback' ? 'buffer' : 'scan'),
    scope: g.scope ?? 'last_user',
    version,
    detector,
    judge,
  };
}

/** Every guardrail of the policy, compiled. */
export function compileGuardrails(
  policy: Policy,
  attachments: Attachments,
): ReadonlyMap<string, CompiledGuardrail> {
  const out = new Map<string, CompiledGuardrail>();
  for (const [name, g] of Object.entries(policy.guardrails ?? {})) {
    if (g === undefined) continue;
    out.set(name, compileOne(name, g as unknown as Definition, attachments));
  }
  return out;
}

const NO_GUARDRAILS: RouteGuardrails = Object.freeze({
  names: [],
  input: [],
  output: [],
  bufferOutput: false,
});

/** The route's guardrails: the defaults it does not skip, then its own, each once. */
export function routeGuardrails(
  policy: Policy,
  route: Route,
  compiled: ReadonlyMap<string, CompiledGuardrail>,
): RouteGuardrails {
  const skip = new Set(route.skipGuardrails ?? []);
  const names: string[] = [];
  for (const n of policy.defaults?.guardrails ?? []) if (!skip.has(n) && !names.includes(n)) names.push(n);
  for (const n of route.guardrails ?? []) if (!names.includes(n)) names.push(n);
  if (names.length === 0) return NO_GUARDRAILS;
  const all = names.map((n) => {
    const g = compiled.get(n);
    if (g === undefined) throw new Error(`internal: route "${route.name}" names unknown guardrail "${n}"`);
    return g;
  });
  const output = all.filter((g) => g.stage === 'output');
  return {
    names,
    input: all.filter((g) => g.stage === 'input'),
    output,
    bufferOutput: output.some((g) => g.streaming === 'buffer'),
  };
}
