/**
 * The Files API, for batch input and output: `POST /v1/files` (multipart upload, purpose
 * `batch`), `GET /v1/files`, `GET /v1/files/{id}`, `GET /v1/files/{id}/content`,
 * `DELETE /v1/files/{id}`. A file belongs to the tenant that uploaded it (or whose job wrote it).
 *
 * Uploads are streamed to disk, bounded by the policy's `jobs.maxFileSize`; one over it is
 * refused with 413 and nothing is kept. Only `POST /v1/files` accepts a multipart body; its parts
 * are read with busboy as they arrive.
 */

import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { BusboyConfig, BusboyConstructor, BusboyInstance } from '@fastify/busboy';
import type { jobs } from '../../engine/index.js';
import { JobStoreUnavailableError, UploadTooLargeError } from '../../engine/serving.js';
import { sendApiError } from '../errors.js';
import { type HttpRequest, mediaType, type Routes } from '../http.js';
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

/** A multipart body that cannot be read (malformed, or over a part limit). */
class MultipartError extends Error {}

interface Upload {
  purpose: string | null;
  saved: jobs.StoredFile | null;
}

/**
 * Reads a multipart upload as it arrives: the `purpose` field, and the first `file` part handed
 * to `save` (which streams it to disk); other parts are drained. Rejects with a
 * {@link MultipartError} for a malformed body or one over the part limits, with what `save`
 * threw otherwise; a file saved before a failure is deleted again.
 */
/** busboy, loaded by the first upload (a server without uploads never loads it). */
let loadBusboy: Promise<BusboyConstructor> | null = null;

async function receiveUpload(
  raw: IncomingMessage,
  maxBytes: number,
  save: (file: Readable, filename: string) => Promise<jobs.StoredFile>,
  discard: (saved: jobs.StoredFile) => Promise<void>,
): Promise<Upload> {
  loadBusboy ??= import('@fastify/busboy').then((m) => m.Busboy);
  const Busboy = await loadBusboy;
  return new Promise((resolve, reject) => {
    let parser: BusboyInstance;
    try {
      parser = Busboy({
        headers: raw.headers as BusboyConfig['headers'],
        // One byte over the limit reaches the store, which refuses it (busboy alone truncates silently).
        limits: { fileSize: maxBytes + 1, files: 1, fields: 8, fieldSize: 1024, parts: 10 },
      });
    } catch (err) {
      reject(new MultipartError(err instanceof Error ? err.message : String(err)));
      return;
    }
    const upload: Upload = { purpose: null, saved: null };
    let saving: Promise<jobs.StoredFile> | null = null;
    let file: Readable | null = null;
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      raw.unpipe(parser);
      file?.destroy();
      const settled = saving === null ? Promise.resolve() : saving.then(discard, () => undefined);
      void settled.then(() => reject(err));
    };
    parser.on('field', (name, value) => {
      if (name === 'purpose') upload.purpose = value;
    });
    parser.on('file', (name, stream, filename) => {
      if (name !== 'file' || saving !== null || failed) {
        stream.resume();
        return;
      }
      file = stream;
      saving = save(stream, filename);
      saving.catch(fail);
    });
    parser.on('partsLimit', () => fail(new MultipartError('reach parts limit')));
    parser.on('filesLimit', () => fail(new MultipartError('reach files limit')));
    parser.on('fieldsLimit', () => fail(new MultipartError('reach fields limit')));
    parser.on('error', (err: unknown) =>
      fail(new MultipartError(err instanceof Error ? err.message : String(err))),
    );
    parser.on('finish', () => {
      if (failed) return;
      if (saving === null) {
        resolve(upload);
        return;
      }
      saving.then((saved) => {
        if (failed) return;
        upload.saved = saved;
        resolve(upload);
      }, fail);
    });
    raw.on('error', fail);
    raw.pipe(parser);
  });
}

/**
 * Streams a file from the job store as the answer. Headers go out with the first chunk (or the
 * end of an empty file), so a file that cannot be read at all is still a clean error: 503 when
 * the store (Redis) is unreachable, else 500. One that fails while being sent cuts the response,
 * so the client sees it short of its length.
 */
function sendFile(request: HttpRequest, stream: Readable, headers: Record<string, string>): void {
  const res = request.res;
  const start = (): void => {
    if (!res.headersSent) res.writeHead(200, { ...headers, 'x-request-id': request.id });
  };
  stream.on('data', (chunk: Buffer) => {
    start();
    if (!res.write(chunk)) stream.pause();
  });
  res.on('drain', () => stream.resume());
  stream.once('end', () => {
    start();
    res.end();
  });
  stream.once('error', (err) => {
    if (res.headersSent) {
      res.destroy(err);
      return;
    }
    if (err instanceof JobStoreUnavailableError) {
      sendApiError(request, 'job_store_unavailable');
      return;
    }
    request.log.error({ err }, 'file read failed');
    sendApiError(request, 'internal_error');
  });
  // A client that goes away stops the read.
  res.once('close', () => stream.destroy());
}

