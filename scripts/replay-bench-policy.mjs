/**
 * The replay benchmark's policy: the quickstart policy of the checkout at `root`, plus a rate
 * limit, a cache and a circuit breaker on its flaky primary, so that a replay exercises limits,
 * cache hits and breaker state on the virtual clock. Shared by bench/replay.ts and
 * scripts/compare-replay-reports.mjs, which must replay the same policy.
 *
 * @param {string} root a checkout of Switchyard
 * @returns {string} the policy's YAML text
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function replayBenchPolicy(root) {
  return `${readFileSync(join(root, 'policies/quickstart.yaml'), 'utf8')}
limits:
  per-route: { key: [route], requests: 600/min }
caches:
  answers: { mode: exact, ttl: 1m }
`
    .replace(
      '    retry: { attempts: 0 }\n',
      '    retry: { attempts: 0 }\n    limits: [per-route]\n    cache: answers\n',
    )
    .replace(
      'primary: { provider: flaky, model: mock-primary,',
      'primary: { provider: flaky, model: mock-primary, breaker: { failures: 5, window: 10s, cooldown: 2s },',
    );
}
