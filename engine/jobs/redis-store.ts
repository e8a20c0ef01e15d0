/**
 * The Redis job store (`serve --jobs-redis <url>`): jobs, their journals and files in one Redis
 * server that several gateway replicas share. Keys, under a prefix (`switchyard:jobs:` by
 * default):
 *
 * ```
 * <p>jobs                       set of job ids
 * <p>job:<id>                   hash: state (the job's JSON), cancel (Unix seconds, asked elsewhere)
 * <p>job:<id>:owner             the lease: the owning runner's name, with an expiry (PX)
 * <p>job:<id>:journal           stream: one entry per record (field r: its JSON)
 * <p>job:<id>:data:<name>       hash of a job's data (a deferred request's body), chunked as files
 * <p>files                      set of file ids
 * <p>file:<id>                  hash: meta (the Files API object and owner), chunks, chunk (bytes)
 * <p>file:<id>:c:<n>            the n-th chunk of its content (1 MiB by default)
 * <p>events                     channel: `job:<id>` / `file:<id>` when one changes, `cancel:<id>`
 * ```
 *
 * - Content is never one value: it is written in chunks as it streams in (an upload, at most
 *   `jobs.maxFileSize`), each with an expiry until the file is complete, so an upload cut by a
 *   crash leaves nothing behind for long; read back one chunk at a time.
 * - The journal is a stream: an XADD is whole or absent (no torn tail). A record is appended by a
 *   Lua script only while the job's lease is held by the appender, and job state saved with a
 *   lease likewise: a runner that lost its job can change nothing of it.
 * - A lease is `SET <owner> PX <ttl>` when free (or renewed when held by the same runner),
 *   released with a compare-and-delete. Expiry runs on Redis's clock.
 * - Commands fail at once while Redis is unreachable (no offline queue): they throw
 *   {@link JobStoreUnavailableError}, and the runner pauses the jobs it works on.
 *
 * ioredis is loaded only when this store is created (shared/redis.ts).
 */

import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import { isRecord } from '../shared/guards.js';
import { closeOwnedClient, redisClass } from '../shared/redis.js';
import {
  byteLimit,
  type FileMeta,
  isFileId,
  isJobId,
  type JobStorage,
  JobStoreUnavailableError,
  type JournalAppender,
  type Lease,
  LeaseLostError,
  newId,
  type StoredFile,
  type StoreEvents,
  storedFile,
} from './storage.js';

export const DEFAULT_JOBS_PREFIX = 'switchyard:jobs:';
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;
/** An incomplete upload's chunks vanish after this long (a crash mid-upload). */
const PENDING_CHUNK_MS = 24 * 3600_000;
/** Journal entries read per XRANGE (records can be large answers). */
const RECORDS_PAGE = 16;

export interface RedisJobStoreOptions {
  /** `redis://host:port/db` (or `rediss://`). */
  readonly url: string;
  /** Prepended to every key; `switchyard:jobs:` by default. */
  readonly prefix?: string;
  /** Bytes per content chunk; 1 MiB by default. */
  readonly chunkBytes?: number;
  /** Per-command timeout; 5 s by default. */
  readonly commandTimeoutMs?: number;
  /** Told about connection errors; must not throw. */
  readonly onConnectionError?: (error: unknown) => void;
}

/** Checks the options an operator gives; a message naming the problem, or null. */
export function redisJobStoreProblem(options: { url: string; prefix?: string }): string | null {
  if (!/^rediss?:\/\/[^\s]+$/.test(options.url)) {
    return 'the jobs Redis URL must look like redis://host:port/db (or rediss://)';
  }
  if (options.prefix !== undefined && !/^[A-Za-z0-9:_.-]{1,64}$/.test(options.prefix)) {
    return 'the jobs Redis key prefix must be 1 to 64 letters, digits or : _ . -';
  }
  return null;
}

