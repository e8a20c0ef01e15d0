/**
 * The record stage hands a JSON answer's line to the recorder after the answer has gone out (a
 * later event-loop turn), unless the recorder is `inline` (replay's), which gets it with the answer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../../engine/compile/load-policy.js';
import type { RecordInput } from '../../../engine/replay/record.js';
import { createEngine } from '../../../engine/runtime/engine.js';
import { VirtualClock } from '../../../engine/shared/virtual-clock.js';

const text = readFileSync(join(import.meta.dirname, '../../../policies/quickstart.yaml'), 'utf8');
const loaded = parsePolicy([{ file: 'quickstart.yaml', text }]);
if (!loaded.ok) throw new Error('quickstart does not load');
const policy = loaded.policy;
const body = { model: 'other', messages: [{ role: 'user', content: 'hi' }] };

describe('record stage', () => {
  it.each([false, true])(
    'inline %s: a JSON answer is recorded after it is given, or with it',
    async (inline) => {
      const lines: RecordInput[] = [];
      const clock = new VirtualClock({ auto: true, start: Date.UTC(2026, 0, 1) });
      const engine = createEngine(policy, { clock, recorder: { record: (e) => lines.push(e), inline } });
      const res = await engine.handle({ body, headers: { 'x-request-id': 'r-1' } });
      expect(res.kind).toBe('json');
      expect(lines.map((l) => l.requestId)).toEqual(inline ? ['r-1'] : []);
      await new Promise((resolve) => setImmediate(resolve));
      expect(lines.map((l) => [l.requestId, l.status])).toEqual([['r-1', 200]]);
      await engine.close();
    },
  );
});
