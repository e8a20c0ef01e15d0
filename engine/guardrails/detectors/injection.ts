/**
 * Prompt-injection detection with the built-in, versioned pack (injection-pack.ts) plus custom
 * literal phrases. The pack's automaton is built once per process (it does not depend on policy
 * settings); custom phrases get their own automaton per compile.
 *
 * The pack is folded case-insensitively and accent-insensitively (`instrucoes` matches
 * `instruções`: people type injections without accents), with whitespace runs and zero-width
 * characters tolerated like keywords. Custom phrases follow the keyword defaults
 * (case-insensitive, accents significant).
 */
import { compilePhraseMatcher, type PhraseMatcher } from './automaton.js';
import {
  classify,
  codePointBefore,
  type Folder,
  foldTerm,
  getFolder,
  KIND_IGNORABLE,
  KIND_JOINER,
  KIND_MARK,
  KIND_SPACE,
  KIND_WORD,
  WS_RUN_MAX,
} from './fold.js';
import {
  expandTemplate,
  INJECTION_PACK_VERSION,
  INJECTION_RULES,
  type InjectionRule,
} from './injection-pack.js';
import { compileKeywordDetector } from './keywords.js';
import { selectLeftmostLongest } from './select.js';
import type { Detector, Span } from './types.js';

export { INJECTION_PACK_VERSION };

export interface InjectionOptions {
  /** Extra literal phrases, case-insensitive, reported as `injection:custom`. */
  readonly extra?: readonly string[];
}

export interface InjectionDetector extends Detector {
  readonly version: string;
}

/** A lead word longer than this ends the backward walk (bounds the span for streaming). */
const MAX_WORD = 32;

interface CompiledLead {
  /** Folded words in reading order. */
  readonly phrases: readonly (readonly string[])[];
  readonly fillers: ReadonlySet<string>;
  readonly max: number;
  readonly longest: number;
}

interface CompiledRule {
  readonly label: string;
  readonly lead: CompiledLead | null;
}

interface Pack {
  readonly matcher: PhraseMatcher;
  /** Rules by payload: every rule whose anchors include the phrase (same folded text). */
  readonly groups: readonly (readonly CompiledRule[])[];
  readonly folder: Folder;
  readonly maxMatchLength: number;
}

let pack: Pack | undefined;

function foldWord(word: string, folder: Folder): string {
  let out = '';
  for (const ch of word) {
    const cp = ch.codePointAt(0)!;
    // A typographic apostrophe is the same word as an ASCII one ("what’s").
    const e = folder.entry(cp === 0x2019 ? 0x27 : cp);
    out += String.fromCodePoint(...e.cps);
  }
  return out;
}

function compilePack(): Pack {
  const folder = getFolder({ caseSensitive: false, ignoreAccents: true });
  const rules: CompiledRule[] = INJECTION_RULES.map((rule: InjectionRule) => ({
    label: `injection:${rule.id}`,
    lead:
      rule.lead === undefined
        ? null
        : {
            phrases: rule.lead.phrases.map((p) => p.split(/\s+/).map((w) => foldWord(w, folder))),
            fillers: new Set(rule.lead.fillers.map((w) => foldWord(w, folder))),
            max: rule.lead.max,
            longest: Math.max(...rule.lead.phrases.map((p) => p.split(/\s+/).length)),
          },
  }));
  const groupOf = new Map<string, number>();
  const groups: CompiledRule[][] = [];
  const entries: { text: string; payload: number }[] = [];
  INJECTION_RULES.forEach((rule, r) => {
    for (const anchor of rule.anchors.flatMap(expandTemplate)) {
      const key = foldTerm(anchor, folder)?.cps.join(',');
      if (key === undefined) continue;
      let g = groupOf.get(key);
      if (g === undefined) {
        g = groups.length;
        groupOf.set(key, g);
        groups.push([]);
        entries.push({ text: anchor, payload: g });
      }
      if (!groups[g].includes(rules[r])) groups[g].push(rules[r]);
    }
  });
  const matcher = compilePhraseMatcher(entries, folder.mode);
  const leadWords = Math.max(0, ...rules.map((r) => (r.lead ? r.lead.max + r.lead.longest : 0)));
  return {
    matcher,
    groups,
    folder,
    maxMatchLength: matcher.maxMatchLength + leadWords * (MAX_WORD + WS_RUN_MAX),
  };
}

