/**
 * Ending a job: the output file (2xx answers) and the error file (other answers, and every
 * request that never ran), each `custom_id` once, then the final status. Idempotent: a crash
 * during it redoes it on the next start (the file ids are derived from the job's).
 */

import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { jobLines, MAX_CUSTOM_ID } from './input.js';
import type { JobRecord } from './job.js';
import { Bitset, journalRecords } from './journal.js';
import { notRunLine, type OutputLine } from './output.js';
import { inputSource, type Run, type WorkContext } from './work.js';

export type Ending = 'completed' | 'cancelled' | 'expired';

export async function finalize(ctx: WorkContext, run: Run, ending: Ending): Promise<void> {
  const { job } = run;
  const now = ctx.now();
  if (ending === 'expired' && job.expired_at === null) job.expired_at = now;
  if (job.status !== 'cancelling') {
    job.status = 'finalizing';
    job.finalizing_at ??= now;
  }
  await ctx.save(job, run.lease);
  // A deferred request's one answer is read from its journal (GET /v1/jobs/{id}): no files.
  if (job.kind === 'batch') await writeResultFiles(ctx, job, ending);
  const end = ctx.now();
  if (ending === 'completed') {
    job.status = 'completed';
    job.completed_at = end;
  } else if (ending === 'cancelled') {
    job.status = 'cancelled';
    job.cancelled_at = end;
  } else {
    job.status = 'expired';
  }
  await ctx.save(job, run.lease);
  ctx.log.info(
    { job: job.id, status: job.status, completed: job.completed, failed: job.failed, total: job.total },
    'job finished',
  );
}

/** The output file (2xx answers) and the error file (the rest, and what never ran). */
async function writeResultFiles(ctx: WorkContext, job: JobRecord, ending: Ending): Promise<void> {
  const dir = await ctx.store.scratchDir(job.id);
  const suffix = job.id.slice(job.id.indexOf('_') + 1);
  const outTmp = join(dir, 'output.jsonl.tmp');
  const errTmp = join(dir, 'errors.jsonl.tmp');
  const out = createWriteStream(outTmp, { mode: 0o600 });
  const err = createWriteStream(errTmp, { mode: 0o600 });
  let outLines = 0;
  let errLines = 0;
  const write = async (stream: WriteStream, line: OutputLine): Promise<void> => {
    // `once` rejects on 'error' (a full disk), so a failed write cannot wait forever.
    if (!stream.write(`${JSON.stringify(line)}\n`)) await once(stream, 'drain');
  };
  try {
    const written = new Bitset(job.total);
    for await (const record of journalRecords(ctx.store, job.id)) {
      if (written.has(record.i)) continue;
      written.add(record.i);
      if (record.ok) {
        outLines++;
        await write(out, record.out);
      } else {
        errLines++;
        await write(err, record.out);
      }
    }
    if (ending !== 'completed') {
      const code = ending === 'cancelled' ? 'batch_cancelled' : 'batch_expired';
      for await (const parsed of jobLines(inputSource(ctx.store, job), job.endpoint)) {
        if (!parsed.ok || written.has(parsed.line.index)) continue;
        written.add(parsed.line.index);
        errLines++;
        await write(
          err,
          notRunLine(job.id, parsed.line.index, parsed.line.customId.slice(0, MAX_CUSTOM_ID), code),
        );
      }
    }
    out.end();
    err.end();
    await Promise.all([finished(out), finished(err)]);
    const meta = (name: string) => ({
      filename: name,
      purpose: 'batch_output' as const,
      owner: job.owner,
      createdAt: ctx.now(),
      expiresAt: null,
    });
    if (outLines > 0) {
      const id = `file-${suffix}-output`;
      await ctx.store.adoptFile(id, outTmp, meta(`${job.id}_output.jsonl`));
      job.output_file_id = id;
    }
    if (errLines > 0) {
      const id = `file-${suffix}-errors`;
      await ctx.store.adoptFile(id, errTmp, meta(`${job.id}_errors.jsonl`));
      job.error_file_id = id;
    }
  } finally {
    out.destroy();
    err.destroy();
    await Promise.all([rm(outTmp, { force: true }), rm(errTmp, { force: true })]);
  }
}
