/**
 * What every diagnostic of the validate stage needs: the document, the names of its owners
 * (`route \`chat\``, `provider \`openai\``), which values are secret, and source locations.
 */

import type { SourceLocation } from '../../types.js';
import { type Diagnostic, makeDiagnostic, type RelatedLocation, type Severity } from '../diagnostics.js';
import type { LoadResult } from '../load.js';
import { splitPointer } from '../source-map.js';
import { valueAt } from './document.js';
import { code, dotted, SECTION_NOUN } from './wording.js';

export class Context {
  constructor(
    readonly load: LoadResult,
    readonly doc: unknown,
  ) {}

  routeName(index: number): string | undefined {
    const name = valueAt(this.doc, `/routes/${index}/name`);
    return typeof name === 'string' ? name : undefined;
  }

  routeOf(pointer: string): string | undefined {
    const t = splitPointer(pointer);
    if (t[0] !== 'routes' || t.length < 2) return undefined;
    return this.routeName(Number(t[1]));
  }

  /** The owner phrase: `route \`chat\``, `provider \`openai\``; undefined at the top level. */
  private owner(tokens: readonly string[]): { phrase: string; rest: string[] } | undefined {
    if (tokens[0] === 'routes' && tokens.length >= 2 && /^[0-9]+$/.test(tokens[1])) {
      const name = this.routeName(Number(tokens[1]));
      const phrase = name !== undefined ? `route ${code(name)}` : `route #${Number(tokens[1]) + 1}`;
      return { phrase, rest: tokens.slice(2) };
    }
    const noun = SECTION_NOUN[tokens[0]];
    if (noun && tokens.length >= 2) return { phrase: `${noun} ${code(tokens[1])}`, rest: tokens.slice(2) };
    return undefined;
  }

  /** The node as a subject: "`timeout.total` of route `chat`", "route `chat`", "`policy.name`". */
  subject(pointer: string): string {
    const tokens = splitPointer(pointer);
    if (tokens.length === 0) return 'the policy';
    const o = this.owner(tokens);
    if (!o) return code(dotted(tokens));
    return o.rest.length === 0 ? o.phrase : `${code(dotted(o.rest))} of ${o.phrase}`;
  }

  /** Where a key sits: "in route `chat`", "in `when` of route `chat`", "at the top level". */
  where(pointer: string): string {
    return splitPointer(pointer).length === 0 ? 'at the top level' : `in ${this.subject(pointer)}`;
  }

  /** Values are shown unless they are secrets or came from `${ENV}`. */
  isSecret(pointer: string): boolean {
    if (this.load.isInterpolated(pointer)) return true;
    const t = splitPointer(pointer);
    const last = t[t.length - 1];
    if (last === 'apiKey') return true;
    if (t[0] === 'tenants' && t[2] === 'keys') return true;
    if (t[0] === 'providers' && t[2] === 'headers' && t.length >= 4) return true;
    if (t[0] === 'stores' && t[1] === 'redis' && t[2] === 'url') return true;
    return false;
  }

  show(pointer: string, value: unknown): string {
    if (this.isSecret(pointer)) return 'the value';
    if (typeof value === 'string') return code(value);
    return code(JSON.stringify(value) ?? String(value));
  }

  locate(pointer: string): SourceLocation {
    return (
      this.load.sourceMap.locate(pointer) ?? this.load.sourceMap.locateNearest(pointer) ?? this.fallback()
    );
  }

  locateKey(pointer: string): SourceLocation {
    return this.load.sourceMap.locateKey(pointer) ?? this.locate(pointer);
  }

  related(message: string, pointer: string, key = false): RelatedLocation {
    const at = key ? this.locateKey(pointer) : this.locate(pointer);
    return { message, file: at.file, line: at.line, column: at.column };
  }

  private fallback(): SourceLocation {
    return { file: this.load.sourceMap.files[0] ?? '<policy>', line: 1, column: 1 };
  }

  diag(
    code: string,
    severity: Severity,
    message: string,
    pointer: string,
    opts: { key?: boolean; hint?: string; related?: RelatedLocation[] } = {},
  ): Diagnostic {
    const at = opts.key ? this.locateKey(pointer) : this.locate(pointer);
    return makeDiagnostic(code, severity, message, at, pointer, {
      route: this.routeOf(pointer),
      hint: opts.hint,
      related: opts.related,
    });
  }
}
