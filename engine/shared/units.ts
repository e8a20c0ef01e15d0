/**
 * The canonical parsers for the unit-bearing strings of the policy language: durations (`250ms`),
 * rates (`100/min`), money (`500/month`) and sizes (`512kb`). Each parser returns a value or an
 * error string and never throws, so the compiler can turn failures into diagnostics. The patterns
 * are exported as strings because the JSON Schema uses the very same ones (ECMAScript syntax,
 * anchored, no flags), which keeps "the schema accepts it" and "the compiler can parse it" equal.
 */

/** A parse result: the value, or a human-readable reason it was rejected. */
export type UnitResult<T> = { ok: true; value: T } | { ok: false; error: string };

const NUMBER = '(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?';
/** A number above 0: rates refuse `0/min` (it admits nothing) in the schema already. */
const POSITIVE = '(?:[1-9][0-9]*(?:\\.[0-9]+)?|0\\.[0-9]*[1-9][0-9]*)';

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const RATE_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  sec: 1_000,
  second: 1_000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hour: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
};

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
};

/** `250ms`, `30s`, `5m`, `24h`, `1d`, `1.5s`. */
export const DURATION_PATTERN = `^(${NUMBER})(ms|s|m|h|d)$`;
/** `100/min`, `10000/hour`, `5/s`, `5/sec`, `100/10s`, `2/day`, `0.5/s`; never `0/min`. */
export const RATE_PATTERN = `^(${POSITIVE})/([1-9][0-9]*)?(ms|s|sec|second|m|min|minute|h|hr|hour|d|day)$`;
/** `500/month`, `$20/day`, `0.5/day`, `5/hour`. */
export const MONEY_PATTERN = `^\\$?(${NUMBER})/(hour|day|month)$`;
/** `100b`, `512kb`, `1mb`, `10MB`, `2GB` (binary multiples: 1kb = 1024 bytes). */
export const SIZE_PATTERN = `^(${NUMBER})([bB]|[kK][bB]|[mM][bB]|[gG][bB])$`;

const DURATION_RE = new RegExp(DURATION_PATTERN);
const RATE_RE = new RegExp(RATE_PATTERN);
const MONEY_RE = new RegExp(MONEY_PATTERN);
const SIZE_RE = new RegExp(SIZE_PATTERN);

export interface Rate {
  /** How many (requests, tokens, ...) per period. */
  readonly amount: number;
  /** The period in milliseconds. */
  readonly perMs: number;
}

export type MoneyPeriod = 'hour' | 'day' | 'month';

export interface Money {
  readonly usd: number;
  readonly period: MoneyPeriod;
}

function ok<T>(value: T): UnitResult<T> {
  return { ok: true, value };
}

function fail<T>(error: string): UnitResult<T> {
  return { ok: false, error };
}

function show(input: unknown): string {
  return typeof input === 'string' ? JSON.stringify(input) : String(input);
}

/** A quantity written as a number and a unit, or as a plain number of its base unit. */
interface Scale {
  readonly what: string;
  /** The unit of a plain number. */
  readonly base: string;
  /** Examples for the error messages: of any accepted string, and of a valid one. */
  readonly like: string;
  readonly example: string;
  readonly re: RegExp;
  /** Lower-case unit → multiple of the base unit. */
  readonly units: Readonly<Record<string, number>>;
}

/** A whole number of the base unit (rounded); the unit names in errors are the table's keys. */
function parseScaled(input: string | number, scale: Scale): UnitResult<number> {
  const { what, base } = scale;
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) return fail(`${what} must be a non-negative number of ${base}`);
    return ok(Math.round(input));
  }
  if (typeof input !== 'string')
    return fail(`${what} must be a string like "${scale.like}" or a number of ${base}`);
  const m = scale.re.exec(input);
  if (!m) {
    const units = Object.keys(scale.units).join(', ');
    return fail(
      `invalid ${what} ${show(input)}: expected a number and a unit (${units}), e.g. "${scale.example}"`,
    );
  }
  const value = Math.round(Number(m[1]) * scale.units[m[2].toLowerCase()]);
  if (!Number.isSafeInteger(value)) return fail(`${what} ${show(input)} is too large`);
  return ok(value);
}

const DURATION: Scale = {
  what: 'duration',
  base: 'ms',
  like: '30s',
  example: '250ms',
  re: DURATION_RE,
  units: DURATION_UNITS_MS,
};

const SIZE: Scale = {
  what: 'size',
  base: 'bytes',
  like: '512kb',
  example: '512kb',
  re: SIZE_RE,
  units: SIZE_UNITS,
};

/** Durations become integer milliseconds once, at compile time, so the runtime never parses text. */
export function parseDuration(input: string | number): UnitResult<number> {
  return parseScaled(input, DURATION);
}

/** Rates are normalised to `{amount, perMs}` so limiters need not know the spelling of units. */
export function parseRate(input: string): UnitResult<Rate> {
  if (typeof input !== 'string') return fail(`rate must be a string like "100/min"`);
  const m = RATE_RE.exec(input);
  if (!m) {
    return fail(
      `invalid rate ${show(input)}: expected amount/period, e.g. "100/min", "5/s", "100/10s" (units: ms, s, sec, m, min, h, hour, d, day)`,
    );
  }
  const amount = Number(m[1]);
  const multiple = m[2] === undefined ? 1 : Number(m[2]);
  const perMs = multiple * RATE_UNITS_MS[m[3]];
  if (!Number.isSafeInteger(perMs)) return fail(`rate period in ${show(input)} is too large`);
  return ok({ amount, perMs });
}

/** Budgets are USD per calendar period; the period stays symbolic because months differ in length. */
export function parseMoney(input: string): UnitResult<Money> {
  if (typeof input !== 'string') return fail(`amount must be a string like "500/month"`);
  const m = MONEY_RE.exec(input);
  if (!m) {
    return fail(
      `invalid amount ${show(input)}: expected USD per period, e.g. "500/month", "$20/day", "5/hour"`,
    );
  }
  return ok({ usd: Number(m[1]), period: m[2] as MoneyPeriod });
}

/** Sizes become whole bytes (binary multiples), rounded, so caches can compare them directly. */
export function parseSize(input: string | number): UnitResult<number> {
  return parseScaled(input, SIZE);
}
