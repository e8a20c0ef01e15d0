/** Fragments merged by name into one document: duplicates name both places, routes keep file order. */

import type { SourceLocation } from '../types.js';
import { type Diagnostic, formatLocation, makeDiagnostic } from './diagnostics.js';
import {
  deepEqual,
  type Fragment,
  fileStart,
  hasOwn,
  isPlainObject,
  type Plain,
  setOwn,
} from './load-fragment.js';
import { joinPointer, type SourceMapEntry } from './source-map.js';

// ---------------------------------------------------------------------------------------------
// Merging fragments

/** Top-level keys whose value is a single block that must come from exactly one fragment. */
const SINGLE_FRAGMENT_KEYS = new Set(['policy']);

/** Groups a fragment's entries by their first two pointer tokens, to copy whole subtrees cheaply. */
function bucketEntries(entries: Map<string, SourceMapEntry>): Map<string, [string, SourceMapEntry][]> {
  const buckets = new Map<string, [string, SourceMapEntry][]>();
  for (const [p, e] of entries) {
    const second = p.indexOf('/', 1);
    const third = second === -1 ? -1 : p.indexOf('/', second + 1);
    const b = third === -1 ? p : p.slice(0, third);
    let list = buckets.get(b);
    if (!list) {
      list = [];
      buckets.set(b, list);
    }
    list.push([p, e]);
  }
  return buckets;
}

/** Rewrites a fragment-local pointer to the merged document (only `routes` indexes move). */
function shiftRoutes(pointer: string, offset: number): string {
  if (offset === 0 || !pointer.startsWith('/routes/')) return pointer;
  const rest = pointer.slice('/routes/'.length);
  const slash = rest.indexOf('/');
  const token = slash === -1 ? rest : rest.slice(0, slash);
  if (!/^(0|[1-9][0-9]*)$/.test(token)) return pointer;
  return `/routes/${Number(token) + offset}${slash === -1 ? '' : rest.slice(slash)}`;
}

export class Merger {
  readonly document: Plain = {};
  readonly entries = new Map<string, SourceMapEntry>();
  readonly interpolated = new Set<string>();
  readonly diagnostics: Diagnostic[] = [];

  add(fragment: Fragment): void {
    const value = fragment.value;
    let routesOffset = 0;
    if (value !== undefined) {
      const buckets = bucketEntries(fragment.entries);
      if (!this.entries.has('') && fragment.entries.has('')) this.entries.set('', fragment.entries.get('')!);
      const copy = (bucketKey: string, offset = 0): void => {
        for (const [p, e] of buckets.get(bucketKey) ?? []) this.entries.set(shiftRoutes(p, offset), e);
      };
      const copySubtree = (top: string, offset = 0): void => {
        const prefix = `${top}/`;
        for (const b of buckets.keys()) if (b === top || b.startsWith(prefix)) copy(b, offset);
      };
      for (const key of Object.keys(value)) {
        const top = joinPointer('', key);
        const incoming = value[key];
        if (!hasOwn(this.document, key)) {
          setOwn(this.document, key, incoming);
          copySubtree(top);
          continue;
        }
        const existing = this.document[key];
        if (key === 'switchyard') {
          if (!deepEqual(existing, incoming)) {
            this.conflict(fragment, top, 'the language version `switchyard` differs between fragments');
          }
        } else if (SINGLE_FRAGMENT_KEYS.has(key)) {
          this.conflict(fragment, top, `\`${key}\` may be given in one fragment only`);
        } else if (key === 'routes' && Array.isArray(existing) && Array.isArray(incoming)) {
          routesOffset = existing.length;
          existing.push(...incoming);
          for (const b of buckets.keys()) if (b.startsWith('/routes/')) copy(b, routesOffset);
        } else if (incoming === null && (isPlainObject(existing) || Array.isArray(existing))) {
          // An empty section (`models:` or `routes:` with nothing under it) adds nothing.
        } else if (existing === null && (isPlainObject(incoming) || Array.isArray(incoming))) {
          setOwn(this.document, key, incoming);
          copySubtree(top);
        } else if (key !== 'routes' && isPlainObject(existing) && isPlainObject(incoming)) {
          for (const name of Object.keys(incoming)) {
            const child = joinPointer(top, name);
            if (hasOwn(existing, name)) {
              if (key === 'defaults') {
                this.conflict(fragment, child, `\`defaults.${name}\` may be given in one fragment only`);
              } else {
                this.duplicateName(fragment, key, name, child);
              }
              continue;
            }
            setOwn(existing, name, incoming[name]);
            copy(child);
          }
        } else {
          this.conflict(
            fragment,
            top,
            `top-level \`${key}\` is given in several fragments and cannot be merged`,
          );
        }
      }
    }
    for (const p of fragment.interpolated) {
      // Only values that made it into the document (not a losing duplicate) are recorded.
      const merged = shiftRoutes(p, routesOffset);
      if (this.entries.get(merged) === fragment.entries.get(p)) this.interpolated.add(merged);
    }
    for (const d of fragment.diagnostics) {
      this.diagnostics.push(routesOffset === 0 ? d : { ...d, pointer: shiftRoutes(d.pointer, routesOffset) });
    }
  }

  private placeOf(fragment: Fragment, pointer: string): SourceLocation {
    const e = fragment.entries.get(pointer);
    return e?.key ?? e?.value ?? fileStart(fragment.file);
  }

  private firstPlace(pointer: string): SourceLocation | undefined {
    const e = this.entries.get(pointer);
    return e?.key ?? e?.value;
  }

  private conflict(fragment: Fragment, pointer: string, what: string): void {
    const first = this.firstPlace(pointer);
    const at = this.placeOf(fragment, pointer);
    this.diagnostics.push(
      makeDiagnostic(
        'PARSE_FRAGMENT_CONFLICT',
        'error',
        first ? `${what}: first given at ${formatLocation(first)}` : what,
        at,
        pointer,
        {
          related: first
            ? [{ message: 'first given here', file: first.file, line: first.line, column: first.column }]
            : undefined,
        },
      ),
    );
  }

  private duplicateName(fragment: Fragment, section: string, name: string, pointer: string): void {
    const first = this.firstPlace(pointer);
    const at = this.placeOf(fragment, pointer);
    const what = `${JSON.stringify(name)} is defined twice in \`${section}\``;
    this.diagnostics.push(
      makeDiagnostic(
        'PARSE_DUPLICATE_NAME',
        'error',
        first ? `${what}: already defined at ${formatLocation(first)}` : what,
        at,
        pointer,
        {
          related: first
            ? [
                {
                  message: `first definition of ${JSON.stringify(name)}`,
                  file: first.file,
                  line: first.line,
                  column: first.column,
                },
              ]
            : undefined,
        },
      ),
    );
  }
}
