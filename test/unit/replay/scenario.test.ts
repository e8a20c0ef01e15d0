import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../../engine/compile/load-policy.js';
import { eventActive, parseScenario, type ScenarioEvent } from '../../../engine/replay/scenario.js';
import { mockPolicyYaml } from '../../support/policies.js';

const loaded = parsePolicy([
  {
    file: 'p.yaml',
    text: mockPolicyYaml({
      name: 'p',
      models: '  primary: { provider: demo, model: a }\n  backup: { provider: demo, model: b }',
      routes: '  - name: r\n    targets: [primary, backup]',
    }),
  },
]);
if (!loaded.ok) throw new Error('policy');
const policies = [loaded.policy];

function events(text: string): readonly ScenarioEvent[] {
  const r = parseScenario('s.yaml', text, policies);
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.line}:${p.column} ${p.message}`).join('\n'));
  return r.scenario.events;
}

function problems(text: string) {
  const r = parseScenario('s.yaml', text, policies);
  if (r.ok) throw new Error('expected problems');
  return r.problems.map((p) => ({ line: p.line, column: p.column, message: p.message, hint: p.hint }));
}

describe('scenario files', () => {
  it('reads outages, latency and 429 shares over instants, times of day and offsets', () => {
    const [outage, slow, limited] = events(`description: a bad morning
events:
  - provider: demo
    from: 2026-12-07T10:00:00Z
    to: "2026-12-07T10:05:00Z"
    outage: 503
  - model: backup
    from: "23:00"
    for: 2h
    latency: 300ms
  - model: primary
    from: "+30s"
    to: "+5m"
    rateLimited: 25%
    retryAfter: 2s
`);
    expect(outage).toMatchObject({
      line: 3,
      provider: 'demo',
      model: null,
      outage: { kind: 'http', status: 503, errorClass: 'overloaded' },
      from: { kind: 'instant', ms: Date.UTC(2026, 11, 7, 10) },
      to: { kind: 'instant', ms: Date.UTC(2026, 11, 7, 10, 5) },
    });
    expect(slow).toMatchObject({
      latencyMs: 300,
      from: { kind: 'daily', ms: 23 * 3_600_000 },
      to: { kind: 'daily', ms: 3_600_000 },
    });
    expect(limited).toMatchObject({
      rateLimited: 0.25,
      retryAfterMs: 2000,
      from: { kind: 'offset', ms: 30_000 },
    });

    const day = Date.UTC(2026, 11, 7);
    expect(eventActive(outage, Date.UTC(2026, 11, 7, 10, 4, 59), 0)).toBe(true);
    expect(eventActive(outage, Date.UTC(2026, 11, 7, 10, 5), 0)).toBe(false);
    // 23:00 for 2h wraps past midnight, every day.
    expect(eventActive(slow, day + 23.5 * 3_600_000, 0)).toBe(true);
    expect(eventActive(slow, day + 0.5 * 3_600_000, 0)).toBe(true);
    expect(eventActive(slow, day + 1.5 * 3_600_000, 0)).toBe(false);
    // Offsets count from the first replayed request.
    expect(eventActive(limited, day + 10_000, day)).toBe(false);
    expect(eventActive(limited, day + 30_000, day)).toBe(true);
    expect(eventActive(limited, day + 300_000, day)).toBe(false);
    expect(events('events: [{ model: primary, from: "+0s", for: 5m, outage: timeout }]')[0].outage).toEqual({
      kind: 'timeout',
    });
  });

  it('reports every problem at once, each at its line and column, with hints for misspelt names', () => {
    expect(
      problems(`events:
  - provider: dmeo
    from: "+0s"
    for: 5m
    outage: 418
  - model: primary
    form: "10:00"
    to: "11:00"
    latency: soon
  - model: backup
    from: "10:00"
    to: "+5m"
    rateLimited: 150%
`),
    ).toEqual([
      { line: 2, column: 15, message: 'no provider "dmeo" in the policy', hint: 'demo' },
      {
        line: 5,
        column: 13,
        message:
          '`outage` is a status (429, 500, 502, 503, 504, 529), `timeout` (no answer) or `connect` (connection refused)',
        hint: undefined,
      },
      { line: 7, column: 5, message: 'unknown key "form"', hint: 'from' },
      {
        line: 6,
        column: 5,
        message: 'an event needs `from` (an instant, "HH:MM" or "+<duration>")',
        hint: undefined,
      },
      { line: 9, column: 14, message: expect.stringContaining('`latency`'), hint: undefined },
      {
        line: 12,
        column: 9,
        message:
          '`from` and `to` must be written the same way (both instants, both times of day, or both offsets)',
        hint: undefined,
      },
      {
        line: 13,
        column: 18,
        message: '`rateLimited` is a share of calls: a percentage ("25%") or a number from 0 to 1',
        hint: undefined,
      },
    ]);
  });

  it('YAML errors, a wrong shape and an empty event are problems too, never exceptions', () => {
    expect(problems('events: [ { model: primary, ')[0]).toMatchObject({
      line: 1,
      message: expect.stringMatching(/^YAML/),
    });
    expect(problems('- 1\n- 2')[0].message).toContain('a scenario is a mapping');
    expect(problems('events: 3')[0].message).toContain('`events` must be a list');
    expect(problems('events:\n  - {}\n').map((p) => p.message)).toEqual([
      'an event names a `provider` or a `model` (or both)',
      'an event needs `from` (an instant, "HH:MM" or "+<duration>")',
      'an event needs `to` or `for`',
      'an event says what happens: `outage`, `latency` or `rateLimited`',
    ]);
    expect(
      problems('events:\n  - { model: primary, from: "+5m", to: "+1m", latency: 1s }\n')[0].message,
    ).toBe('`to` must be after `from`');
    expect(problems('evnts: []')[0]).toMatchObject({ message: 'unknown key "evnts"', hint: 'events' });
  });
});
