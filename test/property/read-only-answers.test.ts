/**
 * The engine's `readOnlyAnswers` (what `replay` sets): a cache hit hands out the stored entry's
 * own frozen body instead of a copy, and nothing else changes. For any sequence of requests (a
 * small pool of questions, JSON and streamed, virtual time moving past the TTL now and then), an
 * engine with it and one without answer alike: the same statuses, headers, metadata, bodies and
 * stream frames (a hit's frames, made when first read with it, read step by step, taken at once,
 * or left unread). Without it a hit's body is the caller's to change, and changing it never
 * reaches a later hit. The seed is printed on failure; FC_NUM_RUNS sets the number of runs
 * (default 100).
 */
import { fc, test } from '@fast-check/vitest';
import { afterEach, describe, expect } from 'vitest';
import type { EngineResponse, ReadyFrames } from '../../engine/index.js';
import { VirtualClock } from '../../engine/shared/virtual-clock.js';
import { closeEngines, harness, readStream, request, T0 } from '../integration/traffic/helpers.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 100);

afterEach(closeEngines);

const POLICY = {
  sections: 'caches:\n  answers: { mode: exact, ttl: 1m }\n',
  routes: `
  - name: main
    targets: [primary, backup]
    cache: answers`,
};

interface Step {
  readonly question: number;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** Virtual milliseconds before the request (a minute or more lets the entry expire). */
  readonly waitMs: number;
  /** How the read-only engine's caller reads a cache hit's stream. */
  readonly read: 'iterate' | 'take' | 'none';
}

const step: fc.Arbitrary<Step> = fc.record({
  question: fc.integer({ min: 0, max: 2 }),
  stream: fc.boolean(),
  includeUsage: fc.boolean(),
  waitMs: fc.constantFrom(0, 1_000, 30_000, 61_000),
  read: fc.constantFrom('iterate', 'take', 'none'),
});

/** What a caller sees of an answer: a stream read to its end. */
async function seen(res: EngineResponse): Promise<unknown> {
  if (res.kind === 'json')
    return { kind: 'json', status: res.status, headers: res.headers, body: res.body, meta: res.meta };
  const read = await readStream(res);
  return { kind: 'stream', status: res.status, headers: res.headers, read, meta: await res.done };
}

describe('readOnlyAnswers', () => {
  test.prop([fc.array(step, { minLength: 1, maxLength: 12 })], { numRuns: NUM_RUNS })(
    'answers as an engine without it, a hit handing out the frozen entry; without it a hit is the caller’s own',
    async (steps) => {
      const clocks = [new VirtualClock({ start: T0 }), new VirtualClock({ start: T0 })];
      const shared = harness(POLICY, { clock: clocks[0], readOnlyAnswers: true });
      const owned = harness(POLICY, { clock: clocks[1] });
      for (const s of steps) {
        for (const clock of clocks) await clock.advance(s.waitMs);
        const ask = { content: `question ${s.question}`, stream: s.stream, includeUsage: s.includeUsage };
        const a = await shared.engine.handle(request(ask));
        const b = await owned.engine.handle(request(ask));
        const hit = a.headers['x-switchyard-cache'] === 'hit';
        if (hit && a.kind === 'json' && b.kind === 'json') {
          expect(Object.isFrozen(a.body)).toBe(true);
          expect(Object.isFrozen(b.body)).toBe(false);
        }
        const events = a.kind === 'stream' ? (a.events as Partial<ReadyFrames>) : null;
        if (
          a.kind === 'stream' &&
          b.kind === 'stream' &&
          typeof events?.takeFrames === 'function' &&
          s.read !== 'iterate'
        ) {
          // A hit's frames taken at once, or never read: the same frames and metadata all the same.
          const theirs = await readStream(b);
          if (s.read === 'take') expect(events.takeFrames()).toEqual(theirs.frames);
          expect({ status: a.status, headers: a.headers, meta: await a.done }).toEqual({
            status: b.status,
            headers: b.headers,
            meta: await b.done,
          });
        } else {
          const sa = await seen(a);
          const sb = await seen(b);
          expect(sa).toEqual(sb);
        }
        // The owner of a copy may change it: a later hit of the entry is unchanged by it.
        if (hit && b.kind === 'json') (b.body as { id?: unknown }).id = 'changed by the caller';
      }
      expect(shared.calls).toEqual(owned.calls);
      expect(shared.caches.map((e) => e.outcome)).toEqual(owned.caches.map((e) => e.outcome));
    },
  );
});
