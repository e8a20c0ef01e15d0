import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  cardValid,
  compilePiiDetector,
  ibanValid,
  ipv6Valid,
  luhnValid,
  PII_ENTITIES,
  type PiiEntity,
} from '../../../engine/guardrails/detectors/index.js';

const all = compilePiiDetector(PII_ENTITIES);
const labelled = (text: string) => all.find(text).map((s) => `${s.label}:${text.slice(s.start, s.end)}`);

const POSITIVES: Record<PiiEntity, string[]> = {
  email: ['john.doe+tag@example.co.uk', 'a@b.io', 'first_last@sub.domain.example.org'],
  phone: [
    '+44 20 7946 0958',
    '+1 (415) 555-2671',
    '(415) 555-2671',
    '020 7946 0958',
    '415-555-2671',
    '415.555.2671',
    '+33 6 12 34 56 78',
    '+4930123456789',
    '01 23 45 67 89',
  ],
  card: [
    '4111 1111 1111 1111',
    '4111-1111-1111-1111',
    '5555555555554444',
    '3782 822463 10005',
    '6011000990139424',
  ],
  iban: [
    'GB82 WEST 1234 5698 7654 32',
    'DE89370400440532013000',
    'FR14 2004 1010 0505 0001 3M02 606',
    'NO9386011117947',
  ],
  ssn: ['078-05-1120', '219-09-9999'],
  ip: ['192.168.1.10', '8.8.8.8', '2001:0db8:85a3:0000:0000:8a2e:0370:7334', '2001:db8::1', 'fe80::1'],
  secret: [
    'sk-proj-abc123DEF456ghi789JKL012mno345',
    'sk-ant-api03-abcdefghijklmnop1234567890',
    'sk-1234567890abcdefghijABCDEFGHIJ1234567890abcdefgh',
    'AKIAIOSFODNN7EXAMPLE',
    'ASIAY34FZKBOKMUTVV7A',
    'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
    'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXY',
    'AIzaSyD-1234567890abcdefghijklmnopqrstu',
    'xoxb-1234567890-abcdefghij',
    'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  ],
};

const NEGATIVES: Record<PiiEntity, string[]> = {
  email: ['@property', 'user@localhost', 'a@b.c', '@types/node'],
  phone: [
    '2024-05-01',
    '12:30:45',
    '1.2.3',
    '1234567890',
    '+1 -2',
    '123-456-7890',
    '555-2671',
    '30000-32767',
  ],
  card: ['4111 1111 1111 1112', '4111111111111111111111', '1234 5678 9012 3456', '12.4111111111111111'],
  iban: ['GB82 WEST 1234 5698 7654 33', 'XX82WEST12345698765432', 'GB82WEST123456987654'],
  ssn: ['000-12-3456', '666-12-3456', '900-12-3456', '123-00-4567', '123-45-0000', '123-45-67890'],
  ip: [
    '256.1.1.1',
    '1.2.3.4.5',
    '01.02.03.04',
    'version 1.2.3.4',
    'v1.2.3.4',
    '12:30:45',
    'a[1::2]',
    '00:1a:2b:3c:4d:5e',
  ],
  secret: ['sk-this-is-not-a-real-key-but-long', 'task-1234567890abcdefghijkl', 'AKIA1234', 'Bearer <token>'],
};

describe('compilePiiDetector', () => {
  for (const entity of PII_ENTITIES) {
    it(`finds ${entity} positives in a sentence`, () => {
      const d = compilePiiDetector([entity]);
      for (const value of POSITIVES[entity]) {
        const text = `Here: ${value}. Thanks`;
        expect(
          d.find(text).map((s) => text.slice(s.start, s.end)),
          value,
        ).toEqual([value]);
        expect(d.find(text)[0].label).toBe(entity);
        expect(value.length).toBeLessThanOrEqual(d.maxMatchLength);
      }
    });

    it(`refuses ${entity} near-misses`, () => {
      for (const value of NEGATIVES[entity]) expect(labelled(`Here: ${value} ok`), value).toEqual([]);
    });
  }

  it('finds only the enabled entities, leftmost-longest across entities', () => {
    const text = 'a@b.io 4111 1111 1111 1111 078-05-1120';
    expect(
      compilePiiDetector(['card'])
        .find(text)
        .map((s) => s.label),
    ).toEqual(['card']);
    expect(labelled(text)).toEqual(['email:a@b.io', 'card:4111 1111 1111 1111', 'ssn:078-05-1120']);
    // A CVV or another group after the number is not part of it.
    expect(labelled('4111 1111 1111 1111 123 and 4111111111111111 12/25')).toEqual([
      'card:4111 1111 1111 1111',
      'card:4111111111111111',
    ]);
  });

  it('honours from, with the text before it as context', () => {
    const text = 'x4111111111111111 4111111111111111';
    expect(all.find(text, 1)).toEqual([{ start: 18, end: 34, label: 'card' }]);
    expect(all.find('mail a@b.io', 6)).toEqual([]);
  });

  it('has zero false positives on the prose and code corpus', () => {
    let count = 0;
    for (const file of ['readme.txt', 'code-ts.txt', 'code-py.txt']) {
      const text = readFileSync(new URL(`./corpus/${file}`, import.meta.url), 'utf8');
      const spans = labelled(text);
      expect(spans, file).toEqual([]);
      count += spans.length;
    }
    expect(count).toBe(0);
  });
});

describe('validators', () => {
  it('Luhn, IBAN, card structure and IPv6 shapes', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('GB82WEST1234569876543')).toBe(false);
    expect(cardValid('4111 1111-1111 1111')).toBe(false);
    expect(ipv6Valid('1::2')).toBe(false);
    expect(ipv6Valid('::')).toBe(false);
  });
});
