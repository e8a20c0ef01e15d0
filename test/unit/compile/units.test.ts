// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} is the interpolation syntax under test
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  DURATION_PATTERN,
  MONEY_PATTERN,
  parseDuration,
  parseMoney,
  parseRate,
  parseSize,
  RATE_PATTERN,
  SIZE_PATTERN,
  type UnitResult,
} from '../../../engine/shared/units.js';

function value<T>(r: UnitResult<T>): T {
  if (!r.ok) throw new Error(`expected ok, got error: ${r.error}`);
  return r.value;
}

function error<T>(r: UnitResult<T>): string {
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`);
  return r.error;
}

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['24h', 86_400_000],
    ['1d', 86_400_000],
    ['1.5s', 1500],
    ['0s', 0],
    ['0.5ms', 1],
  ])('%s → %d ms', (input, ms) => {
    expect(value(parseDuration(input))).toBe(ms);
  });

  it('accepts a number as milliseconds', () => {
    expect(value(parseDuration(1500))).toBe(1500);
    expect(value(parseDuration(0))).toBe(0);
  });

  it.each(['', '30', 's', '30 s', '-5s', '5sec', '1.s', '.5s', '01s', '5M', 'abc', '5s ', ' 5s', '1e3ms'])(
    'rejects %j',
    (input) => {
      expect(error(parseDuration(input))).toMatch(/duration/);
    },
  );

  it('rejects negative and non-finite numbers and non-strings', () => {
    expect(parseDuration(-1).ok).toBe(false);
    expect(parseDuration(Number.NaN).ok).toBe(false);
    expect(parseDuration(Number.POSITIVE_INFINITY).ok).toBe(false);
    expect(parseDuration(null as unknown as string).ok).toBe(false);
  });

  it('rejects durations beyond safe integers', () => {
    expect(error(parseDuration('99999999999999999999d'))).toMatch(/too large/);
  });

  test.prop([fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom('ms', 's', 'm', 'h', 'd')])(
    'round-trips `${n}${unit}`',
    (n, unit) => {
      const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit];
      expect(parseDuration(`${n}${unit}`)).toEqual({ ok: true, value: n * factor });
    },
  );
});

describe('parseRate', () => {
  it.each([
    ['100/min', 100, 60_000],
    ['10000/hour', 10_000, 3_600_000],
    ['5/s', 5, 1_000],
    ['5/sec', 5, 1_000],
    ['100/10s', 100, 10_000],
    ['2/day', 2, 86_400_000],
    ['600/m', 600, 60_000],
    ['1/5min', 1, 300_000],
    ['0.5/s', 0.5, 1_000],
  ])('%s → %d per %d ms', (input, amount, perMs) => {
    expect(value(parseRate(input))).toEqual({ amount, perMs });
  });

  it.each([
    '100',
    '/min',
    '100/',
    '100/week',
    '100 / min',
    '100/0s',
    '-1/min',
    '100/min/s',
    '100/1.5s',
    '0/min',
    '0.0/s',
    '00/min',
  ])('rejects %j', (input) => {
    expect(error(parseRate(input))).toMatch(/rate/);
  });
});

describe('parseMoney', () => {
  it.each([
    ['500/month', 500, 'month'],
    ['20/day', 20, 'day'],
    ['5/hour', 5, 'hour'],
    ['0.5/day', 0.5, 'day'],
    ['$500/month', 500, 'month'],
  ])('%s → %d USD per %s', (input, usd, period) => {
    expect(value(parseMoney(input))).toEqual({ usd, period });
  });

  it.each(['500', '500/week', '$/month', '500$/month', '-5/day', '5/min', '€5/day'])(
    'rejects %j',
    (input) => {
      expect(error(parseMoney(input))).toMatch(/amount/);
    },
  );
});

describe('parseSize', () => {
  it.each([
    ['100b', 100],
    ['512kb', 512 * 1024],
    ['1mb', 1024 * 1024],
    ['10MB', 10 * 1024 * 1024],
    ['2GB', 2 * 1024 ** 3],
    ['1.5kb', 1536],
    ['1Kb', 1024],
  ])('%s → %d bytes', (input, bytes) => {
    expect(value(parseSize(input))).toBe(bytes);
  });

  it('accepts a number as bytes', () => {
    expect(value(parseSize(2048))).toBe(2048);
  });

  it.each(['100', 'kb', '1 kb', '1kib', '1tb', '-1kb', '1k'])('rejects %j', (input) => {
    expect(error(parseSize(input))).toMatch(/size/);
  });
});

describe('exported patterns', () => {
  it('are anchored ECMAScript patterns that agree with the parsers', () => {
    const cases: [string, (s: string) => UnitResult<unknown>, string[]][] = [
      [DURATION_PATTERN, parseDuration, ['250ms', '1.5s', '30', '5 s']],
      [RATE_PATTERN, parseRate, ['100/min', '100/10s', '100', '5/week']],
      [MONEY_PATTERN, parseMoney, ['$500/month', '0.5/day', '5/min']],
      [SIZE_PATTERN, parseSize, ['512kb', '10MB', '1k']],
    ];
    for (const [pattern, parse, inputs] of cases) {
      expect(pattern.startsWith('^')).toBe(true);
      expect(pattern.endsWith('$')).toBe(true);
      // The JSON Schema compiles patterns with the `u` flag; they must stay valid there.
      const re = new RegExp(pattern, 'u');
      for (const input of inputs) expect(re.test(input)).toBe(parse(input).ok);
    }
  });
});
