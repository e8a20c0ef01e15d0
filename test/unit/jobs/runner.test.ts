/**
 * The job runner on a real engine (mock provider), on each store (a directory; Redis): a batch runs to its end
 * with each `custom_id` once across the output and error files; a stop mid-job then a new runner
 * resumes without redoing journaled requests; a cancel keeps partial results; a rate limit puts
 * requests back instead of failing them; a bad input file fails validation with line numbers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Clock,
  createEngine,
  type Engine,
  jobs,
  type RequestInput,
  systemClock,
} from '../../../engine/index.js';
import { RedisJobStore } from '../../../engine/jobs/redis-store.js';
import {
  batch,
  compile,
  countingEngine,
  customIds,
  fileLines,
  journaled,
  policyYaml,
  requestLines,
  upload,
  waitFor,
} from '../../support/jobs.js';
import { redisAvailable, redisSkipReason } from '../../support/redis.js';
import { useRedis } from '../../support/use-redis.js';

if (!redisAvailable) console.warn(redisSkipReason);
const redis = useRedis();

let dir: string;
/** The store the tests of one kind use: on disk in `dir`, or in Redis under `prefix`. */
let kind: 'disk' | 'redis' = 'disk';
let prefix = '';
let opened: jobs.JobStorage[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sy-jobs-'));
  prefix = `rt${randomBytes(4).toString('hex')}:`;
});
afterEach(async () => {
  for (const s of opened) await s.close();
  opened = [];
  await rm(dir, { recursive: true, force: true });
});

/** A store on the test's data (a second call: the same data, as after a restart). */
async function openStore(): Promise<jobs.JobStorage> {
  const store =
    kind === 'disk'
      ? await jobs.JobStore.open(dir)
      : await RedisJobStore.open({ url: redis().url, prefix, chunkBytes: 4096 });
  opened.push(store);
  return store;
}

async function setup(yaml: string, concurrency?: number, clock?: Clock) {
  const store = await openStore();
  const { engine, seen } = countingEngine(yaml);
  const runner = new jobs.JobRunner({
    store,
    engine: () => engine,
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(clock === undefined ? {} : { clock }),
  });
  await runner.start();
  return { store, runner, engine, seen };
}