export function fileRoutes(routes: Routes, options: FileRoutesOptions): void {
  const { ctx } = options;

  routes.add('POST', '/v1/files', {
    multipart: true,
    handler: async (request: HttpRequest) => {
      const caller = callerOf(ctx, request);
      if (caller === null) return;
      const contentType = request.headers['content-type'];
      if (contentType === undefined || mediaType(contentType) !== 'multipart/form-data') {
        return sendApiError(request, 'invalid_request', {
          detail: 'Upload the file as multipart/form-data with the fields "file" and "purpose".',
        });
      }
      const maxBytes = ctx.manager.engine?.policy.jobs.maxFileBytes ?? 100 * 1024 * 1024;
      const now = Math.floor(Date.now() / 1000);
      let upload: Upload;
      try {
        upload = await receiveUpload(
          request.raw,
          maxBytes,
          (file, filename) =>
            caller.store.saveUpload(
              file,
              {
                filename: cleanFilename(filename),
                purpose: 'batch',
                owner: caller.tenant,
                createdAt: now,
                expiresAt: now + FILE_TTL_S,
              },
              maxBytes,
            ),
          (saved) => caller.store.deleteFile(saved.file.id),
        );
      } catch (err) {
        if (!request.raw.complete) {
          request.res.setHeader('connection', 'close');
          lingerOnClose(request.raw.socket);
        }
        if (err instanceof UploadTooLargeError) {
          return sendApiError(request, 'file_too_large', { limit: String(maxBytes) });
        }
        if (err instanceof JobStoreUnavailableError) return sendApiError(request, 'job_store_unavailable');
        if (err instanceof MultipartError) {
          return sendApiError(request, 'invalid_request', {
            detail: `The multipart body could not be read: ${err.message}`,
          });
        }
        request.log.error({ err }, 'upload failed');
        return sendApiError(request, 'internal_error');
      }
      const { purpose, saved } = upload;
      if (saved === null) {
        return sendApiError(request, 'invalid_request', { detail: 'The upload has no "file" part.' }, 'file');
      }
      if (purpose === null || !UPLOAD_PURPOSES.includes(purpose)) {
        await caller.store.deleteFile(saved.file.id);
        return sendApiError(
          request,
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
    },
  });

  routes.add('GET', '/v1/files', {
    handler: async (request: HttpRequest) => {
      const caller = callerOf(ctx, request);
      if (caller === null) return;
      const query = request.query();
      const limit = listLimit(query.limit, 10_000, 10_000);
      if (limit === null) {
        return sendApiError(
          request,
          'invalid_request',
          { detail: 'limit must be an integer from 1 to 10000.' },
          'limit',
        );
      }
      const order = query.order ?? 'desc';
      if (order !== 'asc' && order !== 'desc') {
        return sendApiError(request, 'invalid_request', { detail: 'order must be asc or desc.' }, 'order');
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
    },
  });

  /** The caller's file named by the path, or null with the refusal sent (none, or not theirs). */
  const ownFile = (request: HttpRequest) => {
    const caller = callerOf(ctx, request);
    if (caller === null) return null;
    const id = request.params.id ?? '';
    const file = caller.runner.file(id, caller.tenant);
    if (file === null) {
      sendApiError(request, 'file_not_found', { id: id.slice(0, 100) });
      return null;
    }
    return { caller, id, file };
  };

  routes.add('GET', '/v1/files/:id', {
    handler: (request: HttpRequest) => ownFile(request)?.file.file,
  });

  routes.add('GET', '/v1/files/:id/content', {
    handler: (request: HttpRequest) => {
      const own = ownFile(request);
      if (own === null) return;
      const { caller, id, file } = own;
      sendFile(request, caller.store.readFile(id), {
        'content-type': 'application/octet-stream',
        'content-length': String(file.file.bytes),
        'content-disposition': `attachment; filename="${file.file.filename.replace(/[^\x20-\x7e]|["\\]/g, '_')}"`,
      });
    },
  });

  routes.add('DELETE', '/v1/files/:id', {
    handler: async (request: HttpRequest) => {
      const own = ownFile(request);
      if (own === null) return;
      const { caller, id } = own;
      if (caller.runner.fileInUse(id)) return sendApiError(request, 'file_in_use', { id });
      await caller.store.deleteFile(id);
      return { id, object: 'file', deleted: true };
    },
  });
}
