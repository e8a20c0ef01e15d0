/**
 * One conformance suite for the job store port (engine/jobs/storage.ts), passed by the disk
 * store and by the Redis store (a throwaway redis-server; skipped with the printed reason when
 * redis-server is not installed). Files stream in and out in any cut (Redis: chunks of 1000
 * bytes here, so files span many), from any byte offset; an upload over the limit keeps nothing;
 * job state, cancel requests and deletion; the journal in order, cut at a bad record when asked;
 * leases (shared store: one holder at a time, writes refused without it).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisJobStore } from '../../../engine/jobs/redis-store.js';
import { type JobStorage, LeaseLostError, UploadTooLargeError } from '../../../engine/jobs/storage.js';
import { JobStore } from '../../../engine/jobs/store.js';
import { redisAvailable, redisSkipReason } from '../../support/redis.js';
import { useRedis } from '../../support/use-redis.js';

if (!redisAvailable) console.warn(redisSkipReason);

const redis = useRedis();

interface Kind {
  readonly name: string;
  readonly available: boolean;
  /** A new store, and a second handle on the same data (another replica; the same store on disk). */
  open(): Promise<{ store: JobStorage; peer: () => Promise<JobStorage> }>;
}

let dirs: string[] = [];
let opened: JobStorage[] = [];
afterEach(async () => {
  for (const s of opened) await s.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  opened = [];
  dirs = [];
});

const KINDS: Kind[] = [
  {
    name: 'disk',
    available: true,
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'sy-store-'));
      dirs.push(dir);
      const store = await JobStore.open(dir);
      return { store, peer: async () => store };
    },
  },
  {
    name: 'redis',
    available: redisAvailable,
    async open() {
      const prefix = `t${randomBytes(4).toString('hex')}:`;
      const make = async () => {
        const s = await RedisJobStore.open({ url: redis().url, prefix, chunkBytes: 1000 });
        opened.push(s);
        return s;
      };
      return { store: await make(), peer: make };
    },
  },
];

const META = {
  filename: 'in.jsonl',
  purpose: 'batch' as const,
  owner: 'acme',
  createdAt: 5,
  expiresAt: null,
};