for (const storeKind of ['disk', 'redis'] as const) {
  describe.skipIf(storeKind === 'redis' && !redisAvailable)(`job runner (${storeKind} store)`, () => {
    beforeEach(() => {
      kind = storeKind;
    });

    it('runs a batch to completion: every custom_id once, counts and usage, in the OpenAI output shape', async () => {
      const { store, runner } = await setup(policyYaml(), 3);
      const file = await upload(store, requestLines(12));
      const job = await batch(runner, file.file.id);
      const done = await waitFor(() => (runner.get(job.id, 'acme')?.status === 'completed' ? job : null));
      expect(jobs.batchObject(done)).toMatchObject({
        object: 'batch',
        status: 'completed',
        request_counts: { total: 12, completed: 12, failed: 0 },
        error_file_id: null,
      });
      expect(done.input_tokens).toBeGreaterThan(0);
      const lines = await fileLines(store, done.output_file_id as string);
      expect(lines).toHaveLength(12);
      expect(lines[0]).toMatchObject({
        custom_id: expect.stringMatching(/^r\d+$/),
        response: { status_code: 200, body: { object: 'chat.completion' } },
        error: null,
      });
      expect(String(lines[0].id)).toMatch(/^batch_req_/);
      expect(await customIds(store, done)).toEqual(Array.from({ length: 12 }, (_, i) => `r${i}`).sort());
      // another tenant does not see it
      expect(runner.get(job.id, 'globex')).toBeNull();
      await runner.stop(1000);
    });

    it('runs a /v1/responses batch: each answer is a Response object, as OpenAI batches answer it', async () => {
      const { store, runner } = await setup(policyYaml(), 2);
      const lines = Array.from(
        { length: 3 },
        (_, i) =>
          `${JSON.stringify({ custom_id: `x${i}`, method: 'POST', url: '/v1/responses', body: { model: 'fast', input: `hi ${i}` } })}\n`,
      ).join('');
      const file = await upload(store, lines);
      const created = await runner.createBatch(
        {
          owner: 'acme',
          inputFileId: file.file.id,
          endpoint: '/v1/responses',
          completionWindow: '24h',
          metadata: null,
        },
        jobs.JOB_ENDPOINTS,
      );
      if (!created.ok) throw new Error(JSON.stringify(created.refusal));
      const done = await waitFor(() =>
        runner.get(created.value.id, 'acme')?.status === 'completed' ? created.value : null,
      );
      const out = await fileLines(store, runner.get(done.id, 'acme')?.output_file_id as string);
      expect(out).toHaveLength(3);
      for (const line of out) {
        expect(line).toMatchObject({
          response: { status_code: 200, body: { object: 'response', status: 'completed' } },
        });
      }
    });

    it('resumes after a stop without redoing journaled requests; the output has each custom_id exactly once', async () => {
      const yaml = policyYaml('', 'latency: 30ms');
      const first = await setup(yaml, 2);
      const file = await upload(first.store, requestLines(20));
      const job = await batch(first.runner, file.file.id);
      await waitFor(() => job.completed >= 6);
      // a shutdown with no grace: requests in flight are cut and not journaled
      await first.runner.stop(0);
      const doneBefore = job.completed;
      expect(doneBefore).toBeLessThan(20);
      const before = await journaled(first.store, job.id);
      expect(before.size).toBe(doneBefore);

      const second = await setup(yaml, 2);
      const resumed = await waitFor(() => {
        const j = second.runner.get(job.id, 'acme');
        return j?.status === 'completed' ? j : null;
      });
      expect(resumed.completed).toBe(20);
      expect(await customIds(second.store, resumed)).toEqual(
        Array.from({ length: 20 }, (_, i) => `r${i}`).sort(),
      );
      // nothing journaled before the stop ran again
      for (const i of before) expect(second.seen).not.toContain(`${job.id}-${i}`);
      expect(second.seen).toHaveLength(20 - doneBefore);
      await second.runner.stop(1000);
    });

    it('cuts a torn last journal line on resume (a crash mid-write) and redoes that request', async (t) => {
      // A torn record exists only in a file (an XADD is whole or absent).
      if (kind !== 'disk') t.skip();
      const yaml = policyYaml();
      const first = await setup(yaml, 1);
      const file = await upload(first.store, requestLines(3));
      const job = await batch(first.runner, file.file.id);
      await waitFor(() => first.runner.get(job.id, 'acme')?.status === 'completed');
      await first.runner.stop(0);
      // Make the job unfinished again with a journal of one whole record and a torn one.
      const journalPath = join(dir, 'jobs', job.id, 'journal.jsonl');
      const records = (await readFile(journalPath, 'utf8')).split('\n');
      await writeFile(journalPath, `${records[0]}\n${records[1].slice(0, 25)}`);
      const state = JSON.parse(await readFile(join(dir, 'jobs', job.id, 'job.json'), 'utf8'));
      await writeFile(
        join(dir, 'jobs', job.id, 'job.json'),
        JSON.stringify({ ...state, status: 'in_progress', output_file_id: null, completed_at: null }),
      );
      const second = await setup(yaml, 1);
      const resumed = await waitFor(() => {
        const j = second.runner.get(job.id, 'acme');
        return j?.status === 'completed' ? j : null;
      });
      expect(second.seen).toHaveLength(2);
      expect(await customIds(second.store, resumed)).toEqual(['r0', 'r1', 'r2']);
      await second.runner.stop(1000);
    });

    it('cancels: requests in flight finish, the rest are batch_cancelled lines of the error file', async () => {
      const { store, runner } = await setup(policyYaml('', 'latency: 40ms'), 2);
      const file = await upload(store, requestLines(30));
      const job = await batch(runner, file.file.id);
      await waitFor(() => job.completed >= 2);
      const cancelled = await runner.cancel(job.id, 'acme', 'batch');
      expect(cancelled.ok && cancelled.value.status).toBe('cancelling');
      const done = await waitFor(() => (runner.get(job.id, 'acme')?.status === 'cancelled' ? job : null));
      expect(done.completed).toBeLessThan(30);
      const errors = await fileLines(store, done.error_file_id as string);
      expect(errors).toHaveLength(30 - done.completed);
      expect(errors[0]).toMatchObject({ response: null, error: { code: 'batch_cancelled' } });
      expect(await customIds(store, done)).toEqual(Array.from({ length: 30 }, (_, i) => `r${i}`).sort());
      const again = await runner.cancel(job.id, 'acme', 'batch');
      expect(again.ok).toBe(true);
      await runner.stop(1000);
    });

    it('a finished batch cannot be cancelled; an unknown or foreign one is not found', async () => {
      const { store, runner } = await setup(policyYaml(), 2);
      const file = await upload(store, requestLines(1));
      const job = await batch(runner, file.file.id);
      await waitFor(() => runner.get(job.id, 'acme')?.status === 'completed');
      expect(await runner.cancel(job.id, 'acme', 'batch')).toEqual({
        ok: false,
        refusal: { kind: 'not_cancellable', status: 'completed' },
      });
      expect(await runner.cancel(job.id, 'globex', 'batch')).toEqual({
        ok: false,
        refusal: { kind: 'not_found' },
      });
      await runner.stop(1000);
    });

    it('puts rate-limited requests back until the limit admits them, instead of failing them', async () => {
      const limits = 'limits:\n  slow: { key: [tenant], requests: 4/s }\n';
      const yaml = policyYaml(limits).replace('targets: [fast]', 'targets: [fast]\n    limits: [slow]');
      const { store, runner } = await setup(yaml, 4);
      const file = await upload(store, requestLines(10));
      const job = await batch(runner, file.file.id);
      const done = await waitFor(
        () => (runner.get(job.id, 'acme')?.status === 'completed' ? job : null),
        20_000,
      );
      expect(done).toMatchObject({ completed: 10, failed: 0 });
      await runner.stop(1000);
    });

    it('fails validation with each problem and its line number', async () => {
      const { store, runner } = await setup(policyYaml(), 2);
      const text = [
        JSON.stringify({
          custom_id: 'a',
          method: 'POST',
          url: '/v1/chat/completions',
          body: { model: 'fast' },
        }),
        '{not json',
        JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: {} }),
        JSON.stringify({ custom_id: 'b', method: 'GET', url: '/v1/chat/completions', body: {} }),
        JSON.stringify({ custom_id: 'c', method: 'POST', url: '/v1/embeddings', body: {} }),
        JSON.stringify({
          custom_id: 'd',
          method: 'POST',
          url: '/v1/chat/completions',
          body: { stream: true },
        }),
        '',
      ].join('\n');
      const file = await upload(store, text);
      const job = await batch(runner, file.file.id);
      const failed = await waitFor(() => (runner.get(job.id, 'acme')?.status === 'failed' ? job : null));
      expect(failed.errors?.map((e) => [e.code, e.line])).toEqual([
        ['invalid_json_line', 2],
        ['duplicate_custom_id', 3],
        ['invalid_value', 4],
        ['mismatched_endpoint', 5],
        ['invalid_value', 6],
      ]);
      await runner.stop(1000);
    });

    it("refuses a batch over the active-job limit, an unknown input file and another tenant's file", async () => {
      const { store, runner } = await setup(policyYaml('jobs: { maxActive: 1 }', 'latency: 200ms'), 1);
      const file = await upload(store, requestLines(3));
      await batch(runner, file.file.id);
      const second = await runner.createBatch(
        {
          owner: 'acme',
          inputFileId: file.file.id,
          endpoint: '/v1/chat/completions',
          completionWindow: '24h',
          metadata: null,
        },
        jobs.JOB_ENDPOINTS,
      );
      expect(second).toEqual({ ok: false, refusal: { kind: 'too_many_jobs', limit: 1 } });
      const foreign = await runner.createBatch(
        {
          owner: 'globex',
          inputFileId: file.file.id,
          endpoint: '/v1/chat/completions',
          completionWindow: '24h',
          metadata: null,
        },
        jobs.JOB_ENDPOINTS,
      );
      expect(foreign.ok === false && foreign.refusal.kind).toBe('invalid');
      const window = await runner.createBatch(
        {
          owner: 'acme',
          inputFileId: file.file.id,
          endpoint: '/v1/chat/completions',
          completionWindow: '1h',
          metadata: null,
        },
        jobs.JOB_ENDPOINTS,
      );
      expect(window.ok === false && window.refusal).toMatchObject({ param: 'completion_window' });
      await runner.stop(0);
    });

    it('expires when the completion window ends first: what did not run is batch_expired', async () => {
      let skew = 0;
      const clock: Clock = {
        now: () => systemClock.now() + skew,
        sleep: (ms, signal) => systemClock.sleep(ms, signal),
      };
      const { store, runner } = await setup(policyYaml('', 'latency: 30ms'), 1, clock);
      const file = await upload(store, requestLines(20));
      const job = await batch(runner, file.file.id);
      await waitFor(() => job.completed >= 2);
      skew = 25 * 3600 * 1000;
      const done = await waitFor(() => (runner.get(job.id, 'acme')?.status === 'expired' ? job : null));
      expect(done.expired_at).not.toBeNull();
      expect(done.completed).toBeLessThan(20);
      const errors = await fileLines(store, done.error_file_id as string);
      expect(errors.every((l) => (l.error as { code: string }).code === 'batch_expired')).toBe(true);
      expect(await customIds(store, done)).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`).sort());
      await runner.stop(1000);
    });

    it('never has more job requests in flight than jobs.concurrency, over all jobs together', async () => {
      const store = await openStore();
      const inner = createEngine(compile(policyYaml('jobs: { concurrency: 3 }', 'latency: 15ms')));
      let now = 0;
      let peak = 0;
      const engine: Engine = {
        ...inner,
        get policy() {
          return inner.policy;
        },
        async handle(input: RequestInput) {
          now++;
          peak = Math.max(peak, now);
          try {
            return await inner.handle(input);
          } finally {
            now--;
          }
        },
      };
      const runner = new jobs.JobRunner({ store, engine: () => engine });
      await runner.start();
      const a = await batch(runner, (await upload(store, requestLines(15, 'a'))).file.id);
      const b = await batch(runner, (await upload(store, requestLines(15, 'b'))).file.id);
      await waitFor(() => a.status === 'completed' && b.status === 'completed');
      expect(peak).toBe(3);
      await runner.stop(1000);
    });
  });
}
