/**
 * The worker side of `createPolicyLoader` (off-thread.ts): reads, parses and validates a policy
 * in a worker thread, and posts back the checked document (plain data). The YAML parser, the
 * schema validator and the garbage of a large parse stay in this thread; the main thread only
 * compiles. It imports check.js, not load-policy.js: the compiler's modules never load here.
 */
import { parentPort } from 'node:worker_threads';
import { loadPolicySources } from '../policy/load.js';
import { checkLoaded } from './check.js';

/** One load request from the main thread. */
export interface LoadRequest {
  readonly id: number;
  readonly path: string;
  readonly env: Record<string, string | undefined>;
}

/** The answer: the checked policy, or why the worker could not produce one (an engine bug). */
export type LoadAnswer =
  | { readonly id: number; readonly result: ReturnType<typeof checkLoaded> }
  | { readonly id: number; readonly error: string };

/** One load, read and checked: the answer a worker or the first-load child (load-child.ts) sends. */
export async function answerLoad(request: LoadRequest): Promise<LoadAnswer> {
  try {
    const load = await loadPolicySources(request.path, { env: request.env });
    return { id: request.id, result: checkLoaded(load) };
  } catch (err) {
    return { id: request.id, error: err instanceof Error ? err.message : String(err) };
  }
}

const port = parentPort;
if (port !== null) {
  port.on('message', async (request: LoadRequest) => {
    port.postMessage(await answerLoad(request));
  });
}
