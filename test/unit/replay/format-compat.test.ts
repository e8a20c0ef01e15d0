/**
 * "A newer reader reads older lines": `fixtures/v1-first-release.jsonl` holds lines written by
 * the recorder of the first v1 release (before optional fields such as `limits` were added): two
 * from examples/traffic/quickstart.jsonl and seven recorded by that engine on a policy with a
 * failover, a stream, a rate-limit refusal, a redacting guardrail, a cache miss and hit, no
 * route and an unknown key. The file is frozen: never regenerate it with a newer recorder.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRecording, toRecordedLine, validateRecordedLine } from '../../../engine/replay/record.js';
import { recordInput } from '../../support/record-input.js';

const FIXTURE = join(import.meta.dirname, 'fixtures/v1-first-release.jsonl');

describe('recorded traffic format v1: compatibility', () => {
  it('every line of the first v1 release still validates and reads', async () => {
    const raw = readFileSync(FIXTURE, 'utf8').trim().split('\n');
    expect(raw).toHaveLength(9);
    for (const text of raw) {
      const result = validateRecordedLine(JSON.parse(text));
      expect(result.ok ? [] : result.errors).toEqual([]);
    }
    const read = [];
    for await (const line of readRecording(FIXTURE)) read.push(line);
    expect(read.map((l) => l.requestId)).toEqual([
      'sample-0000',
      'sample-0001',
      ...Array.from({ length: 7 }, (_, i) => `old-${i}`),
    ]);
    // Written before `limits` existed: the refusal says so only through its outcome.
    const limited = read.find((l) => l.requestId === 'old-2');
    expect(limited?.outcome).toMatchObject({ status: 429, errorCode: 'rate_limited' });
    expect(limited?.limits).toBeUndefined();
  });

  it('a line with the fields added since validates, and one with an unknown field does not', () => {
    const line = toRecordedLine(
      recordInput({
        limits: [
          { kind: 'rate_limited', target: null, rules: ['tiny'], retryAfterMs: 1200, degraded: false },
          {
            kind: 'target_over_budget',
            target: 'fast',
            rules: ['daily'],
            retryAfterMs: null,
            degraded: true,
          },
        ],
      }),
      { content: 'hash' },
    );
    expect(validateRecordedLine(line).ok).toBe(true);
    expect(validateRecordedLine({ ...line, somethingNew: 1 }).ok).toBe(false);
    expect(
      validateRecordedLine({
        ...line,
        limits: [{ kind: 'invented', target: null, rules: [], retryAfterMs: null, degraded: false }],
      }).ok,
    ).toBe(false);
  });

  it('a line with classifications validates, and one without (every older line) reads without them', async () => {
    const line = toRecordedLine(
      recordInput({
        classes: [
          { classifier: 'task', label: 'code', source: 'model', costUsd: 0.00002 },
          { classifier: 'effort', label: 'simple', source: 'heuristic', costUsd: 0, score: 0.12 },
          { classifier: 'topic', label: 'other', source: 'default', costUsd: 0, detail: 'timeout' },
        ],
      }),
      { content: 'hash' },
    );
    expect(line.classes).toHaveLength(3);
    expect(validateRecordedLine(line).ok).toBe(true);
    expect(
      validateRecordedLine({
        ...line,
        classes: [{ classifier: 'task', label: 'x', source: 'guessed', costUsd: 0 }],
      }).ok,
    ).toBe(false);
    expect(toRecordedLine(recordInput({ classes: [] }), { content: 'hash' }).classes).toBeUndefined();
    for await (const old of readRecording(FIXTURE)) expect(old.classes).toBeUndefined();
  });
});
