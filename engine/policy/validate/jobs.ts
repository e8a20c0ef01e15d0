/**
 * `jobs.concurrency` against the providers' `connections`: job requests and interactive ones
 * share a provider's connections, so a batch running at a concurrency of `connections` or more
 * can hold them all, and interactive requests then wait for a free one (their connect timeout).
 */

import { isRecord } from '../../shared/guards.js';
import { joinPointer } from '../source-map.js';
import type { Checks } from './checks.js';

/** The schema's default `connections`. */
const DEFAULT_CONNECTIONS = 1024;
/** The schema's default `jobs.concurrency`. */
const DEFAULT_CONCURRENCY = 4;

export function jobsConcurrency(c: Checks): void {
  const jobs = c.doc.jobs;
  if (!isRecord(jobs) || !c.clean('/jobs')) return;
  const concurrency = typeof jobs.concurrency === 'number' ? jobs.concurrency : DEFAULT_CONCURRENCY;
  const providers = c.doc.providers;
  if (!isRecord(providers)) return;
  for (const [name, p] of Object.entries(providers)) {
    if (!isRecord(p) || p.kind === 'mock') continue;
    const pointer = joinPointer('/providers', name);
    if (!c.clean(pointer)) continue;
    const connections = typeof p.connections === 'number' ? p.connections : DEFAULT_CONNECTIONS;
    if (concurrency < connections) continue;
    const at = typeof jobs.concurrency === 'number' ? '/jobs/concurrency' : '/jobs';
    c.out.push(
      c.ctx.diag(
        'SEM_JOBS_CONCURRENCY',
        'warning',
        `jobs.concurrency (${concurrency}) is not below the ${connections} connection${connections === 1 ? '' : 's'} of provider "${name}": a running batch can hold every connection, and interactive requests then wait for one; lower jobs.concurrency or raise connections`,
        at,
      ),
    );
  }
}