const LUA_APPEND = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('XADD', KEYS[2], '*', 'r', ARGV[2])
return 1`;
const LUA_SAVE = `if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('PUBLISH', ARGV[4], 'job:' .. ARGV[3])
return 1`;
const LUA_CANCEL = `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'cancel', ARGV[1])
redis.call('PUBLISH', ARGV[2], 'cancel:' .. ARGV[3])
return 1`;
const LUA_ACQUIRE = `local cur = redis.call('GET', KEYS[1])
if cur == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;
const LUA_RENEW = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0, ''} end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, redis.call('HGET', KEYS[2], 'cancel') or ''}`;
const LUA_RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

interface Scripts {
  jobAppend(owner: string, journal: string, token: string, record: string): Promise<number>;
  jobSave(
    job: string,
    owner: string,
    jobs: string,
    state: string,
    token: string,
    id: string,
    channel: string,
  ): Promise<number>;
  jobCancel(job: string, at: string, channel: string, id: string): Promise<number>;
  jobAcquire(owner: string, token: string, ttl: string): Promise<number>;
  jobRenew(owner: string, job: string, token: string, ttl: string): Promise<[number, string]>;
  jobRelease(owner: string, token: string): Promise<number>;
}

function isStoredFile(v: unknown): v is StoredFile {
  return (
    isRecord(v) &&
    isRecord(v.file) &&
    typeof v.file.id === 'string' &&
    (v.owner === null || typeof v.owner === 'string')
  );
}

function parseStoredFile(meta: unknown): StoredFile | null {
  if (typeof meta !== 'string') return null;
  try {
    const value: unknown = JSON.parse(meta);
    return isStoredFile(value) ? value : null;
  } catch {
    return null;
  }
}

function applyCancel(state: string | null, cancel: string | null): unknown {
  if (state === null) return null;
  let job: unknown;
  try {
    job = JSON.parse(state);
  } catch {
    return null;
  }
  if (cancel === null || cancel === '' || !isRecord(job)) return job;
  if (job.status !== 'validating' && job.status !== 'in_progress') return job;
  return { ...job, status: 'cancelling', cancelling_at: job.cancelling_at ?? Number(cancel) };
}

export class RedisJobStore implements JobStorage {
  readonly shared = true;
  readonly #client: Redis;
  readonly #scripts: Scripts;
  readonly #p: string;
  readonly #chunk: number;
  readonly #files = new Map<string, StoredFile>();
  readonly #watchers = new Set<StoreEvents>();
  #subscriber: Redis | null = null;
  #scratch: Promise<string> | null = null;

  private constructor(options: RedisJobStoreOptions) {
    this.#p = options.prefix ?? DEFAULT_JOBS_PREFIX;
    this.#chunk = Math.max(1, Math.floor(options.chunkBytes ?? DEFAULT_CHUNK_BYTES));
    const Redis = redisClass();
    this.#client = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 5_000,
      connectTimeout: 2_000,
      retryStrategy: (times: number) => Math.min(100 * times, 2_000),
      lazyConnect: true,
    });
    const onError = options.onConnectionError ?? (() => {});
    this.#client.on('error', (err) => {
      try {
        onError(err);
      } catch {
        // a faulty hook must not crash the process from an event emitter
      }
    });
    const define = (name: keyof Scripts, keys: number, lua: string) =>
      this.#client.defineCommand(name, { numberOfKeys: keys, lua });
    define('jobAppend', 2, LUA_APPEND);
    define('jobSave', 3, LUA_SAVE);
    define('jobCancel', 1, LUA_CANCEL);
    define('jobAcquire', 1, LUA_ACQUIRE);
    define('jobRenew', 2, LUA_RENEW);
    define('jobRelease', 1, LUA_RELEASE);
    this.#scripts = this.#client as unknown as Scripts;
  }

  /** Connects (within `timeoutMs`) and reads the file index. */
  static async open(options: RedisJobStoreOptions, timeoutMs = 5_000): Promise<RedisJobStore> {
    const problem = redisJobStoreProblem(options);
    if (problem !== null) throw new TypeError(problem);
    const store = new RedisJobStore(options);
    try {
      await Promise.race([
        store.#client.connect(),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs).unref(),
        ),
      ]);
      await store.#loadFiles();
    } catch (err) {
      store.#client.disconnect();
      throw err;
    }
    return store;
  }

  /** Reads every file's metadata into the index (100 a round trip). */
  async #loadFiles(): Promise<void> {
    const ids = (await this.#do(() => this.#client.smembers(this.#key('files')))).filter(isFileId);
    for (let i = 0; i < ids.length; i += 100) {
      const page = ids.slice(i, i + 100);
      const pipe = this.#client.pipeline();
      for (const id of page) pipe.hget(this.#key('file', id), 'meta');
      const replies = (await this.#do(() => pipe.exec())) ?? [];
      page.forEach((id, k) => {
        const stored = parseStoredFile(replies[k]?.[1] ?? null);
        if (stored !== null && stored.file.id === id) this.#files.set(id, stored);
      });
    }
  }

  /** Calls `listener` each time the connection is (re)established. */
  onReady(listener: () => void): void {
    this.#client.on('ready', listener);
  }

  get available(): boolean {
    return this.#client.status === 'ready';
  }

  #key(...parts: string[]): string {
    return this.#p + parts.join(':');
  }

  /** Runs a command; connection problems become {@link JobStoreUnavailableError}. */
  async #do<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      if (err instanceof Error && err.name === 'ReplyError') throw err;
      throw new JobStoreUnavailableError(err instanceof Error ? err.message : String(err));
    }
  }

  // ---- files ----

  getFile(id: string): StoredFile | null {
    return isFileId(id) ? (this.#files.get(id) ?? null) : null;
  }

  files(): StoredFile[] {
    return [...this.#files.values()].sort((a, b) => a.file.created_at - b.file.created_at);
  }

  async refreshFile(id: string): Promise<StoredFile | null> {
    if (!isFileId(id)) return null;
    const stored = parseStoredFile(await this.#do(() => this.#client.hget(this.#key('file', id), 'meta')));
    if (stored !== null && stored.file.id === id) {
      this.#files.set(id, stored);
      return stored;
    }
    this.#files.delete(id);
    return null;
  }

  /** Writes `source` as the chunks of `base`, each pending (expiring) until `complete`; returns the count and bytes. */
  async #writeChunks(
    base: string,
    source: AsyncIterable<Buffer> | Iterable<Buffer>,
    progress: { chunks: number } = { chunks: 0 },
  ): Promise<{ chunks: number; bytes: number }> {
    let parts: Buffer[] = [];
    let size = 0;
    let bytes = 0;
    const flush = async (buffer: Buffer) => {
      // Counted before the write: a failed write may still have landed.
      const n = progress.chunks++;
      await this.#do(() => this.#client.set(`${base}:c:${n}`, buffer, 'PX', PENDING_CHUNK_MS));
    };
    for await (const piece of source) {
      let chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
      bytes += chunk.length;
      while (size + chunk.length >= this.#chunk) {
        const take = this.#chunk - size;
        parts.push(chunk.subarray(0, take));
        await flush(Buffer.concat(parts, this.#chunk));
        chunk = chunk.subarray(take);
        parts = [];
        size = 0;
      }
      if (chunk.length > 0) {
        parts.push(chunk);
        size += chunk.length;
      }
    }
    if (size > 0) await flush(Buffer.concat(parts, size));
    return { chunks: progress.chunks, bytes };
  }

  /** Makes the chunks permanent, drops stale ones past `chunks`, and lists the file. */
  async #complete(
    base: string,
    chunks: number,
    previous: number,
    fields: Record<string, string>,
    set: string | null,
    event: string,
  ): Promise<void> {
    const multi = this.#client.multi();
    for (let n = 0; n < chunks; n++) multi.persist(`${base}:c:${n}`);
    for (let n = chunks; n < previous; n++) multi.del(`${base}:c:${n}`);
    multi.hset(base, { ...fields, chunks: String(chunks), chunk: String(this.#chunk) });
    if (set !== null) multi.sadd(set, event.slice(event.indexOf(':') + 1));
    multi.publish(this.#key('events'), event);
    await this.#do(() => multi.exec());
  }

  async #dropChunks(base: string, chunks: number, from = 0): Promise<void> {
    const keys: string[] = [];
    for (let n = from; n < chunks; n++) keys.push(`${base}:c:${n}`);
    if (keys.length > 0) await this.#client.del(...keys).catch(() => undefined);
  }

  async #putFile(
    id: string,
    source: AsyncIterable<Buffer>,
    meta: FileMeta,
    maxBytes: number,
  ): Promise<StoredFile> {
    const base = this.#key('file', id);
    const previous = Number(await this.#do(() => this.#client.hget(base, 'chunks'))) || 0;
    const progress = { chunks: 0 };
    let result: { chunks: number; bytes: number };
    try {
      result = await this.#writeChunks(base, byteLimit(maxBytes, () => {})(source), progress);
    } catch (err) {
      // Only chunks past the previous version's (a finished file is never rewritten while listed).
      await this.#dropChunks(base, progress.chunks, previous);
      throw err;
    }
    const stored = storedFile(id, result.bytes, meta);
    await this.#complete(
      base,
      result.chunks,
      previous,
      { meta: JSON.stringify(stored) },
      this.#key('files'),
      `file:${id}`,
    );
    this.#files.set(id, stored);
    return stored;
  }

  async saveUpload(source: Readable, meta: FileMeta, maxBytes: number): Promise<StoredFile> {
    return this.#putFile(newId('file-'), source, meta, maxBytes);
  }

  async adoptFile(id: string, tmpPath: string, meta: FileMeta): Promise<StoredFile> {
    if (!isFileId(id)) throw new Error(`not a file id: ${id}`);
    const stored = await this.#putFile(
      id,
      createReadStream(tmpPath, { highWaterMark: 256 * 1024 }),
      meta,
      Number.MAX_SAFE_INTEGER,
    );
    await unlink(tmpPath).catch(() => undefined);
    return stored;
  }

  /** The content under `base` from byte `start`, one chunk at a time. */
  #readChunks(base: string, start: number, what: string): Readable {
    const client = this.#client;
    const run = this.#do.bind(this);
    return Readable.from(
      (async function* () {
        const info = await run(() => client.hmget(base, 'chunks', 'chunk'));
        if (info[0] === null) throw Object.assign(new Error(`${what} not found`), { code: 'ENOENT' });
        const chunks = Number(info[0]);
        const size = Number(info[1]);
        for (let n = Math.floor(start / size); n < chunks; n++) {
          const buffer = await run(() => client.getBuffer(`${base}:c:${n}`));
          if (buffer === null) throw new Error(`${what} is missing chunk ${n}`);
          const from = n === Math.floor(start / size) ? start - n * size : 0;
          yield from > 0 ? buffer.subarray(from) : buffer;
        }
      })(),
      { objectMode: false },
    );
  }

  readFile(id: string, start = 0): Readable {
    if (!isFileId(id)) throw new Error(`not a file id: ${id}`);
    return this.#readChunks(this.#key('file', id), start, `file ${id}`);
  }

  async deleteFile(id: string): Promise<void> {
    if (!isFileId(id)) return;
    const base = this.#key('file', id);
    const chunks = Number(await this.#do(() => this.#client.hget(base, 'chunks'))) || 0;
    this.#files.delete(id);
    // The listing first: a failure in between leaves unlisted chunks, never a listed file without data.
    await this.#do(() =>
      this.#client
        .multi()
        .srem(this.#key('files'), id)
        .del(base)
        .publish(this.#key('events'), `file:${id}`)
        .exec(),
    );
    await this.#dropChunks(base, chunks);
  }

  // ---- jobs ----

  async loadJobs(onBad: (id: string, err: unknown) => void): Promise<unknown[]> {
    const ids = await this.#do(() => this.#client.smembers(this.#key('jobs')));
    const out: unknown[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      const page = ids.slice(i, i + 100).filter(isJobId);
      const pipe = this.#client.pipeline();
      for (const id of page) pipe.hmget(this.#key('job', id), 'state', 'cancel');
      const replies = (await this.#do(() => pipe.exec())) ?? [];
      page.forEach((id, k) => {
        const [err, value] = replies[k] ?? [null, null];
        const [state, cancel] = (value as (string | null)[] | null) ?? [null, null];
        const job = err === null ? applyCancel(state, cancel) : null;
        if (job === null) onBad(id, err ?? new Error('unreadable job state'));
        else out.push(job);
      });
    }
    return out;
  }

  async loadJob(id: string): Promise<unknown> {
    if (!isJobId(id)) return null;
    const [state, cancel] = await this.#do(() => this.#client.hmget(this.#key('job', id), 'state', 'cancel'));
    return applyCancel(state ?? null, cancel ?? null);
  }

  async saveJob(id: string, state: unknown, lease?: Lease | null): Promise<void> {
    if (!isJobId(id)) throw new Error(`not a job id: ${id}`);
    const saved = await this.#do(() =>
      this.#scripts.jobSave(
        this.#key('job', id),
        this.#key('job', id, 'owner'),
        this.#key('jobs'),
        JSON.stringify(state),
        lease?.token ?? '',
        id,
        this.#key('events'),
      ),
    );
    if (saved !== 1) throw new LeaseLostError(id);
  }

  async requestCancel(id: string, at: number): Promise<void> {
    if (!isJobId(id)) return;
    await this.#do(() => this.#scripts.jobCancel(this.#key('job', id), String(at), this.#key('events'), id));
  }

  async deleteJob(id: string): Promise<void> {
    if (!isJobId(id)) return;
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await this.#do(() =>
        this.#client.scan(cursor, 'MATCH', `${this.#key('job', id)}:*`, 'COUNT', 1000),
      );
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    await this.#do(() =>
      this.#client
        .multi()
        .srem(this.#key('jobs'), id)
        .del(this.#key('job', id), ...keys)
        .publish(this.#key('events'), `job:${id}`)
        .exec(),
    );
    if (this.#scratch !== null) {
      const dir = await this.#scratch.catch(() => null);
      if (dir !== null) await rm(join(dir, id), { recursive: true, force: true });
    }
  }

  async putJobData(id: string, name: string, text: string): Promise<void> {
    const base = this.#key('job', id, 'data', name);
    const { chunks } = await this.#writeChunks(base, [Buffer.from(text)]);
    await this.#complete(base, chunks, 0, {}, null, `job:${id}`);
  }

  readJobData(id: string, name: string, start = 0): Readable {
    return this.#readChunks(this.#key('job', id, 'data', name), start, `data ${name} of job ${id}`);
  }

  async scratchDir(id: string): Promise<string> {
    this.#scratch ??= mkdtemp(join(tmpdir(), 'sy-jobs-redis-'));
    const dir = join(await this.#scratch, id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  // ---- the journal ----

  journal(id: string, lease: Lease): JournalAppender {
    const owner = this.#key('job', id, 'owner');
    const stream = this.#key('job', id, 'journal');
    let tail: Promise<void> = Promise.resolve();
    return {
      append: (record: unknown) => {
        const text = JSON.stringify(record);
        const next = tail.then(async () => {
          const added = await this.#do(() => this.#scripts.jobAppend(owner, stream, lease.token, text));
          if (added !== 1) throw new LeaseLostError(id);
        });
        tail = next.catch(() => undefined);
        return next;
      },
      close: () => tail,
    };
  }

  async *records(id: string, valid: (record: unknown) => boolean, repair: boolean): AsyncGenerator<unknown> {
    const stream = this.#key('job', id, 'journal');
    let from = '-';
    for (;;) {
      const page = await this.#do(() => this.#client.xrange(stream, from, '+', 'COUNT', RECORDS_PAGE));
      if (page.length === 0) return;
      for (const [entryId, fields] of page) {
        let record: unknown = null;
        try {
          record = fields[0] === 'r' && fields[1] !== undefined ? JSON.parse(fields[1]) : null;
        } catch {
          record = null;
        }
        if (record === null || !valid(record)) {
          // Not written by this store (XADD is atomic); with repair, it and what follows go.
          if (repair) await this.#trimFrom(stream, entryId);
          return;
        }
        yield record;
      }
      from = `(${page[page.length - 1][0]}`;
    }
  }

  async #trimFrom(stream: string, entryId: string): Promise<void> {
    for (;;) {
      const page = await this.#do(() => this.#client.xrange(stream, entryId, '+', 'COUNT', 100));
      if (page.length === 0) return;
      await this.#do(() => this.#client.xdel(stream, ...page.map(([i]) => i)));
    }
  }

  // ---- ownership ----

  async acquire(id: string, owner: string, ttlMs: number): Promise<Lease | null> {
    const token = owner;
    const got = await this.#do(() =>
      this.#scripts.jobAcquire(this.#key('job', id, 'owner'), token, String(Math.ceil(ttlMs))),
    );
    return got === 1 ? { jobId: id, token } : null;
  }

  async renew(lease: Lease, ttlMs: number): Promise<{ held: boolean; cancelAt: number | null }> {
    const [held, cancel] = await this.#do(() =>
      this.#scripts.jobRenew(
        this.#key('job', lease.jobId, 'owner'),
        this.#key('job', lease.jobId),
        lease.token,
        String(Math.ceil(ttlMs)),
      ),
    );
    return { held: held === 1, cancelAt: cancel === '' || cancel === null ? null : Number(cancel) };
  }

  async release(lease: Lease): Promise<void> {
    await this.#do(() => this.#scripts.jobRelease(this.#key('job', lease.jobId, 'owner'), lease.token));
  }

  watch(events: StoreEvents): () => void {
    this.#watchers.add(events);
    if (this.#subscriber === null) {
      const sub = this.#client.duplicate({ enableOfflineQueue: true, lazyConnect: false });
      sub.on('error', () => {});
      sub.on('message', (_channel: string, message: string) => void this.#onMessage(message));
      void sub.subscribe(this.#key('events')).catch(() => undefined);
      this.#subscriber = sub;
    }
    return () => {
      this.#watchers.delete(events);
    };
  }

  async #onMessage(message: string): Promise<void> {
    const at = message.indexOf(':');
    const kind = message.slice(0, at);
    const id = message.slice(at + 1);
    if (kind === 'file') {
      await this.refreshFile(id).catch(() => undefined);
    } else if ((kind === 'job' || kind === 'cancel') && isJobId(id)) {
      for (const w of this.#watchers) w.job(id, kind === 'cancel');
    }
  }

  async close(): Promise<void> {
    const sub = this.#subscriber;
    this.#subscriber = null;
    sub?.disconnect();
    await closeOwnedClient(this.#client);
    if (this.#scratch !== null) {
      const dir = await this.#scratch.catch(() => null);
      if (dir !== null) await rm(dir, { recursive: true, force: true });
    }
  }
}
