/**
 * The runner's view of the jobs it knows: every job in the store (a shared store's jobs are kept
 * current from its events and a periodic reload), for the synchronous reads of the HTTP layer
 * (`GET /v1/batches`, metrics). The jobs this runner works on are the objects its runs update.
 */

import { type JobRecord, type JobStatus, TERMINAL } from './job.js';
import type { JobStorage } from './storage.js';
import type { JobLog } from './work.js';

export interface JobPage {
  readonly data: readonly JobRecord[];
  readonly hasMore: boolean;
}

export class JobView {
  readonly #jobs = new Map<string, JobRecord>();

  has(id: string): boolean {
    return this.#jobs.has(id);
  }

  peek(id: string): JobRecord | undefined {
    return this.#jobs.get(id);
  }

  set(job: JobRecord): void {
    this.#jobs.set(job.id, job);
  }

  delete(id: string): void {
    this.#jobs.delete(id);
  }

  all(): IterableIterator<JobRecord> {
    return this.#jobs.values();
  }

  /** The job, when `owner` may see it (another tenant's job does not exist for it). */
  get(id: string, owner: string | null, kind?: JobRecord['kind']): JobRecord | null {
    const job = this.#jobs.get(id);
    if (job === undefined || job.owner !== owner) return null;
    return kind === undefined || job.kind === kind ? job : null;
  }

  /** Jobs of `owner` and `kind`, newest first, after the job `after` (a cursor). */
  list(owner: string | null, kind: JobRecord['kind'], after: string | null, limit: number): JobPage {
    const mine = [...this.#jobs.values()]
      .filter((j) => j.owner === owner && j.kind === kind)
      .sort((a, b) => b.created_at - a.created_at || (a.id < b.id ? 1 : -1));
    let from = 0;
    if (after !== null) {
      const at = mine.findIndex((j) => j.id === after);
      from = at < 0 ? mine.length : at + 1;
    }
    const data = mine.slice(from, from + limit);
    return { data, hasMore: from + limit < mine.length };
  }

  /** Jobs not finished yet. */
  activeCount(): number {
    let n = 0;
    for (const j of this.#jobs.values()) if (!TERMINAL.has(j.status)) n++;
    return n;
  }

  /** Jobs by status (metrics). */
  statusCounts(): Partial<Record<JobStatus, number>> {
    const out: Partial<Record<JobStatus, number>> = {};
    for (const j of this.#jobs.values()) out[j.status] = (out[j.status] ?? 0) + 1;
    return out;
  }

  /** The file is the input of a job that has not finished. */
  fileInUse(id: string): boolean {
    for (const j of this.#jobs.values()) if (j.input_file_id === id && !TERMINAL.has(j.status)) return true;
    return false;
  }

  /** Deletes finished jobs created before `cutoff`, and expired files no kept job uses. */
  async sweep(store: JobStorage, now: number, cutoff: number, log: JobLog): Promise<void> {
    const inUse = new Set<string>();
    for (const j of this.#jobs.values()) {
      if (TERMINAL.has(j.status) && j.created_at < cutoff) {
        this.#jobs.delete(j.id);
        await store
          .deleteJob(j.id)
          .catch((err: unknown) => log.warn({ job: j.id, err }, 'could not delete an expired job'));
        continue;
      }
      for (const f of [j.input_file_id, j.output_file_id, j.error_file_id]) if (f !== null) inUse.add(f);
    }
    for (const { file } of store.files()) {
      if (inUse.has(file.id)) continue;
      if (file.expires_at !== null ? file.expires_at <= now : file.created_at < cutoff) {
        await store
          .deleteFile(file.id)
          .catch((err: unknown) => log.warn({ file: file.id, err }, 'could not delete an expired file'));
      }
    }
  }
}
