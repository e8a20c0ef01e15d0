/** Reading the loaded policy document by JSON pointer (the validate stage never mutates it). */

import { isRecord } from '../../shared/guards.js';
import { joinPointer, splitPointer } from '../source-map.js';

export type Obj = Record<string, unknown>;

export function valueAt(doc: unknown, pointer: string): unknown {
  let cur = doc;
  for (const token of splitPointer(pointer)) {
    if (Array.isArray(cur)) cur = cur[Number(token)];
    else if (isRecord(cur)) cur = Object.hasOwn(cur, token) ? cur[token] : undefined;
    else return undefined;
  }
  return cur;
}

export function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function under(pointer: string, ancestor: string): boolean {
  return pointer === ancestor || pointer.startsWith(`${ancestor}/`);
}

export function parentOf(pointer: string): string {
  return pointer.slice(0, pointer.lastIndexOf('/'));
}

/** Walks every existing pointer matching a pattern whose `*` segments stand for any one token. */
export function matchPattern(doc: unknown, pattern: string): string[] {
  const tokens = splitPointer(pattern);
  const out: string[] = [];
  const walk = (node: unknown, i: number, pointer: string): void => {
    if (i === tokens.length) {
      out.push(pointer);
      return;
    }
    const t = tokens[i];
    if (Array.isArray(node)) {
      const indexes = t === '*' ? node.map((_, k) => k) : /^[0-9]+$/.test(t) ? [Number(t)] : [];
      for (const k of indexes) if (k < node.length) walk(node[k], i + 1, joinPointer(pointer, k));
    } else if (isRecord(node)) {
      const keys = t === '*' ? Object.keys(node) : Object.hasOwn(node, t) ? [t] : [];
      for (const k of keys) walk(node[k], i + 1, joinPointer(pointer, k));
    }
  };
  walk(doc, 0, '');
  return out;
}
