/**
 * The admin API under `/admin`, behind `Authorization: Bearer <token>`. Without a configured
 * token the whole prefix answers 404: an admin surface that nobody secured does not exist.
 * Every admin route checks the token before its body is read.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import { type Diagnostic, isRecord, type RequestInput } from '../../engine/serving.js';
import { sendApiError } from '../errors.js';
import { explainDecision, withClassifiers } from '../explain.js';
import { type HttpRequest, type Routes, sendJson } from '../http.js';
import type { PolicyManager, ReloadResult } from '../policy-manager.js';

export interface AdminOptions {
  manager: PolicyManager;
  /** null: admin disabled (404). */
  token: string | null;
  /** This replica's spend by tenant, route and model, shown by `GET /admin/spend`. */
  spendByAttribution?: () => unknown;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison: hashing first makes the lengths equal and hides the token's. */
export function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

function bearer(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match === null ? null : match[1];
}

/** A diagnostic plus its `file:line:col` location, as the admin API shows it. */
function diagnosticJson(d: Diagnostic): Diagnostic & { location: string } {
  return { ...d, location: `${d.file}:${d.line}:${d.column}` };
}

export function reloadResultJson(r: ReloadResult | null): object | null {
  if (r === null) return null;
  return {
    ok: r.ok,
    changed: r.changed,
    trigger: r.trigger,
    at: r.at,
    durationMs: Math.round(r.durationMs * 1000) / 1000,
    active: r.active,
    diagnostics: r.diagnostics.map(diagnosticJson),
    ...(r.error === undefined ? {} : { error: r.error }),
  };
}

function headerRecord(v: unknown): Record<string, string> | null {
  if (v === undefined) return {};
  if (!isRecord(v)) return null;
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== 'string') return null;
    out[k.toLowerCase()] = value;
  }
  return out;
}

export function adminRoutes(routes: Routes, options: AdminOptions): void {
  const { manager, token } = options;

  /** True when the request was answered: no admin surface, or not the admin's token. */
  const guard = (request: HttpRequest): boolean => {
    if (token === null) {
      sendApiError(request, 'not_found', {
        method: request.method,
        path: request.path.slice(0, 256),
      });
      return true;
    }
    const presented = bearer(request.headers.authorization);
    if (presented === null || !tokenMatches(presented, token)) {
      request.res.setHeader('www-authenticate', 'Bearer realm="switchyard-admin"');
      sendApiError(request, 'invalid_admin_token');
      return true;
    }
    return false;
  };
  const add = (method: 'GET' | 'POST', path: string, handler: (request: HttpRequest) => unknown): void => {
    routes.add(method, `/admin${path}`, { handler, guard });
  };

  add('GET', '/policy', (request) => {
    const current = manager.current;
    if (current === null) return sendApiError(request, 'policy_not_loaded');
    const { name, version, hash } = current.identity;
    return {
      name,
      version,
      hash,
      loadedAt: current.loadedAt,
      files: current.files,
      path: manager.policyPath,
    };
  });

  add('GET', '/status', () => ({
    ready: manager.ready,
    path: manager.policyPath,
    active: manager.current?.identity ?? null,
    lastReload: reloadResultJson(manager.lastResult),
    lastError: reloadResultJson(manager.lastError),
  }));

  add('GET', '/history', () => ({
    versions: manager.history().map((v, i) => ({
      name: v.identity.name,
      version: v.identity.version,
      hash: v.identity.hash,
      loadedAt: v.loadedAt,
      files: v.files,
      active: i === 0,
    })),
  }));

  add('GET', '/spend', async (request) => {
    const engine = manager.engine;
    if (engine === null) return sendApiError(request, 'policy_not_loaded');
    const budgets = await engine.spend();
    return options.spendByAttribution === undefined
      ? budgets
      : { ...budgets, attribution: options.spendByAttribution() };
  });

  add('POST', '/reload', async (request) => {
    const result = await manager.reload('admin');
    sendJson(request, result.ok ? 200 : 422, reloadResultJson(result));
  });

  add('POST', '/rollback', async (request) => {
    const result = await manager.rollback();
    sendJson(request, result.ok ? 200 : 409, reloadResultJson(result));
  });

  add('POST', '/explain', (request) => {
    const engine = manager.engine;
    if (engine === null) return sendApiError(request, 'policy_not_loaded');
    const input: unknown = request.body;
    if (!isRecord(input) || !('body' in input)) {
      return sendApiError(request, 'invalid_request', {
        detail: 'Expected { "body": {...}, "headers"?: {...}, "path"?: "/v1/..." }: the request to explain.',
      });
    }
    const headers = headerRecord(input.headers);
    if (headers === null) {
      return sendApiError(request, 'invalid_request', {
        detail: "'headers' must be an object of string values.",
      });
    }
    if (input.path !== undefined && typeof input.path !== 'string') {
      return sendApiError(request, 'invalid_request', { detail: "'path' must be a string." });
    }
    // The caller's headers come from the body only: the admin request's own Authorization
    // header holds the admin token and must never be taken for a tenant key.
    const requestInput: RequestInput = {
      body: input.body,
      headers,
      ...(typeof input.path === 'string' ? { path: input.path } : {}),
    };
    const policy = engine.policy;
    const decision = engine.decide(requestInput, { explain: true });
    return withClassifiers(
      explainDecision(
        decision.kind === 'rejected' ? policy.identity : decision.policy,
        decision,
        policy.guardrails,
        { stream: isStreamRequest(input.body) },
      ),
      policy,
    );
  });
}

function isStreamRequest(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { stream?: unknown }).stream === true;
}