const isWordUnit = (cp: number, kind: number): boolean =>
  kind === KIND_JOINER ||
  kind === KIND_WORD ||
  kind === KIND_MARK ||
  kind === KIND_IGNORABLE ||
  cp === 0x27 ||
  cp === 0x2019 ||
  cp === 0x2d;

/** Up to `limit` words before `pos`, nearest first, each preceded by a short whitespace run. */
function wordsBefore(
  text: string,
  pos: number,
  limit: number,
  folder: Folder,
): { key: string; start: number }[] {
  const words: { key: string; start: number }[] = [];
  let i = pos;
  while (words.length < limit) {
    let ws = 0;
    while (i > 0) {
      const cp = codePointBefore(text, i);
      if (classify(cp) !== KIND_SPACE) break;
      const w = cp > 0xffff ? 2 : 1;
      i -= w;
      ws += w;
    }
    if (ws === 0 || ws > WS_RUN_MAX) break;
    const end = i;
    while (i > 0) {
      const cp = codePointBefore(text, i);
      if (!isWordUnit(cp, classify(cp))) break;
      i -= cp > 0xffff ? 2 : 1;
      if (end - i > MAX_WORD) return words;
    }
    if (i === end) break;
    words.push({ key: foldWord(text.slice(i, end), folder), start: i });
  }
  return words;
}

/** Start of the lead phrase (with fillers) before an anchor at `anchorStart`, or -1. */
function leadStart(text: string, anchorStart: number, lead: CompiledLead, folder: Folder): number {
  const words = wordsBefore(text, anchorStart, lead.max + lead.longest, folder);
  for (let k = 0; k <= lead.max && k <= words.length; k++) {
    if (k > 0 && !lead.fillers.has(words[k - 1].key)) break;
    for (const phrase of lead.phrases) {
      const m = phrase.length;
      if (k + m > words.length) continue;
      let ok = true;
      for (let j = 0; j < m && ok; j++) ok = words[k + j].key === phrase[m - 1 - j];
      if (ok) return words[k + m - 1].start;
    }
  }
  return -1;
}

/**
 * The injection detector: the built-in pack ({@link INJECTION_PACK_VERSION}) plus `extra`
 * phrases. Labels are `injection:<rule-id>` (e.g. `injection:ignore-instructions.en`) and
 * `injection:custom`.
 *
 * @example
 * const d = compileInjectionDetector({ extra: ['open the pod bay doors'] });
 * d.find('Please IGNORE all previous   instructions.');
 * // [{ start: 7, end: 41, label: 'injection:ignore-instructions.en' }]
 */
export function compileInjectionDetector(options: InjectionOptions = {}): InjectionDetector {
  pack ??= compilePack();
  const { matcher, groups, folder } = pack;
  const extra =
    options.extra !== undefined && options.extra.length > 0 ? compileKeywordDetector(options.extra) : null;
  return {
    version: INJECTION_PACK_VERSION,
    maxMatchLength: Math.max(pack.maxMatchLength, extra?.maxMatchLength ?? 0),
    find(text: string, from = 0): Span[] {
      const candidates: Span[] = [];
      for (const hit of matcher.scan(text, from)) {
        for (const rule of groups[hit.payload]) {
          const start = rule.lead === null ? hit.start : leadStart(text, hit.start, rule.lead, folder);
          if (start >= from) {
            candidates.push({ start, end: hit.end, label: rule.label });
            break;
          }
        }
      }
      if (extra !== null)
        for (const s of extra.find(text, from))
          candidates.push({ start: s.start, end: s.end, label: 'injection:custom' });
      return candidates.length === 0 ? candidates : selectLeftmostLongest(candidates);
    },
  };
}
