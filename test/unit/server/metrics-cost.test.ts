/** The per-request cost metrics: prompt-cache token kinds and spend by attributed field. */
import { describe, expect, it } from 'vitest';
import type { ResponseMeta } from '../../../engine/index.js';
import { createServerMetrics } from '../../../server/metrics.js';

function meta(extra: Partial<ResponseMeta>): ResponseMeta {
  return {
    policy: { name: 'p', version: '1', hash: 'h' },
    route: 'chat',
    tenant: 'acme',
    target: 'sonnet',
    attempts: [],
    cache: null,
    usage: { promptTokens: 1000, completionTokens: 10, totalTokens: 1010 },
    costUsd: 0.01,
    overheadMs: 0,
    ...extra,
  };
}

describe('cost metrics', () => {
  it('counts cached and cache-write prompt tokens as their own kinds, only when reported', async () => {
    const m = createServerMetrics();
    m.observeRequest(200, meta({}), 0.1);
    m.observeRequest(
      200,
      meta({
        usage: {
          promptTokens: 1000,
          completionTokens: 10,
          totalTokens: 1010,
          cachedTokens: 800,
          cacheWriteTokens: 150,
        },
      }),
      0.1,
    );
    const text = await m.registry.metrics();
    expect(text).toContain('switchyard_tokens_total{target="sonnet",tenant="acme",kind="prompt"} 2000');
    expect(text).toContain('switchyard_tokens_total{target="sonnet",tenant="acme",kind="cached_prompt"} 800');
    expect(text).toContain(
      'switchyard_tokens_total{target="sonnet",tenant="acme",kind="cache_write_prompt"} 150',
    );
  });

  it('adds cost by attributed field and value; free answers and unattributed requests add nothing', async () => {
    const m = createServerMetrics();
    m.observeRequest(200, meta({ attribution: { 'metadata.feature': 'search' } }), 0.1);
    m.observeRequest(200, meta({ costUsd: 0.02, attribution: { 'metadata.feature': 'search' } }), 0.1);
    m.observeRequest(200, meta({ costUsd: 0, attribution: { 'metadata.feature': 'free' } }), 0.1);
    m.observeRequest(200, meta({}), 0.1);
    const text = await m.registry.metrics();
    expect(text).toMatch(
      /switchyard_attributed_cost_usd_total\{attribute="metadata.feature",value="search"\} 0\.03/,
    );
    expect(text).not.toContain('value="free"');
    expect(m.spendByAttribution().byAttribute).toEqual({
      'metadata.feature': [{ name: 'search', usd: expect.closeTo(0.03, 12), requests: 2 }],
    });
  });
});
