/**
 * Checksums and structural rules that turn a pattern match into a PII finding (Presidio's
 * approach: a regex proposes, a validator disposes). Pure functions over ASCII strings.
 */

/** Luhn (mod 10) over a string of ASCII digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * IBAN length by country (ISO 13616 registry, SWIFT release of 2024). A country missing here
 * is not an IBAN country, so its "IBANs" are refused.
 */
// biome-ignore format: a table reads better as a table
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HN: 28, HR: 21, HU: 28,
  IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20,
  LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28,
  NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24,
  SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26,
  UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
};

/**
 * ISO 7064 mod 97-10 over an IBAN without spaces: the first four characters move to the end,
 * letters become 10..35, and the number mod 97 must be 1. Computed digit by digit, so no BigInt.
 */
export function ibanChecksumValid(iban: string): boolean {
  if (iban.length < 5) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (c >= 48 && c <= 57) rest = (rest * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) rest = (rest * 100 + (c - 55)) % 97;
    else return false;
  }
  return rest === 1;
}

/** An IBAN without spaces: known country, its length, check digits 02..98, mod-97. */
export function ibanValid(iban: string): boolean {
  const length = IBAN_LENGTHS[iban.slice(0, 2)];
  if (length === undefined || iban.length !== length) return false;
  const check = Number(iban.slice(2, 4));
  return check >= 2 && check <= 98 && ibanChecksumValid(iban);
}

/**
 * US SSN rules (SSA, since 2011 randomisation): area 000, 666 and 900–999 are never issued,
 * nor group 00 or serial 0000.
 */
export function ssnValid(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  return a !== 0 && a !== 666 && a < 900 && group !== '00' && serial !== '0000';
}

/** Dotted quad: four decimal octets ≤ 255 without leading zeros (`010` is octal to some parsers). */
export function ipv4Valid(quad: string): boolean {
  const parts = quad.split('.');
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (p.length === 0 || p.length > 3 || (p.length > 1 && p[0] === '0') || Number(p) > 255) return false;
  }
  return true;
}

/**
 * IPv6 as matched by the pattern (hex groups and at most one `::`). Full form: eight groups.
 * Compressed: at most seven explicit groups, and at least three — or two with one of four hex
 * digits — so that Python slices (`a[1::2]`) and `x::y` paths are not addresses; the price is
 * that `::1` and `fe80::` are not reported.
 */
export function ipv6Valid(text: string): boolean {
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  if (groups.some((g) => g.length === 0 || g.length > 4)) return false;
  if (halves.length === 1) return groups.length === 8;
  if (groups.length > 7) return false;
  return groups.length >= 3 || (groups.length === 2 && groups.some((g) => g.length === 4));
}

/**
 * A payment card number: 13–19 digits, a plausible network prefix (2221–2720 and 3–6: Visa,
 * Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro), the grouping people write (no
 * separator, or one separator kind in groups of four — or Amex/Diners 4-6-5 / 4-6-4), and Luhn.
 */
export function cardValid(match: string): boolean {
  const groups = match.split(/[ -]/);
  const digits = groups.join('');
  if (digits.length < 13 || digits.length > 19) return false;
  if (groups.length > 1) {
    if (match.includes(' ') && match.includes('-')) return false;
    const lens = groups.map((g) => g.length);
    const fours = lens.slice(0, -1).every((l) => l === 4) && lens[lens.length - 1] <= 4 && lens.length >= 3;
    const amex = lens.length === 3 && lens[0] === 4 && lens[1] === 6 && (lens[2] === 5 || lens[2] === 4);
    if (!fours && !amex) return false;
  }
  const first = digits.charCodeAt(0) - 48;
  const prefix4 = Number(digits.slice(0, 4));
  if (!((first >= 3 && first <= 6) || (prefix4 >= 2221 && prefix4 <= 2720))) return false;
  return luhnValid(digits);
}
