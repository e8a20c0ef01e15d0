/**
 * Recording across reloads (P13 applied to the recording): under any interleaving of reloads that
 * change the `recording` block (another file, the same file in another content mode, no block),
 * requests starting and requests finishing, every request is written exactly once, to the file
 * of the version it started under, in that version's content mode; no other line appears; a file
 * is open only while the serving version names it or a request begun on it is still running;
 * and after close every file is closed. `activate` on a reload is what the engine does on a swap.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterAll, describe, expect } from 'vitest';
import type { CompiledRecording } from '../../engine/compile/compile.js';
import { createPolicyRecorder } from '../../engine/replay/policy-recorder.js';
import type { RecordedLine } from '../../engine/replay/record.js';
import { recordInput, recording } from '../support/record-input.js';

const NUM_RUNS = Number(process.env.FC_NUM_RUNS ?? 30);
const root = mkdtempSync(join(tmpdir(), 'sy-rec-switch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Op =
  | { readonly op: 'reload'; readonly block: number }
  | { readonly op: 'start' }
  | { readonly op: 'finish'; readonly pick: number }
  | { readonly op: 'tick' };

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('reload' as const), block: fc.nat(3) }),
  fc.record({ op: fc.constant('start' as const) }),
  fc.record({ op: fc.constant('start' as const) }),
  fc.record({ op: fc.constant('finish' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('finish' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('tick' as const) }),
);

let run = 0;

describe('recording across reloads', () => {
  test.prop([fc.nat(3), fc.array(arbOp, { maxLength: 40 })], { numRuns: NUM_RUNS })(
    'each request is written once, to the file and in the mode of the version it started under',
    async (first, ops) => {
      const dir = join(root, `run-${run++}`);
      mkdirSync(dir);
      // Versions' blocks: two files, the first one also in another mode, and none.
      const blocks: (CompiledRecording | null)[] = [
        recording(join(dir, 'a.jsonl'), { content: 'hash' }),
        recording(join(dir, 'b.jsonl'), { content: 'hash' }),
        recording(join(dir, 'a.jsonl'), { content: 'drop' }),
        null,
      ];
      const recorder = createPolicyRecorder();
      let serving = blocks[first];
      recorder.activate(serving);
      const running: { id: string; block: CompiledRecording | null }[] = [];
      const expected = new Map<string, { path: string; content: string }>();
      let n = 0;

      const checkOpenFiles = (): void => {
        const allowed = new Set(running.flatMap((r) => (r.block === null ? [] : [r.block.path])));
        if (serving !== null) allowed.add(serving.path);
        for (const f of recorder.files()) expect(allowed.has(f)).toBe(true);
      };

      for (const step of ops) {
        if (step.op === 'reload') {
          // What the engine does on a swap.
          serving = blocks[step.block];
          recorder.activate(serving);
        } else if (step.op === 'start') {
          const id = `req-${n++}`;
          const recorded = recorder.begin(serving);
          expect(recorded).toBe(serving !== null);
          if (recorded && serving !== null)
            expected.set(id, { path: serving.path, content: serving.content });
          if (recorded) running.push({ id, block: serving });
        } else if (step.op === 'finish') {
          if (running.length === 0) continue;
          const [done] = running.splice(step.pick % running.length, 1);
          recorder.record(recordInput({ requestId: done.id, recording: done.block }));
        } else {
          await new Promise((resolve) => setImmediate(resolve));
        }
        checkOpenFiles();
      }
      for (const done of running.splice(0))
        recorder.record(recordInput({ requestId: done.id, recording: done.block }));
      await recorder.close();
      expect(recorder.files()).toEqual([]);

      const found = new Map<string, { path: string; content: string }>();
      for (const name of ['a.jsonl', 'b.jsonl']) {
        const path = join(dir, name);
        if (!existsSync(path)) continue;
        for (const text of readFileSync(path, 'utf8').split('\n')) {
          if (text === '') continue;
          const line = JSON.parse(text) as RecordedLine;
          expect(found.has(line.requestId)).toBe(false);
          found.set(line.requestId, { path, content: line.request.content });
        }
      }
      expect(found).toEqual(expected);
      expect(recorder.stats()).toEqual({ written: expected.size, dropped: 0, queued: 0 });
    },
  );
});
