/**
 * Guardrails: the names routes and defaults apply, and the combinations of stage, action,
 * streaming mode and scope that cannot work (a rule that is accepted but cannot be enforced as
 * written must be refused, never ignored).
 */

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
      c.out.push(c.ctx.diag('SEM_GUARDRAIL_MODE', 'error', `guardrail ${code(name)}: ${message}`, joinPointer(base, key)));
    };
    const output = g.stage === 'output';
    if (g.kind === 'jsonSchema' && !output) {
      problem('stage', '`jsonSchema` checks the answer, so it is an `output` guardrail');
      continue;
    }
    if (g.action === 'fallback' && !output) {
      problem('action', '`fallback` tries the next target with the request, so it applies to `output` guardrails only');
    }
    if (g.action === 'redact' && typeof g.kind === 'string' && UNREDACTABLE.has(g.kind)) {
      problem('action', `a \`${g.kind}\` check has no span to mask: use \`block\`, \`flag\` or \`fallback\``);
    }
    if (g.streaming !== undefined && !output) {
      problem('streaming', '`streaming` says how an answer is checked while it streams: it applies to `output` guardrails');
    }
    if (g.streaming === 'scan' && g.kind === 'jsonSchema') {
      problem('streaming', '`jsonSchema` needs the whole answer: use `streaming: buffer`');
    }
    if (g.streaming === 'scan' && g.action === 'fallback') {
      problem('streaming', '`fallback` must see the whole answer before any of it is sent: use `streaming: buffer`');
    }
    if (g.scope !== undefined && output) {
      problem('scope', '`scope` says which messages an input guardrail reads; an `output` guardrail reads the answer');
    }
  }
}
