/**
 * Recordings for the replay tests, made by the real engine and recorder on virtual time: each
 * request starts at its arrival whatever is still in flight (so requests overlap as they would
 * on a server), every upstream wait is a timer on the clock.
 */
import type { CompiledPolicy } from '../../engine/compile/compile.js';
import {
  createEngine,
  createRecorder,
  type EngineOptions,
  type EngineResponse,
  VirtualClock,
} from '../../engine/index.js';

export interface TrafficRequest {
  readonly model: string;
  readonly stream?: boolean;
  /** Virtual milliseconds until the next request arrives. */
  readonly gapMs?: number;
  /** A bearer key. */
  readonly key?: string;
  readonly content?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export const TRAFFIC_START = Date.UTC(2026, 11, 7, 9);

async function drain(res: EngineResponse): Promise<void> {
  if (res.kind !== 'stream') return;
  for await (const _frame of res.events) {
    // a client reading to the end
  }
  await res.done;
}

/** Records `requests` under `policy` into `path` (content hashed unless told otherwise). */
export async function recordTraffic(
  policy: CompiledPolicy,
  path: string,
  requests: readonly TrafficRequest[],
  options: {
    readonly content?: 'keep' | 'hash' | 'drop';
    readonly start?: number;
    /** The engine's providers (a stub of a real provider, say); the policy's own by default. */
    readonly createProvider?: EngineOptions['createProvider'];
  } = {},
): Promise<void> {
  const recorder = createRecorder({ path, content: options.content ?? 'hash' });
  const clock = new VirtualClock({ start: options.start ?? TRAFFIC_START });
  let draw = 0;
  const engine = createEngine(policy, {
    clock,
    recorder,
    random: () => (draw++ * 0.618034) % 1,
    ...(options.createProvider === undefined ? {} : { createProvider: options.createProvider }),
  });
  const pending: Promise<void>[] = [];
  for (const [i, r] of requests.entries()) {
    pending.push(
      engine
        .handle({
          body: {
            model: r.model,
            messages: [{ role: 'user', content: r.content ?? `question ${i}` }],
            stream: r.stream === true,
          },
          headers: {
            'x-request-id': `req-${i}`,
            ...(r.key === undefined ? {} : { authorization: `Bearer ${r.key}` }),
            ...r.headers,
          },
        })
        .then(drain),
    );
    await clock.advance(r.gapMs ?? 0);
  }
  await clock.runUntilIdle();
  await Promise.all(pending);
  // The recorder stage writes JSON answers' lines after a macrotask.
  await new Promise((resolve) => setTimeout(resolve, 5));
  await recorder.close();
  await engine.close();
}
