/**
 * The per-request scope (engine/runtime/scope.ts): whatever way a request ends — a JSON answer,
 * a stream read to its end, a stream the caller abandons (before or after its first frame), a
 * refusal by a stage, an exception — every hold a stage took is settled exactly once, with the
 * final metadata (null only for an exception), never before a stream has ended, and `handle`
 * never rejects. Runs the real composition (errors → accounting → holding stages → last stage).
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { sseFrame } from '../../engine/providers/sse.js';
import { Attribution } from '../../engine/runtime/attribution.js';
import { composeStages, type NamedStage, type Next } from '../../engine/runtime/pipeline.js';
import { RequestScope, type Snapshot } from '../../engine/runtime/scope.js';
import { accountingStage } from '../../engine/runtime/stages/accounting.js';
import { errorsStage } from '../../engine/runtime/stages/errors.js';
import { VirtualClock } from '../../engine/shared/virtual-clock.js';
import type { EngineResponse, ResponseMeta } from '../../engine/types.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 300);

type Exit =
  | { kind: 'json' }
  | { kind: 'stream'; frames: number; readBeforeReturn: number | null }
  | { kind: 'refuse'; atStage: number }
  | { kind: 'throw'; atStage: number };

const arbExit: fc.Arbitrary<Exit> = fc.oneof(
  fc.constant<Exit>({ kind: 'json' }),
  fc.record({
    kind: fc.constant('stream' as const),
    frames: fc.integer({ min: 0, max: 5 }),
    readBeforeReturn: fc.option(fc.integer({ min: 0, max: 6 }), { nil: null }),
  }),
  fc.record({ kind: fc.constant('refuse' as const), atStage: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('throw' as const), atStage: fc.integer({ min: 0, max: 4 }) }),
);

const POLICY = { identity: { name: 'p', version: '1', hash: 'h'.repeat(64) }, routes: [] };

function meta(target: string | null): ResponseMeta {
  return {
    policy: POLICY.identity,
    route: 'r',
    tenant: null,
    target,
    attempts: [],
    cache: null,
    usage: null,
    costUsd: null,
    overheadMs: 0,
  };
}

interface Settlement {
  readonly hold: number;
  readonly meta: ResponseMeta | null;
  readonly streamEnded: boolean;
}

describe('request scope', () => {
  test.prop([fc.integer({ min: 0, max: 4 }), arbExit], { numRuns: NUM_RUNS })(
    'settles every hold exactly once, after the answer is complete, whatever the exit',
    async (holdingStages, exit) => {
      const settlements: Settlement[] = [];
      let streamEnded = false;
      let holds = 0;
      const holding: NamedStage[] = Array.from({ length: holdingStages }, (_, i) => ({
        name: `holding-${i}`,
        run: async (scope, next) => {
          const id = holds++;
          scope.hold({
            settle: (m) => {
              settlements.push({ hold: id, meta: m, streamEnded });
            },
          });
          scope.setHeader(`x-stage-${i}`, 'yes');
          if (exit.kind === 'refuse' && exit.atStage === i) {
            return { kind: 'json', status: 429, headers: {}, body: { refused: i }, meta: meta(null) };
          }
          if (exit.kind === 'throw' && exit.atStage === i) throw new Error(`stage ${i} failed`);
          return next(scope);
        },
      }));
      const last: Next = async () => {
        if (exit.kind === 'throw') throw new Error('last stage failed');
        if (exit.kind !== 'stream') {
          return { kind: 'json', status: 200, headers: {}, body: { ok: true }, meta: meta('t') };
        }
        let resolveDone: (m: ResponseMeta) => void = () => undefined;
        const done = new Promise<ResponseMeta>((resolve) => {
          resolveDone = resolve;
        });
        let started = false;
        const count = exit.frames;
        async function* frames(): AsyncGenerator<string> {
          started = true;
          try {
            for (let f = 0; f < count; f++) yield sseFrame(String(f));
          } finally {
            streamEnded = true;
            resolveDone(meta('t'));
          }
        }
        const generator = frames();
        const events: AsyncGenerator<string> = {
          next: () => generator.next(),
          return: async (v: unknown) => {
            // A generator returned before its first next() skips its finally: end it here.
            if (!started) {
              streamEnded = true;
              resolveDone(meta('t'));
            }
            return generator.return(v);
          },
          throw: (e: unknown) => generator.throw(e),
          [Symbol.asyncIterator]() {
            return events;
          },
        };
        return { kind: 'stream', status: 200, headers: {}, events, done, meta: meta('t') };
      };
      const clock = new VirtualClock();
      const run = composeStages([errorsStage(clock), accountingStage(new Attribution()), ...holding], last);
      const snapshot = { policy: POLICY, providers: new Map(), traffic: null } as unknown as Snapshot;
      const response: EngineResponse = await run(new RequestScope({ body: {} }, snapshot, 0));

      // Before a stream is consumed, nothing it holds may be released.
      if (response.kind === 'stream') expect(settlements).toEqual([]);
      let final: ResponseMeta | null = null;
      if (response.kind === 'stream') {
        const iterator = response.events[Symbol.asyncIterator]();
        const limit = exit.kind === 'stream' ? exit.readBeforeReturn : null;
        for (let read = 0; limit === null || read < limit; read++) {
          const step = await iterator.next();
          if (step.done === true) break;
        }
        await iterator.return?.();
        final = await response.done;
      } else {
        final = response.meta;
      }
      await new Promise((r) => setImmediate(r));

      // Which holds were taken: every stage up to (and including) the refusing or throwing one.
      const taken =
        exit.kind === 'refuse' || exit.kind === 'throw'
          ? Math.min(holdingStages, exit.atStage + 1)
          : holdingStages;
      expect(settlements.map((s) => s.hold).sort()).toEqual(Array.from({ length: taken }, (_, i) => i));
      for (const s of settlements) {
        if (exit.kind === 'throw') {
          expect(s.meta).toBeNull();
          expect(response.status).toBe(500);
        } else {
          expect(s.meta).not.toBeNull();
          expect(s.meta?.target ?? null).toBe(final?.target ?? null);
        }
        if (response.kind === 'stream') expect(s.streamEnded).toBe(true);
      }
      // The headers the stages set are on every answer that passed through accounting.
      if (exit.kind !== 'throw' && taken > 0) expect(response.headers['x-stage-0']).toBe('yes');
    },
  );
});
