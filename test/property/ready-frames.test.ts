/**
 * A cache hit's stream offers its frames at once (`ReadyFrames.takeFrames`, what `replay` reads):
 * after any number of frames read one by one, taking the rest gives exactly the frames a reader
 * going on step by step would have got, and the stream is then at its end. The seed is printed on
 * failure; FC_NUM_RUNS sets the number of runs (default 100).
 */
import { fc, test } from '@fast-check/vitest';
import { afterEach, describe, expect } from 'vitest';
import type { ReadyFrames } from '../../engine/index.js';
import { VirtualClock } from '../../engine/shared/virtual-clock.js';
import { asStream, closeEngines, harness, request, T0 } from '../integration/traffic/helpers.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 100);

afterEach(closeEngines);

const POLICY = {
  sections: 'caches:\n  answers: { mode: exact, ttl: 1h }\n',
  routes: `
  - name: main
    targets: [primary]
    cache: answers`,
};

describe('ReadyFrames', () => {
  test.prop([fc.boolean(), fc.nat({ max: 8 })], { numRuns: NUM_RUNS })(
    'a hit stream taken after k steps gives the frames the steps would have, then ends',
    async (includeUsage, k) => {
      const h = harness(POLICY, { clock: new VirtualClock({ start: T0 }) });
      const ask = { content: 'a question', stream: true, includeUsage };
      // A miss stores the answer; each hit after it serves the same frames.
      for await (const _ of asStream(await h.engine.handle(request(ask))).events) {
        // read to the end
      }
      const stepped = asStream(await h.engine.handle(request(ask)));
      expect(stepped.headers['x-switchyard-cache']).toBe('hit');
      const all: string[] = [];
      for await (const frame of stepped.events) all.push(frame);

      const taken = asStream(await h.engine.handle(request(ask)));
      const events = taken.events as AsyncIterableIterator<string> & Partial<ReadyFrames>;
      expect(typeof events.takeFrames).toBe('function');
      const read: string[] = [];
      for (let i = 0; i < k; i++) {
        const step = await events.next();
        if (step.done === true) break;
        read.push(step.value);
      }
      read.push(...(events.takeFrames as () => readonly string[])());
      expect(read).toEqual(all);
      expect(await events.next()).toEqual({ value: undefined, done: true });
      expect((events.takeFrames as () => readonly string[])()).toEqual([]);
      await taken.done;
    },
  );
});
