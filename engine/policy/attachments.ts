/**
 * Files a policy names beside itself: a keywords guardrail's `file` and a JSON Schema
 * guardrail's `schema: { $ref: ./x.json }`. A path is relative to the fragment that names it.
 * `loadPolicySources` reads them from disk once, at load time (never per request);
 * `parsePolicySources` takes them from `LoadOptions.attachments`, keyed by that relative path.
 * A file that cannot be read is reported by validation (`SEM_GUARDRAIL_FILE`) where it is named.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, resolve } from 'node:path';
import { isRecord } from '../shared/guards.js';
import type { SourceMap } from './source-map.js';
import { joinPointer } from './source-map.js';

/** The same bound as for policy files: an attachment is configuration, not data. */
export const MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024;

export interface Attachment {
  /** What the policy wrote (`./blocked-terms.txt`). */
  readonly ref: string;
  /** The path it resolves to, relative to the declaring fragment. */
  readonly path: string;
  /** The file's text; null when it could not be read (`error` says why). */
  readonly text: string | null;
  readonly error?: string;
}

/** Pointer of the value that names the file → what it names. */
export type Attachments = ReadonlyMap<string, Attachment>;

/**
 * A path the policy names at `pointer`, resolved against the directory of the fragment that
 * declares it (absolute). An absolute path stays as written, normalised.
 */
export function resolveDeclaredPath(sourceMap: SourceMap, pointer: string, ref: string): string {
  if (isAbsolute(ref)) return normalize(ref);
  const file = sourceMap.locate(pointer)?.file;
  return resolve(file === undefined ? '.' : dirname(file), ref);
}

/** Every place the document names a file, with the path it resolves to. */
export function attachmentRefs(
  document: unknown,
  sourceMap: SourceMap,
): { pointer: string; ref: string; path: string }[] {
  const out: { pointer: string; ref: string; path: string }[] = [];
  const guardrails = isRecord(document) ? document.guardrails : undefined;
  if (!isRecord(guardrails)) return out;
  const add = (pointer: string, ref: unknown): void => {
    if (typeof ref !== 'string' || ref === '') return;
    const file = sourceMap.locate(pointer)?.file;
    const base = file === undefined ? '.' : dirname(file);
    out.push({ pointer, ref, path: isAbsolute(ref) ? normalize(ref) : normalize(join(base, ref)) });
  };
  for (const [name, g] of Object.entries(guardrails)) {
    if (!isRecord(g)) continue;
    if (g.kind === 'keywords') add(joinPointer('/guardrails', name, 'file'), g.file);
    if (g.kind === 'jsonSchema' && isRecord(g.schema))
      add(joinPointer('/guardrails', name, 'schema', '$ref'), g.schema.$ref);
  }
  return out;
}

/** Reads every named file from disk. */
export async function readAttachments(document: unknown, sourceMap: SourceMap): Promise<Attachments> {
  const out = new Map<string, Attachment>();
  for (const { pointer, ref, path } of attachmentRefs(document, sourceMap)) {
    try {
      const s = await stat(path);
      if (s.size > MAX_ATTACHMENT_BYTES) {
        out.set(pointer, {
          ref,
          path,
          text: null,
          error: `the file is ${s.size} bytes; the limit is ${MAX_ATTACHMENT_BYTES}`,
        });
        continue;
      }
      out.set(pointer, { ref, path, text: await readFile(path, 'utf8') });
    } catch (err) {
      const code = isRecord(err) && typeof err.code === 'string' ? err.code : 'unreadable';
      out.set(pointer, { ref, path, text: null, error: `cannot read ${path} (${code})` });
    }
  }
  return out;
}

/** The named files from texts the caller gave, by the path as written or as resolved. */
export function givenAttachments(
  document: unknown,
  sourceMap: SourceMap,
  given: Readonly<Record<string, string>>,
): Attachments {
  const out = new Map<string, Attachment>();
  for (const { pointer, ref, path } of attachmentRefs(document, sourceMap)) {
    const text = given[ref] ?? given[path] ?? null;
    out.set(
      pointer,
      text === null ? { ref, path, text, error: `no file ${ref} was given` } : { ref, path, text },
    );
  }
  return out;
}
