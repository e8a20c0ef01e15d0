/**
 * The Files API, for batch input and output: `POST /v1/files` (multipart upload, purpose
 * `batch`), `GET /v1/files`, `GET /v1/files/{id}`, `GET /v1/files/{id}/content`,
 * `DELETE /v1/files/{id}`. A file belongs to the tenant that uploaded it (or whose job wrote it).
 *
 * Uploads are streamed to disk, bounded by the policy's `jobs.maxFileSize`; one over it is
 * refused with 413 and nothing is kept. The multipart parser is registered in this plugin's
 * scope only, so no other route accepts multipart bodies.
 */

import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import { jobs } from '../../engine/index.js';
import { sendApiError } from '../errors.js';
import { callerOf, type JobsContext } from '../jobs.js';
import { lingerOnClose } from '../linger.js';

export interface FileRoutesOptions {
  ctx: JobsContext;
}

/** Purposes this gateway stores (batch input); output files are written by jobs themselves. */
const UPLOAD_PURPOSES = ['batch'];

/** Files expire this long after upload, as the Batch API's input files do (30 days). */
const FILE_TTL_S = 30 * 24 * 3600;

/** A file name as shown back: no path, no control characters, bounded. */
function cleanFilename(name: string | undefined): string {
  const base = (name ?? 'upload.jsonl').split(/[\\/]/).pop() ?? '';
  const cleaned = base.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 255);
  return cleaned === '' ? 'upload.jsonl' : cleaned;
}

function listLimit(value: unknown, fallback: number, max: number): number | null {
  if (value === undefined) return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 && n <= max ? n : null;
}

export async function fileRoutes(app: FastifyInstance, options: FileRoutesOptions): Promise<void> {
  const { ctx } = options;
  // Limits are given per request (the policy's maxFileSize can change on reload).
  await app.register(multipart, { throwFileSizeLimit: false });

  app.post('/v1/files', async (request, reply) => {
    const caller = callerOf(ctx, request, reply);
    if (caller === null) return reply;
    if (!request.isMultipart()) {
      return sendApiError(reply, 'invalid_request', {
        detail: 'Upload the file as multipart/form-data with the fields "file" and "purpose".',
      });
    }
    const maxBytes = ctx.manager.engine?.policy.jobs.maxFileBytes ?? 100 * 1024 * 1024;
    let purpose: string | null = null;
    let saved: jobs.StoredFile | null = null;
    const now = Math.floor(Date.now() / 1000);
    try {
      const parts = request.parts({
        // One byte over the limit reaches the store, which refuses it (busboy alone truncates silently).
        limits: { fileSize: maxBytes + 1, files: 1, fields: 8, fieldSize: 1024, parts: 10 },
      });
      for await (const part of parts) {
        if (part.type === 'field') {
          if (part.fieldname === 'purpose') purpose = String(part.value);
          continue;
        }
        if (part.fieldname !== 'file' || saved !== null) {
          part.file.resume();
          continue;
        }
        saved = await caller.store.saveUpload(
          part.file,
          {
            filename: cleanFilename(part.filename),
            purpose: 'batch',
            owner: caller.tenant,
            createdAt: now,
            expiresAt: now + FILE_TTL_S,
          },
          maxBytes,
        );
      }
    } catch (err) {
      if (saved !== null) await caller.store.deleteFile(saved.file.id);
      if (!request.raw.complete) {
        reply.header('connection', 'close');
        lingerOnClose(request.raw.socket);
      }
      if (err instanceof jobs.UploadTooLargeError) {
        return sendApiError(reply, 'file_too_large', { limit: String(maxBytes) });
      }
      if (err instanceof jobs.JobStoreUnavailableError) return sendApiError(reply, 'job_store_unavailable');
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('FST_')) {
        return sendApiError(reply, 'invalid_request', {
          detail: `The multipart body could not be read: ${(err as Error).message}`,
        });
      }
      request.log.error({ err }, 'upload failed');
      return sendApiError(reply, 'internal_error');
    }
    if (saved === null) {
      return sendApiError(reply, 'invalid_request', { detail: 'The upload has no "file" part.' }, 'file');
    }
    if (purpose === null || !UPLOAD_PURPOSES.includes(purpose)) {
      await caller.store.deleteFile(saved.file.id);
      return sendApiError(
        reply,
        'invalid_request',
        {
          detail:
            purpose === null
              ? 'The upload needs a "purpose" field; this gateway stores files with purpose "batch".'
              : `This gateway stores files with purpose "batch" only (got ${JSON.stringify(purpose.slice(0, 40))}).`,
        },
        'purpose',
      );
    }
    return saved.file;
  });

  app.get('/v1/files', async (request, reply) => {
    const caller = callerOf(ctx, request, reply);
    if (caller === null) return reply;
    const query = request.query as Record<string, unknown>;
    const limit = listLimit(query.limit, 10_000, 10_000);
    if (limit === null) {
      return sendApiError(
        reply,
        'invalid_request',
        { detail: 'limit must be an integer from 1 to 10000.' },
        'limit',
      );
    }
    const order = query.order ?? 'desc';
    if (order !== 'asc' && order !== 'desc') {
      return sendApiError(reply, 'invalid_request', { detail: 'order must be asc or desc.' }, 'order');
    }
    let mine = caller.store.files().filter((f) => f.owner === caller.tenant);
    if (typeof query.purpose === 'string') mine = mine.filter((f) => f.file.purpose === query.purpose);
    if (order === 'desc') mine.reverse();
    let from = 0;
    if (typeof query.after === 'string') {
      const at = mine.findIndex((f) => f.file.id === query.after);
      from = at < 0 ? mine.length : at + 1;
    }
    const data = mine.slice(from, from + limit).map((f) => f.file);
    return {
      object: 'list',
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: from + limit < mine.length,
    };
  });

  app.get('/v1/files/:id', async (request, reply) => {
    const caller = callerOf(ctx, request, reply);
    if (caller === null) return reply;
    const { id } = request.params as { id: string };
    const file = caller.runner.file(id, caller.tenant);
    if (file === null) return sendApiError(reply, 'file_not_found', { id: id.slice(0, 100) });
    return file.file;
  });

  app.get('/v1/files/:id/content', async (request, reply) => {
    const caller = callerOf(ctx, request, reply);
    if (caller === null) return reply;
    const { id } = request.params as { id: string };
    const file = caller.runner.file(id, caller.tenant);
    if (file === null) return sendApiError(reply, 'file_not_found', { id: id.slice(0, 100) });
    return reply
      .type('application/octet-stream')
      .header('content-length', String(file.file.bytes))
      .header(
        'content-disposition',
        `attachment; filename="${file.file.filename.replace(/[^\x20-\x7e]|["\\]/g, '_')}"`,
      )
      .send(caller.store.readFile(id));
  });

  app.delete('/v1/files/:id', async (request, reply) => {
    const caller = callerOf(ctx, request, reply);
    if (caller === null) return reply;
    const { id } = request.params as { id: string };
    const file = caller.runner.file(id, caller.tenant);
    if (file === null) return sendApiError(reply, 'file_not_found', { id: id.slice(0, 100) });
    if (caller.runner.fileInUse(id)) return sendApiError(reply, 'file_in_use', { id });
    await caller.store.deleteFile(id);
    return { id, object: 'file', deleted: true };
  });
}
