/**
 * Maps JSON pointers of the merged policy document back to where each value was written, so
 * that any stage (schema, references, semantics) can report a `file:line:column` for a pointer.
 */

import type { SourceLocation } from '../types.js';

export interface SourceMapEntry {
  /** The span of the value. */
  readonly value: SourceLocation;
  /** The span of the mapping key that holds the value; absent for sequence items and the root. */
  readonly key?: SourceLocation;
}

export interface SourceMap {
  /** The span of the value at `pointer`; undefined when the pointer does not exist. */
  locate(pointer: string): SourceLocation | undefined;
  /** The span of the key that holds the value at `pointer`, else the value's span. */
  locateKey(pointer: string): SourceLocation | undefined;
  /** The value's span at `pointer` or, failing that, at its nearest existing ancestor. */
  locateNearest(pointer: string): SourceLocation | undefined;
  /** Every pointer with a known location, in document order. */
  pointers(): IterableIterator<string>;
  /** The files that contributed to the document, in load order. */
  readonly files: readonly string[];
}

/** Escapes one reference token (RFC 6901: `~` → `~0`, `/` → `~1`). */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Decodes one reference token (RFC 6901). */
export function unescapePointerToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Builds a pointer from unescaped tokens so callers never hand-escape `~` and `/`. */
export function joinPointer(base: string, ...tokens: (string | number)[]): string {
  let out = base;
  for (const t of tokens) out += `/${escapePointerToken(String(t))}`;
  return out;
}

/** Splits a pointer into unescaped tokens ('' → []). */
export function splitPointer(pointer: string): string[] {
  const p = normalizePointer(pointer);
  if (p === '') return [];
  return p.slice(1).split('/').map(unescapePointerToken);
}

/** Accepts both plain pointers and URI-fragment pointers (`#/a/b`), which Ajv can produce. */
function normalizePointer(pointer: string): string {
  if (!pointer.startsWith('#')) return pointer;
  try {
    return decodeURIComponent(pointer.slice(1));
  } catch {
    return pointer.slice(1);
  }
}

function parentPointer(pointer: string): string | undefined {
  if (pointer === '') return undefined;
  return pointer.slice(0, pointer.lastIndexOf('/'));
}

/** Wraps collected entries as a `SourceMap`; entries must be keyed by normalized pointers. */
export function createSourceMap(
  entries: ReadonlyMap<string, SourceMapEntry>,
  files: readonly string[],
): SourceMap {
  const frozenFiles = Object.freeze([...files]);
  return {
    files: frozenFiles,
    locate(pointer) {
      return entries.get(normalizePointer(pointer))?.value;
    },
    locateKey(pointer) {
      const e = entries.get(normalizePointer(pointer));
      return e?.key ?? e?.value;
    },
    locateNearest(pointer) {
      let p: string | undefined = normalizePointer(pointer);
      while (p !== undefined) {
        const e = entries.get(p);
        if (e) return e.value;
        p = parentPointer(p);
      }
      return undefined;
    },
    pointers() {
      return entries.keys();
    },
  };
}
