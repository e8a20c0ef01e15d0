/**
 * A CommonJS package (or JSON file) loaded on first use, synchronously. The policy parser (yaml)
 * and the validators (ajv, the policy schema) are needed only when a policy is parsed and
 * checked; a gateway that loads its policies in a worker thread (engine/compile/off-thread.ts)
 * never needs them on its main thread, where they would stay resident (~9 MB, docs/footprint.md).
 * A dynamic `import()` would make every caller asynchronous (`parsePolicy` is synchronous), so
 * this uses `require`, which loads CommonJS synchronously from ES modules.
 *
 * @example
 * const yaml = lazyRequire<typeof import('yaml')>('yaml');
 * yaml().parseAllDocuments(text);
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** `require(id)` on the first call, the same module after; `id` resolves from this file. */
export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= require(id) as T;
    return loaded;
  };
}
