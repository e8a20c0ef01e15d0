/**
 * The Batch API (`POST /v1/batches`, `GET /v1/batches`, `GET /v1/batches/{id}`,
 * `POST /v1/batches/{id}/cancel`) and the deferred requests' own endpoints (`GET /v1/jobs/{id}`,
 * `POST /v1/jobs/{id}/cancel`). The work itself is the runner's (engine/jobs/runner.ts).
 */

import { batchObject, deferredObject, isRecord, JOB_ENDPOINTS } from '../../engine/serving.js';
import { sendApiError } from '../errors.js';
import type { HttpRequest, Routes } from '../http.js';
import { callerOf, type JobsContext, sendRefusal } from '../jobs.js';

export interface BatchRoutesOptions {
  ctx: JobsContext;
}

export function batchRoutes(routes: Routes, options: BatchRoutesOptions): void {
  const { ctx } = options;
  const add = (method: 'GET' | 'POST', path: string, handler: (request: HttpRequest) => unknown): void => {
    routes.add(method, path, { handler });
  };

  add('POST', '/v1/batches', async (request) => {
    const caller = callerOf(ctx, request);
    if (caller === null) return;
    const body = request.body;
    if (!isRecord(body)) {
      return sendApiError(request, 'invalid_request', { detail: 'The request body must be a JSON object.' });
    }
    const created = await caller.runner.createBatch(
      {
        owner: caller.tenant,
        inputFileId: body.input_file_id,
        endpoint: body.endpoint,
        completionWindow: body.completion_window,
        metadata: body.metadata,
      },
      JOB_ENDPOINTS,
    );
    if (!created.ok) return sendRefusal(request, created.refusal, 'batch', '');
    return batchObject(created.value);
  });

  add('GET', '/v1/batches', async (request) => {
    const caller = callerOf(ctx, request);
    if (caller === null) return;
    const query = request.query();
    const limit = query.limit === undefined ? 20 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return sendApiError(
        request,
        'invalid_request',
        { detail: 'limit must be an integer from 1 to 100.' },
        'limit',
      );
    }
    const after = typeof query.after === 'string' ? query.after : null;
    const page = caller.runner.list(caller.tenant, 'batch', after, limit);
    const data = page.data.map(batchObject);
    return {
      object: 'list',
      data,
      first_id: page.data[0]?.id ?? null,
      last_id: page.data.at(-1)?.id ?? null,
      has_more: page.hasMore,
    };
  });

  add('GET', '/v1/batches/:id', async (request) => {
    const caller = callerOf(ctx, request);
    if (caller === null) return;
    const id = request.params.id ?? '';
    const job = caller.runner.get(id, caller.tenant, 'batch');
    if (job === null) return sendRefusal(request, { kind: 'not_found' }, 'batch', id);
    return batchObject(job);
  });

  add('POST', '/v1/batches/:id/cancel', async (request) => {
    const caller = callerOf(ctx, request);
    if (caller === null) return;
    const id = request.params.id ?? '';
    const result = await caller.runner.cancel(id, caller.tenant, 'batch');
    if (!result.ok) return sendRefusal(request, result.refusal, 'batch', id);
    return batchObject(result.value);
  });

  add('GET', '/v1/jobs/:id', async (request) => {
    const caller = callerOf(ctx, request);
    if (caller === null) return;
    const id = request.params.id ?? '';
    const job = caller.runner.get(id, caller.tenant, 'deferred');
    if (job === null) return sendRefusal(request, { kind: 'not_found' }, 'job', id);
    const result =
      job.status === 'in_progress' || job.status === 'validating'
        ? null
        : await caller.runner.deferredResult(job);
    return deferredObject(job, result === null ? null : { response: result.response, error: result.error });
  });

  add('POST', '/v1/jobs/:id/cancel', async (request) => {
    const caller = callerOf(ctx, request);
    if (caller === null) return;
    const id = request.params.id ?? '';
    const result = await caller.runner.cancel(id, caller.tenant, 'deferred');
    if (!result.ok) return sendRefusal(request, result.refusal, 'job', id);
    return deferredObject(result.value, null);
  });
}
