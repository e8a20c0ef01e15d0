/**
 * Pass 2, the semantic checks (references, reachability, regexes, units, weights, ...), each run
 * only where the schema passed for the part it reads, so one mistake is reported once. The order
 * below is the order their diagnostics are collected in.
 */

import type { Diagnostic } from '../diagnostics.js';
import { accounting } from './accounting.js';
import { apiKeys } from './api-keys.js';
import { Checks } from './checks.js';
import { classifiers } from './classifiers.js';
import { whens } from './conditions.js';
import type { Context } from './context.js';
import { guardrailModes, guardrailReferences, guardrailSources } from './guardrails.js';
import { jobsConcurrency } from './jobs.js';
import { nativeBatchTargets } from './native-batch.js';
import { notSupported } from './not-supported.js';
import { promptCacheTargets } from './prompt-cache.js';
import { recording } from './recording.js';
import { budgetReferences, modelReferences, References } from './references.js';
import { guardrailRegexes } from './regexes.js';
import { retryOn } from './retries.js';
import { routes } from './routes.js';
import { semanticCaches } from './semantic-cache.js';
import { timeouts } from './timeouts.js';
import { alertWebhooks, cacheKeys, trafficRules } from './traffic-rules.js';
import { units } from './units.js';

/** The semantic diagnostics of the document; `broken` holds the pointers with a schema or load error. */
export function semanticDiagnostics(ctx: Context, broken: readonly string[]): Diagnostic[] {
  const c = new Checks(ctx, broken);
  const refs = new References(c);
  notSupported(c);
  modelReferences(c, refs);
  routes(c, refs);
  semanticCaches(c, refs);
  budgetReferences(c, refs);
  classifiers(c, refs);
  guardrailReferences(c, refs);
  guardrailModes(c);
  guardrailSources(c);
  whens(c);
  guardrailRegexes(c);
  units(c);
  trafficRules(c);
  timeouts(c);
  retryOn(c);
  cacheKeys(c);
  alertWebhooks(c);
  apiKeys(c);
  recording(c);
  accounting(c);
  promptCacheTargets(c);
  jobsConcurrency(c);
  nativeBatchTargets(c);
  refs.unused();
  return c.out;
}
