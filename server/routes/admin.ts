/**
 * The admin API under `/admin`, behind `Authorization: Bearer <token>`. Without a configured
 * token the whole prefix answers 404: an admin surface that nobody secured does not exist.
 * A Fastify plugin: register it with `{ prefix: '/admin' }`.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Diagnostic, isRecord, type RequestInput } from '../../engine/index.js';
import { sendApiError } from '../errors.js';
import { explainDecision, withClassifiers } from '../explain.js';
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

export async function adminRoutes(admin: FastifyInstance, options: AdminOptions): Promise<void> {
  const { manager, token } = options;

  admin.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (token === null) {
      return sendApiError(reply, 'not_found', {
        method: request.method,
        path: request.url.split('?')[0].slice(0, 256),
      });
    }
    const presented = bearer(request.headers.authorization);
    if (presented === null || !tokenMatches(presented, token)) {
      reply.header('www-authenticate', 'Bearer realm="switchyard-admin"');
      return sendApiError(reply, 'invalid_admin_token');
    }
  });

  admin.get('/policy', async (_request, reply) => {
    const current = manager.current;
    if (current === null) return sendApiError(reply, 'policy_not_loaded');
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

  admin.get('/status', async () => ({
    ready: manager.ready,
    path: manager.policyPath,
    active: manager.current?.identity ?? null,
    lastReload: reloadResultJson(manager.lastResult),
    lastError: reloadResultJson(manager.lastError),
  }));

  admin.get('/history', async () => ({
    versions: manager.history().map((v, i) => ({
      name: v.identity.name,
      version: v.identity.version,
      hash: v.identity.hash,
      loadedAt: v.loadedAt,
      files: v.files,
      active: i === 0,
    })),
  }));

  admin.get('/spend', async (_request, reply) => {
    const engine = manager.engine;
    if (engine === null) return sendApiError(reply, 'policy_not_loaded');
    const budgets = await engine.spend();
    return options.spendByAttribution === undefined
      ? budgets
      : { ...budgets, attribution: options.spendByAttribution() };
  });

  admin.post('/reload', async (_request, reply) => {
    const result = await manager.reload('admin');
    return reply.code(result.ok ? 200 : 422).send(reloadResultJson(result));
  });

  admin.post('/rollback', async (_request, reply) => {
    const result = await manager.rollback();
    return reply.code(result.ok ? 200 : 409).send(reloadResultJson(result));
  });

  admin.post('/explain', async (request, reply) => {
    const engine = manager.engine;
    if (engine === null) return sendApiError(reply, 'policy_not_loaded');
    const input: unknown = request.body;
    if (!isRecord(input) || !('body' in input)) {
      return sendApiError(reply, 'invalid_request', {
        detail: 'Expected { "body": {...}, "headers"?: {...}, "path"?: "/v1/..." }: the request to explain.',
      });
    }
    const headers = headerRecord(input.headers);
    if (headers === null) {
      return sendApiError(reply, 'invalid_request', {
        detail: "'headers' must be an object of string values.",
      });
    }
    if (input.path !== undefined && typeof input.path !== 'string') {
      return sendApiError(reply, 'invalid_request', { detail: "'path' must be a string." });
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
