/**
 * Guardrails: the names routes and defaults apply, and the combinations of stage, action,
 * streaming mode and scope that cannot work (a rule that is accepted but cannot be enforced as
 * written must be refused, never ignored).
 */

import { compileJsonSchemaCheck, compileRegexDetector, loadKeywordFile } from '../../guardrails/index.js';
import { isRecord } from '../../shared/guards.js';
import { joinPointer } from '../source-map.js';
import type { Checks } from './checks.js';
import type { References } from './references.js';
import { code } from './wording.js';

/** Kinds that flag or block a whole text: nothing in it can be masked. */
const UNREDACTABLE = new Set(['maxLength', 'jsonSchema']);

/** `defaults.guardrails` and each route's `skipGuardrails` name guardrails too. */
export function guardrailReferences(c: Checks, refs: References): void {
  const defaults = isRecord(c.doc.defaults) ? c.doc.defaults.guardrails : undefined;
  const defaultNames = new Set<string>();
  if (Array.isArray(defaults)) {
    defaults.forEach((g, k) => {
      refs.reference('guardrails', g, joinPointer('/defaults', 'guardrails', k));
      if (typeof g === 'string') defaultNames.add(g);
    });
  }
  const routes = c.doc.routes;
  if (!Array.isArray(routes)) return;
  routes.forEach((route, i) => {
    if (!isRecord(route) || !Array.isArray(route.skipGuardrails)) return;
    route.skipGuardrails.forEach((g, k) => {
      const pointer = joinPointer('/routes', i, 'skipGuardrails', k);
      refs.reference('guardrails', g, pointer);
      if (typeof g === 'string' && !defaultNames.has(g) && c.clean(pointer)) {
        c.out.push(
          c.ctx.diag(
            'SEM_GUARDRAIL_SKIP',
            'warning',
            `${c.ctx.subject(pointer)} skips guardrail ${code(g)}, which is not in ${code('defaults.guardrails')}: there is nothing to skip`,
            pointer,
          ),
        );
      }
    });
  });
}

/** Stage, action, streaming and scope must fit together and fit the kind. */
export function guardrailModes(c: Checks): void {
  const guardrails = c.doc.guardrails;
  if (!isRecord(guardrails)) return;
  for (const [name, g] of Object.entries(guardrails)) {
    const base = joinPointer('/guardrails', name);
    if (!isRecord(g) || !c.clean(base)) continue;
    const problem = (key: string, message: string): void => {
      c.out.push(
        c.ctx.diag(
          'SEM_GUARDRAIL_MODE',
          'error',
          `guardrail ${code(name)}: ${message}`,
          joinPointer(base, key),
        ),
      );
    };
    const output = g.stage === 'output';
    if (g.kind === 'jsonSchema' && !output) {
      problem('stage', '`jsonSchema` checks the answer, so it is an `output` guardrail');
      continue;
    }
    if (g.action === 'fallback' && !output) {
      problem(
        'action',
        '`fallback` tries the next target with the request, so it applies to `output` guardrails only',
      );
    }
    if (g.action === 'redact' && typeof g.kind === 'string' && UNREDACTABLE.has(g.kind)) {
      problem('action', `a \`${g.kind}\` check has no span to mask: use \`block\`, \`flag\` or \`fallback\``);
    }
    if (g.streaming !== undefined && !output) {
      problem(
        'streaming',
        '`streaming` says how an answer is checked while it streams: it applies to `output` guardrails',
      );
    }
    if (g.streaming === 'scan' && (g.kind === 'jsonSchema' || g.kind === 'maxLength')) {
      problem('streaming', `\`${g.kind}\` needs the whole answer: use \`streaming: buffer\``);
    }
    if (g.streaming === 'scan' && g.action === 'fallback') {
      problem(
        'streaming',
        '`fallback` must see the whole answer before any of it is sent: use `streaming: buffer`',
      );
    }
    if (g.scope !== undefined && output) {
      problem(
        'scope',
        '`scope` says which messages an input guardrail reads; an `output` guardrail reads the answer',
      );
    }
  }
}

/**
 * What a guardrail compiles from must compile: regexes without catastrophic backtracking, files
 * named beside the policy readable, a JSON Schema Ajv accepts.
 */
export function guardrailSources(c: Checks): void {
  const guardrails = c.doc.guardrails;
  if (!isRecord(guardrails)) return;
  const attachments = c.ctx.load.attachments;
  for (const [name, g] of Object.entries(guardrails)) {
    const base = joinPointer('/guardrails', name);
    if (!isRecord(g) || !c.clean(base)) continue;
    if (g.kind === 'regex' && Array.isArray(g.deny)) {
      const patterns = g.deny.filter((p): p is string => typeof p === 'string');
      const compiled = compileRegexDetector(patterns);
      if (!compiled.ok) {
        for (const p of compiled.problems) {
          const pointer = joinPointer(base, 'deny', p.index);
          c.out.push(
            c.ctx.diag(
              'SEM_UNSAFE_REGEX',
              'error',
              `guardrail ${code(name)}: ${c.ctx.isSecret(pointer) ? 'the pattern is refused' : p.message}`,
              pointer,
            ),
          );
        }
      }
    }
    const file = (pointer: string): string | null => {
      const a = attachments.get(pointer);
      if (a === undefined) return null;
      if (a.text === null) {
        c.out.push(
          c.ctx.diag(
            'SEM_GUARDRAIL_FILE',
            'error',
            `guardrail ${code(name)}: ${a.error ?? `cannot read ${a.path}`}`,
            pointer,
          ),
        );
        return null;
      }
      return a.text;
    };
    if (g.kind === 'keywords' && typeof g.file === 'string') {
      const text = file(joinPointer(base, 'file'));
      const listed = Array.isArray(g.keywords) ? g.keywords.length : 0;
      if (text !== null && loadKeywordFile(text).length === 0 && listed === 0) {
        c.out.push(
          c.ctx.diag(
            'SEM_GUARDRAIL_FILE',
            'error',
            `guardrail ${code(name)}: the keywords file has no keyword`,
            joinPointer(base, 'file'),
          ),
        );
      }
    }
    if (g.kind === 'jsonSchema' && isRecord(g.schema)) {
      let schema: unknown = g.schema;
      const ref = g.schema.$ref;
      const refPointer = joinPointer(base, 'schema', '$ref');
      if (typeof ref === 'string' && ref.startsWith('.')) {
        const text = file(refPointer);
        if (text === null) continue;
        try {
          schema = JSON.parse(text);
        } catch (err) {
          c.out.push(
            c.ctx.diag(
              'SEM_GUARDRAIL_FILE',
              'error',
              `guardrail ${code(name)}: the schema file is not JSON (${err instanceof Error ? err.message : String(err)})`,
              refPointer,
            ),
          );
          continue;
        }
      }
      const compiled = compileJsonSchemaCheck(isRecord(schema) ? schema : {});
      if (!compiled.ok) {
        c.out.push(
          c.ctx.diag(
            'SEM_GUARDRAIL_SCHEMA',
            'error',
            `guardrail ${code(name)}: the JSON Schema does not compile: ${compiled.message}`,
            joinPointer(base, 'schema'),
          ),
        );
      }
    }
  }
}
