/**
 * The policy's `recording` block, compiled: the file resolved against the fragment that declares
 * it, the rotation size in bytes, the header names lower-cased. What a recorder does with it is
 * the recorder's business (engine/replay/policy-recorder.ts); nothing here opens a file.
 */

import type { Policy } from '../policy/types.generated.js';
import { parseSize } from '../shared/units.js';

export type RecordingContent = 'keep' | 'hash' | 'drop';

export interface CompiledRecording {
  /** The file, resolved (see {@link CompileOptions.resolvePath}). */
  readonly path: string;
  readonly content: RecordingContent;
  /** Extra header names to record, lower case, deduplicated, in the order written. */
  readonly headers: readonly string[];
  /** Rotate before a write would take the file past `maxBytes`; keep `keep` old files. */
  readonly rotate: { readonly maxBytes: number; readonly keep: number } | null;
}

export const DEFAULT_RECORDING_CONTENT: RecordingContent = 'hash';
export const DEFAULT_ROTATE_KEEP = 5;

/**
 * `policy.recording` compiled, or null when the policy has none. `resolvePath` turns the path as
 * written into the file to open (the loader resolves it against the declaring fragment).
 */
export function compileRecording(
  policy: Policy,
  resolvePath: (path: string) => string,
): CompiledRecording | null {
  const block = policy.recording;
  if (block === undefined) return null;
  const size = block.rotate === undefined ? null : parseSize(block.rotate.size);
  return {
    path: resolvePath(block.path),
    content: block.content ?? DEFAULT_RECORDING_CONTENT,
    headers: [...new Set((block.headers ?? []).map((h) => h.toLowerCase()))],
    // Validation refused a size that does not parse; `size.ok` is only checked for the types.
    rotate:
      block.rotate === undefined || size === null || !size.ok
        ? null
        : { maxBytes: size.value, keep: block.rotate.keep ?? DEFAULT_ROTATE_KEEP },
  };
}
