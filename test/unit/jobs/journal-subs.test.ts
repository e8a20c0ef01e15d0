/**
 * A job's journal with native sub-batch records (engine/jobs/journal.ts): they are read back as
 * sub-batches (ended or not) without stopping the recovery, never yielded as results, and a torn
 * last line is still cut off.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { journalRecords, recoverJournal } from '../../../engine/jobs/journal.js';
import { JobStore } from '../../../engine/jobs/store.js';

const JOB = 'batch_journaltest';

/** The journal's path in a disk store of \`dir\`, with the store. */
async function journalAt(): Promise<{ store: JobStore; path: string }> {
  const store = await JobStore.open(dir);
  await store.scratchDir(JOB);
  return { store, path: join(store.jobDir(JOB), 'journal.jsonl') };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sy-journal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sub = (id: string, lines: number[]) => ({
  sub: {
    id,
    provider: 'up',
    target: 'big',
    route: 'bg',
    connectMs: 1000,
    lines,
    offsets: lines.map((i) => i * 10),
    at: 1,
  },
});
const result = (i: number) => ({
  i,
  ok: true,
  u: [3, 4],
  out: {
    id: `batch_req_x_${i}`,
    custom_id: `c${i}`,
    response: { status_code: 200, request_id: 'r', body: {} },
    error: null,
  },
});

describe('journal with sub-batches', () => {
  it('reads sub-batches and their ends, counts results, cuts a torn tail', async () => {
    const { store, path } = await journalAt();
    const whole = [
      sub('b1', [0, 1]),
      result(0),
      { subEnd: 'b1', status: 'completed' },
      sub('b2', [2, 3]),
      result(2),
    ]
      .map((r) => `${JSON.stringify(r)}\n`)
      .join('');
    await writeFile(path, `${whole}{"i":3,"ok":tr`);
    const summary = await recoverJournal(store, JOB, 4);
    expect([...summary.subs.keys()]).toEqual(['b1', 'b2']);
    expect([...summary.subsEnded]).toEqual(['b1']);
    expect(summary.subs.get('b2')?.offsets).toEqual([20, 30]);
    expect(summary.completed).toBe(2);
    expect(summary.inputTokens).toBe(6);
    expect(summary.done.has(0) && summary.done.has(2) && !summary.done.has(1)).toBe(true);
    expect(await readFile(path, 'utf8')).toBe(whole);
    const records = [];
    for await (const r of journalRecords(store, JOB)) records.push(r.i);
    expect(records).toEqual([0, 2]);
  });

  it('a malformed sub record ends the recovery there', async () => {
    const { store, path } = await journalAt();
    const good = `${JSON.stringify(result(0))}\n`;
    await writeFile(
      path,
      `${good}${JSON.stringify({ sub: { id: 'b', lines: [1], offsets: [] } })}\n${JSON.stringify(result(1))}\n`,
    );
    const summary = await recoverJournal(store, JOB, 2);
    expect(summary.subs.size).toBe(0);
    expect(summary.completed).toBe(1);
    expect(await readFile(path, 'utf8')).toBe(good);
  });
});
