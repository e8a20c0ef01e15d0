/**
 * One loopback upstream ({@link startUpstream}) for a whole test file: started before the first
 * test, reset (queue, handler, recorded requests) before each, closed after the last. Kept apart
 * from upstream.ts, which the benchmarks import without vitest.
 *
 * @example
 * const upstream = useUpstream();
 * it('...', async () => {
 *   upstream.enqueue({ kind: 'status', status: 503 });
 *   // ... point a provider at upstream.url
 * });
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startUpstream, type Upstream, type UpstreamOptions } from './upstream.js';

export interface UseUpstreamOptions extends UpstreamOptions {
  /** Runs after the last test, before the upstream closes (e.g. closing the transports that used it). */
  beforeClose?: () => Promise<unknown>;
}

/**
 * Registers the hooks and returns the upstream. Its members may be used from the first test (or
 * `beforeEach`) on: before `beforeAll` has run there is no server yet, and they throw.
 */
export function useUpstream(options: UseUpstreamOptions = {}): Upstream {
  const { beforeClose, ...upstreamOptions } = options;
  let current: Upstream | undefined;
  const started = (): Upstream => {
    if (current === undefined) throw new Error('the upstream starts in beforeAll: use it inside a test');
    return current;
  };
  beforeAll(async () => {
    current = await startUpstream(upstreamOptions);
  });
  afterAll(async () => {
    await beforeClose?.();
    await current?.close();
  });
  beforeEach(() => current?.reset());
  return {
    get url() {
      return started().url;
    },
    get origin() {
      return started().origin;
    },
    get port() {
      return started().port;
    },
    get requests() {
      return started().requests;
    },
    enqueue: (...behaviours) => started().enqueue(...behaviours),
    setHandler: (handler) => started().setHandler(handler),
    reset: () => started().reset(),
    close: () => started().close(),
  };
}
