/**
 * The disk job store (`serve --jobs-dir`): one directory given by the operator, used by one
 * gateway process (it is not shared: leases are trivially held).
 *
 * ```
 * <dir>/files/<file-id>.data      an uploaded file, or a job's output or error file
 * <dir>/files/<file-id>.json      its metadata (the Files API object, plus its owner)
 * <dir>/jobs/<job-id>/job.json    a batch or deferred request: status, timestamps, counts
 * <dir>/jobs/<job-id>/journal.jsonl  its progress journal (journal.ts)
 * <dir>/jobs/<job-id>/input.jsonl    a deferred request's body (batches read their input file)
 * ```
 *
 * Metadata is replaced atomically (written to a temporary file, flushed, renamed), so a crash
 * leaves the old version or the new one, never a mix. Content is streamed to disk, never held in
 * memory. Ids are checked against a strict pattern before they become paths. The journal is
 * appended one whole line per write; a crash can tear only its last line, which `records` with
 * `repair` cuts off.
 */

import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isRecord } from '../shared/guards.js';
import { JournalWriter, jsonLines } from './journal.js';
import {
  byteLimit,
  type FileMeta,
  isFileId,
  isJobId,
  type JobStorage,
  type JournalAppender,
  type Lease,
  newId,
  type StoredFile,
  storedFile,
} from './storage.js';

export {
  type FileObject,
  type FilePurpose,
  isFileId,
  isJobId,
  newId,
  type StoredFile,
  UploadTooLargeError,
} from './storage.js';

