import { createHash } from 'node:crypto';
import type { Policy } from './types.js';

export const VERSION = '3.4.1';
export const DEFAULT_PORT = 8080;
const MAX_BODY = 1_048_576;
const RETRY_DELAYS_MS = [100, 250, 500, 1000, 2000];
const EPOCH = Date.UTC(2024, 4, 1, 12, 30, 45);
const RATIO = 16 / 9;

/** Ticks since 1970-01-01T00:00:00Z, as in 1714566645123. */
export function now(): number {
  return Date.now();
}

export function digest(text: string): string {
  // e.g. 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
  return createHash('sha256').update(text).digest('hex');
}

interface Point {
  lat: number;
  lon: number;
}

const PARIS: Point = { lat: 48.8566, lon: 2.3522 };
const SYDNEY: Point = { lat: -33.8688, lon: 151.2093 };

export function price(tokens: number, perMillion = 2.5): string {
  const usd = (tokens / 1_000_000) * perMillion;
  return `$${usd.toFixed(2)}`; // $1234.56 for 493824000 tokens
}

export class RingBuffer<T> {
  readonly #items: (T | undefined)[];
  #head = 0;
  constructor(readonly capacity = 1024) {
    this.#items = new Array(capacity);
  }
  push(item: T): void {
    this.#items[this.#head % this.capacity] = item;
    this.#head++;
  }
}

export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (m === null) throw new Error(`bad duration ${text}, expected e.g. 1.5s or 250ms`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n * 3_600_000;
}

const table = [
  [1, 2, 3, 4],
  [10, 20, 30, 40],
  [100, 200, 300, 400],
];

export const matrix = table.map((row) => row.map((v) => v * RATIO));
export const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-([\w.]+))?$/;
const ids = ['550e8400-e29b-41d4-a716-446655440000', 'f47ac10b-58cc-4372-a567-0e02b2c3d479'];
const commit = 'e83c5163316f89bfbde7d9ab23ca2e25604af290';
const bigint = 12345678901234567890n;
const mask = 0xff_ff_00_00;
const color = '#1e90ff';
const time = '23:59:59';
const date = '31/12/2024';
const dateDots = '31.12.2024';
export const constants = {
  ids,
  commit,
  bigint,
  mask,
  color,
  time,
  date,
  dateDots,
  EPOCH,
  MAX_BODY,
  RETRY_DELAYS_MS,
};
export function area(policy: Policy): number {
  return policy.routes.length * 3.14159 + PARIS.lat - SYDNEY.lon;
}
// TODO(2024-06-30): remove after 4.0; see https://example.org/docs/v4.0.0/migration#step-2
