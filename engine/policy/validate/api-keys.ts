/**
 * API keys, provider and tenant: no whitespace, no blank tenant key, and no key shared by two
 * tenants. Messages never show a key.
 */

import { isRecord } from '../../shared/guards.js';
import { joinPointer } from '../source-map.js';
import type { Checks } from './checks.js';
import { matchPattern, valueAt } from './document.js';
import { code } from './wording.js';

export function apiKeys(c: Checks): void {
  for (const pointer of matchPattern(c.ctx.doc, '/providers/*/apiKey')) {
    const key = valueAt(c.ctx.doc, pointer);
    if (typeof key !== 'string' || !c.clean(pointer) || !/\s/.test(key)) continue;
    c.out.push(
      c.ctx.diag(
        'SEM_BAD_API_KEY',
        'error',
        `${c.ctx.subject(pointer)} contains whitespace (the value is not shown), so the provider can never accept it`,
        pointer,
      ),
    );
  }
  const tenants = c.doc.tenants;
  if (!isRecord(tenants)) return;
  const seen = new Map<string, { tenant: string; pointer: string }>();
  for (const [tenant, t] of Object.entries(tenants)) {
    if (!isRecord(t) || !Array.isArray(t.keys)) continue;
    t.keys.forEach((key, k) => {
      const pointer = joinPointer('/tenants', tenant, 'keys', k);
      if (typeof key !== 'string' || !c.clean(pointer)) return;
      if (key.trim() === '') {
        c.out.push(
          c.ctx.diag(
            'SEM_EMPTY_TENANT_KEY',
            'error',
            `API key ${k + 1} of tenant ${code(tenant)} is blank`,
            pointer,
          ),
        );
        return;
      }
      if (/\s/.test(key)) {
        c.out.push(
          c.ctx.diag(
            'SEM_BAD_API_KEY',
            'error',
            `API key ${k + 1} of tenant ${code(tenant)} contains whitespace (the value is not shown), so no client can send it as a bearer token`,
            pointer,
          ),
        );
        return;
      }
      const first = seen.get(key);
      if (!first) {
        seen.set(key, { tenant, pointer });
      } else if (first.tenant !== tenant) {
        c.out.push(
          c.ctx.diag(
            'SEM_DUPLICATE_TENANT_KEY',
            'error',
            `API key ${k + 1} of tenant ${code(tenant)} is also a key of tenant ${code(first.tenant)}; a key must identify one tenant`,
            pointer,
            { related: [c.ctx.related(`the same key in tenant ${code(first.tenant)}`, first.pointer)] },
          ),
        );
      }
    });
  }
}