/**
 * Replaces `path` atomically. Written by hand (a dozen lines) rather than with
 * `write-file-atomic`: it needs the flush before the rename and nothing else.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

export class JobStore implements JobStorage {
  readonly shared = false;
  readonly available = true;
  readonly #files = new Map<string, StoredFile>();

  private constructor(readonly dir: string) {}

  /** Opens (creating) the directory and reads the file index; temporary leftovers are removed. */
  static async open(dir: string): Promise<JobStore> {
    const store = new JobStore(dir);
    await mkdir(join(dir, 'files'), { recursive: true, mode: 0o700 });
    await mkdir(join(dir, 'jobs'), { recursive: true, mode: 0o700 });
    for (const name of await readdir(join(dir, 'files'))) {
      if (name.endsWith('.tmp')) {
        await unlink(join(dir, 'files', name)).catch(() => undefined);
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const id = name.slice(0, -'.json'.length);
      if (!isFileId(id)) continue;
      const stored = await readJson(join(dir, 'files', name));
      if (isStoredFile(stored) && stored.file.id === id) store.#files.set(id, stored);
    }
    return store;
  }

  dataPath(id: string): string {
    if (!isFileId(id)) throw new Error(`not a file id: ${id}`);
    return join(this.dir, 'files', `${id}.data`);
  }

  jobDir(id: string): string {
    if (!isJobId(id)) throw new Error(`not a job id: ${id}`);
    return join(this.dir, 'jobs', id);
  }

  getFile(id: string): StoredFile | null {
    return isFileId(id) ? (this.#files.get(id) ?? null) : null;
  }

  files(): StoredFile[] {
    return [...this.#files.values()].sort((a, b) => a.file.created_at - b.file.created_at);
  }

  async refreshFile(id: string): Promise<StoredFile | null> {
    return this.getFile(id);
  }

  async saveUpload(source: Readable, meta: FileMeta, maxBytes: number): Promise<StoredFile> {
    const id = newId('file-');
    const data = this.dataPath(id);
    const tmp = `${data}.tmp`;
    let bytes = 0;
    try {
      await pipeline(
        source,
        byteLimit(maxBytes, (n) => {
          bytes = n;
        }),
        createWriteStream(tmp, { mode: 0o600 }),
      );
      await rename(tmp, data);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    return this.#addFile(id, bytes, meta);
  }

  async adoptFile(id: string, tmpPath: string, meta: FileMeta): Promise<StoredFile> {
    const data = this.dataPath(id);
    await rename(tmpPath, data);
    const { size } = await stat(data);
    return this.#addFile(id, size, meta);
  }

  async #addFile(id: string, bytes: number, meta: FileMeta): Promise<StoredFile> {
    const stored = storedFile(id, bytes, meta);
    await writeFileAtomic(join(this.dir, 'files', `${id}.json`), `${JSON.stringify(stored)}\n`);
    this.#files.set(id, stored);
    return stored;
  }

  readFile(id: string, start = 0): Readable {
    return createReadStream(this.dataPath(id), { start, highWaterMark: 64 * 1024 });
  }

  async deleteFile(id: string): Promise<void> {
    if (!isFileId(id)) return;
    this.#files.delete(id);
    // Metadata first: a crash between the two leaves an unlisted data file, never a listed
    // file without data.
    await rm(join(this.dir, 'files', `${id}.json`), { force: true });
    await rm(this.dataPath(id), { force: true });
  }

  async loadJobs(onBad: (id: string, err: unknown) => void): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const id of await readdir(join(this.dir, 'jobs'))) {
      if (!isJobId(id)) continue;
      try {
        out.push(JSON.parse(await readFile(join(this.jobDir(id), 'job.json'), 'utf8')));
      } catch (err) {
        onBad(id, err);
      }
    }
    return out;
  }

  async loadJob(id: string): Promise<unknown> {
    return isJobId(id) ? readJson(join(this.jobDir(id), 'job.json')) : null;
  }

  async saveJob(id: string, state: unknown): Promise<void> {
    const dir = this.jobDir(id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(dir, 'job.json'), `${JSON.stringify(state)}\n`);
  }

  /** One process: the runner cancels a job it runs itself; this marks one it does not run. */
  async requestCancel(id: string, at: number): Promise<void> {
    const state = await this.loadJob(id);
    if (!isRecord(state) || (state.status !== 'validating' && state.status !== 'in_progress')) return;
    await this.saveJob(id, { ...state, status: 'cancelling', cancelling_at: at });
  }

  async deleteJob(id: string): Promise<void> {
    await rm(this.jobDir(id), { recursive: true, force: true });
  }

  async putJobData(id: string, name: string, text: string): Promise<void> {
    const dir = this.jobDir(id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(join(dir, dataName(name)), text, { mode: 0o600 });
  }

  readJobData(id: string, name: string, start = 0): Readable {
    return createReadStream(join(this.jobDir(id), dataName(name)), { start, highWaterMark: 64 * 1024 });
  }

  async scratchDir(id: string): Promise<string> {
    const dir = this.jobDir(id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  journal(id: string, _lease: Lease): JournalAppender {
    return new JournalWriter(join(this.jobDir(id), 'journal.jsonl'));
  }

  records(id: string, valid: (record: unknown) => boolean, repair: boolean): AsyncGenerator<unknown> {
    return jsonLines(join(this.jobDir(id), 'journal.jsonl'), valid, repair);
  }

  async acquire(id: string, owner: string): Promise<Lease | null> {
    return { jobId: id, token: owner };
  }

  async renew(): Promise<{ held: boolean; cancelAt: number | null }> {
    return { held: true, cancelAt: null };
  }

  async release(): Promise<void> {}

  watch(): () => void {
    return () => {};
  }

  async close(): Promise<void> {}
}

/** Job data names are the store's own (`input.jsonl`), never a caller's; checked anyway. */
function dataName(name: string): string {
  if (!/^[a-z][a-z0-9.-]{0,40}$/.test(name)) throw new Error(`not a job data name: ${name}`);
  return name;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
}

function isStoredFile(v: unknown): v is StoredFile {
  return (
    isRecord(v) &&
    isRecord(v.file) &&
    typeof v.file.id === 'string' &&
    typeof v.file.bytes === 'number' &&
    (v.owner === null || typeof v.owner === 'string')
  );
}
