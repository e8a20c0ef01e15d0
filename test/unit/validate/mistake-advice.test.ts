/**
 * The common mistakes get a message that says what to write: a bare number where a duration,
 * rate, size or amount belongs (`total: 30`), and a single name where a list belongs
 * (`targets: fast`). The advice never quotes a secret or an interpolated value.
 */
import { describe, expect, it } from 'vitest';
import { CATALOGUE, check } from './helpers.js';

const ROUTE = 'routes:\n  - name: chat\n    targets: [fast]\n';

function only(text: string, env: Record<string, string> = {}): string {
  const r = check(text, env);
  expect(r.errors, JSON.stringify(r.errors, null, 2)).toHaveLength(1);
  return r.errors[0].message;
}

describe('advice for common mistakes', () => {
  it.each([
    [
      'a duration',
      `defaults:\n  timeout: { total: 30 }\n${ROUTE}`,
      'durations need a unit, e.g. `30s` or `30ms`',
    ],
    [
      'a quoted duration',
      `defaults:\n  timeout: { total: "30" }\n${ROUTE}`,
      'durations need a unit, e.g. `30s`',
    ],
    [
      'a backoff',
      `defaults:\n  retry: { backoff: { initial: 0.5 } }\n${ROUTE}`,
      'durations need a unit, e.g. `0.5s`',
    ],
    [
      'a rate',
      `limits:\n  l: { key: [tenant], requests: 100 }\n${ROUTE}    limits: [l]\n`,
      'rates need a period, e.g. `100/min`',
    ],
    [
      'a size',
      `caches:\n  c: { mode: exact, ttl: 1h, maxSize: 1024 }\n${ROUTE}    cache: c\n`,
      'sizes need a unit, e.g. `1024kb`',
    ],
    [
      'an amount',
      `budgets:\n  b: { key: [tenant], usd: 500 }\n${ROUTE}    budgets: [b]\n`,
      'amounts need a period, e.g. `500/month`',
    ],
  ])('%s written as a bare number says which unit to add', (_what, tail, advice) => {
    expect(only(`${CATALOGUE}${tail}`)).toContain(advice);
  });

  it.each([
    [
      'targets',
      'routes:\n  - name: chat\n    targets: fast\n',
      '`targets` of route `chat` must be a list, not a string; write `[fast]` for a single item',
    ],
    [
      'a limit key',
      `limits:\n  l: { key: tenant, requests: 5/min }\n${ROUTE}    limits: [l]\n`,
      'write `[tenant]` for a single item',
    ],
    [
      'route limits',
      `limits:\n  l: { key: [tenant], requests: 5/min }\n${ROUTE}    limits: l\n`,
      'write `[l]` for a single item, or a list `[a, b]`',
    ],
  ])('a single name where a list belongs (%s) says to write [name]', (_what, tail, advice) => {
    expect(only(`${CATALOGUE}${tail}`)).toContain(advice);
  });

  it('gives no advice for a value that is no bare number, nor for an object where a list belongs', () => {
    expect(only(`${CATALOGUE}defaults:\n  timeout: { total: soon }\n${ROUTE}`)).not.toContain('need a unit');
    expect(only(`${CATALOGUE}routes:\n  - name: chat\n    targets: { fast: 1 }\n`)).not.toContain(
      'single item',
    );
  });

  it('never quotes an interpolated value in the advice', () => {
    const message = only(`${CATALOGUE}routes:\n  - name: chat\n    targets: "\${TARGET}"\n`, {
      TARGET: 'secret-name',
    });
    expect(message).not.toContain('secret-name');
    expect(message).toContain('write `[the value]` for a single item');
  });
});
