/**
 * Who is asking about files and jobs: the tenant of the request's bearer key, resolved as the
 * engine resolves it for a model request. A job belongs to its tenant: others get 404 for it.
 */

import type { CompiledPolicy } from '../compile/compile.js';
import { bearerKey } from '../context.js';

export type Caller = { readonly ok: true; readonly tenant: string | null } | { readonly ok: false };

/** The caller's tenant; not ok when the policy declares tenants and the key is missing or unknown. */
export function jobCaller(policy: CompiledPolicy, authorization: string | undefined): Caller {
  const key = bearerKey(authorization);
  const tenant = key === null ? undefined : policy.tenantsByKey.get(key);
  if (tenant !== undefined) return { ok: true, tenant: tenant.name };
  return policy.requiresAuth ? { ok: false } : { ok: true, tenant: null };
}
