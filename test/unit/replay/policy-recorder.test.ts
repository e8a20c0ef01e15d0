import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPolicyRecorder } from '../../../engine/replay/policy-recorder.js';
import { createRecorder, type RecordedLine, validateRecordedLine } from '../../../engine/replay/record.js';
import { recordInput, recording } from '../../support/record-input.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sy-policy-rec-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function lines(path: string): RecordedLine[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const line = JSON.parse(l) as unknown;
      expect(validateRecordedLine(line).ok).toBe(true);
      return line as RecordedLine;
    });
}

const ids = (path: string): string[] => lines(path).map((l) => l.requestId);

/** Lets the writers' loops and close() chains run. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

describe('createPolicyRecorder', () => {
  it('writes each request to the file of the version it began under, and closes a retired file after its last line', async () => {
    const a = recording(join(dir, 'a.jsonl'));
    const b = recording(join(dir, 'b.jsonl'));
    const recorder = createPolicyRecorder();

    expect(recorder.begin(a)).toBe(true); // a-1: a long stream under version A
    expect(recorder.begin(a)).toBe(true); // a-2
    expect(recorder.begin(b)).toBe(true); // the reload: B serves from now on
    expect([...recorder.files()].sort()).toEqual([a.path, b.path]);

    recorder.record(recordInput({ requestId: 'a-1', recording: a }));
    recorder.record(recordInput({ requestId: 'b-1', recording: b }));
    await settle();
    expect([...recorder.files()].sort()).toEqual([a.path, b.path]); // a-2 is still running

    recorder.record(recordInput({ requestId: 'a-2', recording: a }));
    await recorder.flush();
    await settle();
    expect(recorder.files()).toEqual([b.path]); // A's last line is written: closed

    await recorder.close();
    expect(ids(a.path)).toEqual(['a-1', 'a-2']);
    expect(ids(b.path)).toEqual(['b-1']);
    expect(recorder.stats()).toEqual({ written: 3, dropped: 0, queued: 0 });
    expect(recorder.files()).toEqual([]);
  });

  it('activate (the engine swapping versions) retires the old file even when no request follows', async () => {
    const a = recording(join(dir, 'a.jsonl'));
    const recorder = createPolicyRecorder();
    recorder.activate(a);
    recorder.begin(a);
    recorder.activate(null); // a reload removed the block; the request under A still runs
    expect(recorder.files()).toEqual([a.path]);
    recorder.record(recordInput({ requestId: 'a-1', recording: a }));
    expect(recorder.files()).toEqual([]);
    await recorder.close();
    expect(ids(a.path)).toEqual(['a-1']);
  });

  it('keeps one writer for a file two versions name, each line written as its own version says', async () => {
    const path = join(dir, 'same.jsonl');
    const hashing = recording(path, { content: 'hash' });
    const dropping = recording(path, { content: 'drop' });
    const recorder = createPolicyRecorder();
    recorder.begin(hashing);
    recorder.begin(dropping);
    expect(recorder.files()).toEqual([path]);
    recorder.record(recordInput({ requestId: 'old', recording: hashing }));
    recorder.record(recordInput({ requestId: 'new', recording: dropping }));
    await recorder.close();
    const [old, next] = lines(path);
    expect(old.request.content).toBe('hash');
    expect(JSON.stringify(old.request.body)).toMatch(/sha256:/);
    expect(next.request.content).toBe('drop');
    expect(next.request.body).toEqual({ model: 'gpt-5', messages: [{ role: 'user' }] });
  });

  it('records nothing without a block or an override, and opens no file', async () => {
    const recorder = createPolicyRecorder();
    expect(recorder.begin(null)).toBe(false);
    recorder.record(recordInput({ recording: null }));
    expect(recorder.files()).toEqual([]);
    await recorder.close();
    expect(recorder.stats()).toEqual({ written: 0, dropped: 0, queued: 0 });
  });

  it('a version without a block retires the file of the one before', async () => {
    const a = recording(join(dir, 'a.jsonl'));
    const recorder = createPolicyRecorder();
    recorder.begin(a);
    recorder.record(recordInput({ requestId: 'a-1', recording: a }));
    expect(recorder.begin(null)).toBe(false);
    await recorder.flush();
    await settle();
    expect(recorder.files()).toEqual([]);
    expect(ids(a.path)).toEqual(['a-1']);
    await recorder.close();
  });

  it('an override path records every version there, with the block’s headers and content unless overridden', async () => {
    const path = join(dir, 'flag.jsonl');
    const recorder = createPolicyRecorder({ override: { path, content: 'drop' } });
    const block = recording(join(dir, 'ignored.jsonl'), { content: 'keep', headers: ['x-team'] });
    expect(recorder.begin(null)).toBe(true);
    recorder.record(recordInput({ requestId: 'no-block', recording: null }));
    expect(recorder.begin(block)).toBe(true);
    recorder.record(recordInput({ requestId: 'with-block', recording: block }));
    await recorder.close();
    expect(existsSync(block.path)).toBe(false);
    const [noBlock, withBlock] = lines(path);
    expect(noBlock.requestId).toBe('no-block');
    expect(noBlock.request.headers).not.toHaveProperty('x-team');
    expect(withBlock.request.headers).toMatchObject({ 'x-team': 'search' });
    expect(withBlock.request.content).toBe('drop');
    for (const l of [noBlock, withBlock]) expect(l.request.headers).not.toHaveProperty('authorization');
  });

  it('an override of the content only changes the mode of the block’s file', async () => {
    const block = recording(join(dir, 'block.jsonl'), { content: 'keep' });
    const recorder = createPolicyRecorder({ override: { content: 'hash' } });
    expect(recorder.begin(null)).toBe(false);
    recorder.begin(block);
    recorder.record(recordInput({ recording: block }));
    await recorder.close();
    expect(lines(block.path)[0].request.content).toBe('hash');
  });

  it('prepare() says why a file cannot be written, and creates one that can', async () => {
    const recorder = createPolicyRecorder();
    const missing = recording(join(dir, 'no-such-dir', 'traffic.jsonl'));
    expect(await recorder.prepare(missing)).toBe(`cannot write the recording file ${missing.path} (ENOENT)`);
    const fine = recording(join(dir, 'fine.jsonl'));
    expect(await recorder.prepare(fine)).toBeNull();
    expect(existsSync(fine.path)).toBe(true);
    expect(await recorder.prepare(null)).toBeNull();
    await recorder.close();
  });

  it('after close(), a line is dropped and counted, never written or thrown', async () => {
    const a = recording(join(dir, 'a.jsonl'));
    const drops: number[] = [];
    const recorder = createPolicyRecorder({ onDrop: (n) => drops.push(n) });
    recorder.begin(a);
    await recorder.close();
    expect(recorder.begin(a)).toBe(false);
    expect(() => recorder.record(recordInput({ recording: a }))).not.toThrow();
    expect(recorder.stats().dropped).toBe(1);
    expect(drops).toEqual([1]);
    expect(ids(a.path)).toEqual([]);
  });

  it('reports the file a write failed on', async () => {
    const a = recording(join(dir, 'gone', 'a.jsonl'));
    const errors: string[] = [];
    const recorder = createPolicyRecorder({ onError: (_err, path) => errors.push(path) });
    recorder.begin(a);
    recorder.record(recordInput({ recording: a }));
    await recorder.close();
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors)).toEqual(new Set([a.path]));
    expect(recorder.stats()).toMatchObject({ written: 0, dropped: 1 });
  });

  it('announces each file it opens and closes', async () => {
    const events: string[] = [];
    const recorder = createPolicyRecorder({ onFile: (e) => events.push(`${e.kind} ${e.path}`) });
    const a = recording(join(dir, 'a.jsonl'));
    const b = recording(join(dir, 'b.jsonl'));
    recorder.begin(a);
    recorder.record(recordInput({ recording: a }));
    recorder.begin(b);
    recorder.record(recordInput({ recording: b }));
    await recorder.close();
    expect(events.slice(0, 2)).toEqual([`open ${a.path}`, `open ${b.path}`]);
    // Closes finish in I/O order.
    expect(events.slice(2).sort()).toEqual([`close ${a.path}`, `close ${b.path}`]);
  });
});

describe('rotation', () => {
  it('moves the file to .1, .2 … before a write would pass the size, keeps `keep` files, never splits a line', async () => {
    const path = join(dir, 'rot.jsonl');
    const recorder = createRecorder({ path, content: 'drop', rotate: { maxBytes: 2_000, keep: 2 } });
    for (let i = 0; i < 40; i++) {
      recorder.record(recordInput({ requestId: `req-${i}` }));
      await recorder.flush(); // one line per write, so every write may rotate
    }
    await recorder.close();
    expect(existsSync(`${path}.1`)).toBe(true);
    expect(existsSync(`${path}.2`)).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(false);
    for (const p of [path, `${path}.1`, `${path}.2`]) {
      expect(readFileSync(p).length).toBeLessThanOrEqual(2_000);
      expect(lines(p).length).toBeGreaterThan(0);
    }
    // Newest in the file, then .1, then .2; contiguous, ending with the last request.
    const kept = [...ids(`${path}.2`), ...ids(`${path}.1`), ...ids(path)];
    const first = Number(kept[0].slice(4));
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => `req-${first + i}`));
    expect(kept.at(-1)).toBe('req-39');
    expect(recorder.stats()).toEqual({ written: 40, dropped: 0, queued: 0 });
  });

  it('a batch larger than the size goes whole into a fresh file', async () => {
    const path = join(dir, 'big.jsonl');
    const recorder = createRecorder({ path, content: 'drop', rotate: { maxBytes: 1_024, keep: 1 } });
    recorder.record(recordInput({ requestId: 'first' }));
    await recorder.flush();
    for (let i = 0; i < 10; i++) recorder.record(recordInput({ requestId: `burst-${i}` }));
    await recorder.close();
    expect(ids(`${path}.1`)).toEqual(['first']);
    expect(ids(path)).toEqual(Array.from({ length: 10 }, (_, i) => `burst-${i}`));
  });
});