/** `n` bytes of varied text, cut in pieces of random sizes. */
function content(n: number): { bytes: Buffer; pieces: Buffer[] } {
  const bytes = Buffer.from(
    Array.from({ length: n }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join(''),
  );
  const pieces: Buffer[] = [];
  for (let at = 0; at < n; ) {
    const size = 1 + ((at * 31) % 1700);
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return { bytes, pieces };
}

const record = (i: number) => ({ i, ok: true, u: null, out: { custom_id: `c${i}` } });

for (const kind of KINDS) {
  describe.skipIf(!kind.available)(`job store conformance: ${kind.name}`, () => {
    let store: JobStorage;
    let peer: () => Promise<JobStorage>;
    beforeEach(async () => {
      ({ store, peer } = await kind.open());
    });

    it('streams a file in and out whole, and from any byte offset; lists it; deletes it', async () => {
      const { bytes, pieces } = content(12_345);
      const saved = await store.saveUpload(Readable.from(pieces), META, 1 << 20);
      expect(saved.file.bytes).toBe(bytes.length);
      expect(store.getFile(saved.file.id)).toEqual(saved);
      expect(store.files().map((f) => f.file.id)).toEqual([saved.file.id]);
      expect(await text(store.readFile(saved.file.id))).toBe(bytes.toString());
      for (const start of [1, 999, 1000, 1001, 12_344]) {
        expect(await text(store.readFile(saved.file.id, start))).toBe(bytes.subarray(start).toString());
      }
      const other = await peer();
      expect((await other.refreshFile(saved.file.id))?.file).toEqual(saved.file);
      await store.deleteFile(saved.file.id);
      expect(store.getFile(saved.file.id)).toBeNull();
      expect(await other.refreshFile(saved.file.id)).toBeNull();
      await expect(text(store.readFile(saved.file.id))).rejects.toThrow();
    });

    it('refuses an upload over the limit and keeps nothing of it', async () => {
      const { pieces } = content(5_000);
      await expect(store.saveUpload(Readable.from(pieces), META, 4_000)).rejects.toBeInstanceOf(
        UploadTooLargeError,
      );
      expect(store.files()).toEqual([]);
    });

    it('adopts a local file written in the scratch directory under a given id', async () => {
      const dir = await store.scratchDir('batch_abc');
      const tmp = join(dir, 'out.tmp');
      const { bytes } = content(2_500);
      await writeFile(tmp, bytes);
      const stored = await store.adoptFile('file-abc-output', tmp, { ...META, purpose: 'batch_output' });
      expect(stored.file.bytes).toBe(2_500);
      expect(await text(store.readFile('file-abc-output'))).toBe(bytes.toString());
      // Adopted again (a finalize redone after a crash): replaced, not appended.
      await writeFile(tmp, bytes.subarray(0, 10));
      await store.adoptFile('file-abc-output', tmp, { ...META, purpose: 'batch_output' });
      expect(await text(store.readFile('file-abc-output'))).toBe(bytes.subarray(0, 10).toString());
    });

    it('saves, loads and lists job state; a cancel asked shows; deleting removes it all', async () => {
      const job = { version: 1, id: 'batch_j1', status: 'in_progress', created_at: 1 };
      await store.saveJob('batch_j1', job);
      await store.saveJob('job_j2', { ...job, id: 'job_j2', status: 'completed' });
      expect(await store.loadJob('batch_j1')).toEqual(job);
      const all = (await store.loadJobs(() => {})) as { id: string }[];
      expect(all.map((j) => j.id).sort()).toEqual(['batch_j1', 'job_j2']);
      await store.putJobData('batch_j1', 'input.jsonl', 'hello deferred\n');
      expect(await text(store.readJobData('batch_j1', 'input.jsonl', 6))).toBe('deferred\n');
      await store.requestCancel('batch_j1', 42);
      expect(await store.loadJob('batch_j1')).toMatchObject({ status: 'cancelling', cancelling_at: 42 });
      await store.requestCancel('job_j2', 42);
      expect(await store.loadJob('job_j2')).toMatchObject({ status: 'completed' });
      await store.deleteJob('batch_j1');
      expect(await store.loadJob('batch_j1')).toBeNull();
      expect(((await store.loadJobs(() => {})) as { id: string }[]).map((j) => j.id)).toEqual(['job_j2']);
    });

    it('journals records in order; reading stops at a bad record, and repair removes it and what follows', async () => {
      await store.saveJob('batch_j3', { id: 'batch_j3' });
      const lease = await store.acquire('batch_j3', 'me', 10_000);
      if (lease === null) throw new Error('no lease');
      const journal = store.journal('batch_j3', lease);
      await Promise.all([0, 1, 2, 3].map((i) => journal.append(record(i))));
      await journal.close();
      const read = async (valid: (r: unknown) => boolean, repair: boolean) => {
        const out: number[] = [];
        for await (const r of store.records('batch_j3', valid, repair)) out.push((r as { i: number }).i);
        return out;
      };
      expect(await read(() => true, false)).toEqual([0, 1, 2, 3]);
      const notTwo = (r: unknown) => (r as { i: number }).i !== 2;
      expect(await read(notTwo, false)).toEqual([0, 1]);
      expect(await read(() => true, false)).toEqual([0, 1, 2, 3]);
      expect(await read(notTwo, true)).toEqual([0, 1]);
      expect(await read(() => true, false)).toEqual([0, 1]);
      const again = store.journal('batch_j3', lease);
      await again.append(record(7));
      await again.close();
      expect(await read(() => true, false)).toEqual([0, 1, 7]);
    });

    it('leases: one holder at a time (shared), renewed and released; writes refused without the lease', async () => {
      await store.saveJob('batch_j4', { id: 'batch_j4' });
      const a = await store.acquire('batch_j4', 'replica-a', 10_000);
      expect(a).not.toBeNull();
      expect((await store.renew(a as NonNullable<typeof a>, 10_000)).held).toBe(true);
      if (!store.shared) return;
      const other = await peer();
      expect(await other.acquire('batch_j4', 'replica-b', 10_000)).toBeNull();
      await store.release(a as NonNullable<typeof a>);
      const b = await other.acquire('batch_j4', 'replica-b', 10_000);
      expect(b).not.toBeNull();
      expect((await store.renew(a as NonNullable<typeof a>, 10_000)).held).toBe(false);
      // A's writes are refused now; B's go through.
      await expect(
        store.journal('batch_j4', a as NonNullable<typeof a>).append(record(0)),
      ).rejects.toBeInstanceOf(LeaseLostError);
      await expect(store.saveJob('batch_j4', { id: 'batch_j4', x: 1 }, a)).rejects.toBeInstanceOf(
        LeaseLostError,
      );
      await other.journal('batch_j4', b as NonNullable<typeof b>).append(record(1));
      await other.requestCancel('batch_j4', 9);
      expect(await other.renew(b as NonNullable<typeof b>, 10_000)).toEqual({ held: true, cancelAt: 9 });
      const seen: number[] = [];
      for await (const r of store.records('batch_j4', () => true, false)) seen.push((r as { i: number }).i);
      expect(seen).toEqual([1]);
    });

    it('a lease expires unrenewed and another runner takes it (shared)', async () => {
      if (!store.shared) return;
      await store.saveJob('batch_j5', { id: 'batch_j5' });
      const a = await store.acquire('batch_j5', 'replica-a', 100);
      expect(a).not.toBeNull();
      const other = await peer();
      expect(await other.acquire('batch_j5', 'replica-b', 100)).toBeNull();
      await new Promise((r) => setTimeout(r, 250));
      expect(await other.acquire('batch_j5', 'replica-b', 10_000)).not.toBeNull();
    });

    it('tells a watcher when another replica saves a job or asks to cancel it (shared)', async () => {
      if (!store.shared) return;
      const seen: string[] = [];
      const unwatch = store.watch({ job: (id, cancel) => seen.push(cancel ? `cancel ${id}` : id) });
      await new Promise((r) => setTimeout(r, 100));
      const other = await peer();
      await other.saveJob('batch_j6', { id: 'batch_j6' });
      await other.requestCancel('batch_j6', 1);
      const until = Date.now() + 5_000;
      while (seen.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      unwatch();
      expect(seen).toEqual(['batch_j6', 'cancel batch_j6']);
    });
  });
}
