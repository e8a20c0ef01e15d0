/**
 * The port every job reads and writes through (the runner never builds a path): files (uploads,
 * output and error files), job metadata, a job's data (a deferred request's body), its journal,
 * and the ownership of a running job (a lease). Two implementations pass one conformance suite
 * (test/unit/jobs/storage-conformance.test.ts): the disk store (store.ts, `serve --jobs-dir`)
 * and the Redis store (redis-store.ts, `serve --jobs-redis`), which replicas share.
 *
 * Reads the HTTP layer makes synchronously (`getFile`, `files`) answer from an index the store
 * keeps in memory; a shared store keeps it current with what other replicas write (events) and
 * `refreshFile` reads one file through when it must not be missed.
 */

import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';

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

export interface FileMeta {
  readonly filename: string;
  readonly purpose: FilePurpose;
  readonly owner: string | null;
  readonly createdAt: number;
  readonly expiresAt: number | null;
}

/** The right to run one job, held by one runner at a time (a shared store: until `ttlMs` passes unrenewed). */
export interface Lease {
  readonly jobId: string;
  readonly token: string;
}

/** Appends records to one job's journal, in order; each append is whole or absent. */
export interface JournalAppender {
  /** Rejects with {@link LeaseLostError} when the lease is no longer held (nothing is appended). */
  append(record: unknown): Promise<void>;
  /** Waits for pending appends and makes them durable. */
  close(): Promise<void>;
}

/** What a shared store tells its runner that other replicas did. */
export interface StoreEvents {
  /** A job was saved or deleted (`cancel` false), or a cancel of it was asked (`cancel` true). */
  job(id: string, cancel: boolean): void;
}

export interface JobStorage {
  /** Other processes use the same store: leases matter, and the runner looks for orphaned jobs. */
  readonly shared: boolean;
  /** False while the store cannot be reached (a shared store's server is down). */
  readonly available: boolean;

  // ---- files ----
  getFile(id: string): StoredFile | null;
  /** Every file, oldest first. */
  files(): StoredFile[];
  /** Reads one file's metadata from the store itself (a file another replica just wrote). */
  refreshFile(id: string): Promise<StoredFile | null>;
  /**
   * Streams `source` into a new file; over `maxBytes` it stops, deletes what it wrote and throws
   * {@link UploadTooLargeError}. The file is listed only once complete.
   */
  saveUpload(source: Readable, meta: FileMeta, maxBytes: number): Promise<StoredFile>;
  /** Makes `tmpPath` (a local file the caller wrote in {@link scratchDir}) the stored file `id`. */
  adoptFile(id: string, tmpPath: string, meta: FileMeta): Promise<StoredFile>;
  /** The file's bytes from byte `start` on (0 by default); an absent file is an error of the stream. */
  readFile(id: string, start?: number): Readable;
  deleteFile(id: string): Promise<void>;

  // ---- jobs ----
  /** The saved state of every job (unreadable ones are skipped and reported). */
  loadJobs(onBad: (id: string, err: unknown) => void): Promise<unknown[]>;
  /** One job's saved state with a cancel asked elsewhere applied, or null. */
  loadJob(id: string): Promise<unknown>;
  /** Saves the state; with a lease, only while it is held ({@link LeaseLostError} otherwise). */
  saveJob(id: string, state: unknown, lease?: Lease | null): Promise<void>;
  /** Asks the job's owner (wherever it runs) to cancel it. */
  requestCancel(id: string, at: number): Promise<void>;
  /** Deletes the job with its data and journal. */
  deleteJob(id: string): Promise<void>;
  /** Keeps small job data (a deferred request's body). */
  putJobData(id: string, name: string, text: string): Promise<void>;
  readJobData(id: string, name: string, start?: number): Readable;
  /** A local directory for a job's temporary files (output files being written, native batch input). */
  scratchDir(id: string): Promise<string>;

  // ---- the journal ----
  /** An appender for the job's journal, writing only while `lease` is held. */
  journal(id: string, lease: Lease): JournalAppender;
  /**
   * The journal's records in order, up to the first one that is torn or not `valid`; with
   * `repair`, what follows it is removed (a crash mid-write), so appends continue after it.
   */
  records(id: string, valid: (record: unknown) => boolean, repair: boolean): AsyncGenerator<unknown>;

  // ---- ownership ----
  /** Takes the job's lease for `owner` (or renews it when `owner` holds it); null when another holds it. */
  acquire(id: string, owner: string, ttlMs: number): Promise<Lease | null>;
  /** Extends a held lease; `held: false` once it was lost. `cancelAt`: a cancel asked elsewhere. */
  renew(lease: Lease, ttlMs: number): Promise<{ held: boolean; cancelAt: number | null }>;
  release(lease: Lease): Promise<void>;

  /** Subscribes to what other replicas do (a shared store); returns the unsubscribe. */
  watch(events: StoreEvents): () => void;
  close(): Promise<void>;
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

export function storedFile(id: string, bytes: number, meta: FileMeta): StoredFile {
  return {
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
}

/** Counts the bytes of a stream, failing it past `maxBytes` with {@link UploadTooLargeError}. */
export function byteLimit(maxBytes: number, counted: (bytes: number) => void) {
  let bytes = 0;
  return async function* limit(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      bytes += chunk.length;
      if (bytes > maxBytes) throw new UploadTooLargeError(maxBytes);
      counted(bytes);
      yield chunk;
    }
  };
}

export class UploadTooLargeError extends Error {
  readonly code = 'SY_UPLOAD_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`the file exceeds ${limit} bytes`);
    this.name = 'UploadTooLargeError';
  }
}

/** The job's lease is held by another runner (or expired): the write was not made. */
export class LeaseLostError extends Error {
  readonly code = 'SY_JOB_LEASE_LOST';
  constructor(readonly jobId: string) {
    super(`the lease of job ${jobId} is not held any more`);
    this.name = 'LeaseLostError';
  }
}

/** The job store cannot be reached (Redis down); the HTTP layer answers 503 `job_store_unavailable`. */
export class JobStoreUnavailableError extends Error {
  readonly code = 'SY_JOB_STORE_UNAVAILABLE';
  constructor(detail: string) {
    super(`the job store is unavailable: ${detail}`);
    this.name = 'JobStoreUnavailableError';
  }
}
