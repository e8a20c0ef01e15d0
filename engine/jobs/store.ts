/**
 * Where jobs live on disk, one directory given by the operator (`serve --jobs-dir`):
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
 * memory. Ids are checked against a strict pattern before they become paths.
 */

import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isRecord } from '../shared/guards.js';

export type FilePurpose = 'batch' | 'batch_output';

/** The Files API object (`GET /v1/files/{id}`). */
export interface FileObject {
  readonly id: string;
  readonly object: 'file';
  readonly bytes: number;
  readonly created_at: number;
  readonly expires_at: number | null;
  readonly filename: string;
  readonly purpose: FilePurpose;
  readonly status: 'processed';
  readonly status_details: null;
}

export interface StoredFile {
  readonly file: FileObject;
  /** The tenant that uploaded it (or owns the job that wrote it); null without tenants. */
  readonly owner: string | null;
}

const FILE_ID = /^file-[A-Za-z0-9_-]{1,64}$/;
const JOB_ID = /^(batch|job)_[A-Za-z0-9]{1,64}$/;

export function isFileId(id: string): boolean {
  return FILE_ID.test(id);
}

export function isJobId(id: string): boolean {
  return JOB_ID.test(id);
}

/** A random id: `prefix` then 24 base62-ish characters. */
export function newId(prefix: 'file-' | 'batch_' | 'job_'): string {
  return `${prefix}${randomBytes(18).toString('base64url').replace(/[-_]/g, 'x')}`;
}

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

export class UploadTooLargeError extends Error {
  readonly code = 'SY_UPLOAD_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`the file exceeds ${limit} bytes`);
    this.name = 'UploadTooLargeError';
  }
}

export class JobStore {
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

  /** Every file, oldest first. */
  files(): StoredFile[] {
    return [...this.#files.values()].sort((a, b) => a.file.created_at - b.file.created_at);
  }

  /**
   * Streams `source` into a new file; over `maxBytes` it stops, deletes what it wrote and throws
   * {@link UploadTooLargeError}. The file is listed only once complete.
   */
  async saveUpload(
    source: Readable,
    meta: {
      filename: string;
      purpose: FilePurpose;
      owner: string | null;
      createdAt: number;
      expiresAt: number | null;
    },
    maxBytes: number,
  ): Promise<StoredFile> {
    const id = newId('file-');
    const data = this.dataPath(id);
    const tmp = `${data}.tmp`;
    let bytes = 0;
    const counter = async function* (chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      for await (const chunk of chunks) {
        bytes += chunk.length;
        if (bytes > maxBytes) throw new UploadTooLargeError(maxBytes);
        yield chunk;
      }
    };
    try {
      await pipeline(source, counter, createWriteStream(tmp, { mode: 0o600 }));
      await rename(tmp, data);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    return this.#addFile(id, bytes, meta);
  }

  /** Makes `tmpPath` (written by the caller) a stored file, e.g. a job's output. */
  async adoptFile(
    id: string,
    tmpPath: string,
    meta: {
      filename: string;
      purpose: FilePurpose;
      owner: string | null;
      createdAt: number;
      expiresAt: number | null;
    },
  ): Promise<StoredFile> {
    const data = this.dataPath(id);
    await rename(tmpPath, data);
    const { size } = await stat(data);
    return this.#addFile(id, size, meta);
  }

  async #addFile(
    id: string,
    bytes: number,
    meta: {
      filename: string;
      purpose: FilePurpose;
      owner: string | null;
      createdAt: number;
      expiresAt: number | null;
    },
  ): Promise<StoredFile> {
    const stored: StoredFile = {
      file: {
        id,
        object: 'file',
        bytes,
        created_at: meta.createdAt,
        expires_at: meta.expiresAt,
        filename: meta.filename,
        purpose: meta.purpose,
        status: 'processed',
        status_details: null,
      },
      owner: meta.owner,
    };
    await writeFileAtomic(join(this.dir, 'files', `${id}.json`), `${JSON.stringify(stored)}\n`);
    this.#files.set(id, stored);
    return stored;
  }

  async deleteFile(id: string): Promise<void> {
    if (!isFileId(id)) return;
    this.#files.delete(id);
    // Metadata first: a crash between the two leaves an unlisted data file, never a listed
    // file without data.
    await rm(join(this.dir, 'files', `${id}.json`), { force: true });
    await rm(this.dataPath(id), { force: true });
  }

  /** The saved state of every job (unreadable ones are skipped and reported). */
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

  async saveJob(id: string, state: unknown): Promise<void> {
    const dir = this.jobDir(id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(dir, 'job.json'), `${JSON.stringify(state)}\n`);
  }

  async deleteJob(id: string): Promise<void> {
    await rm(this.jobDir(id), { recursive: true, force: true });
  }
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
