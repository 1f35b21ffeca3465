import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RULES, expectedAfterTopUp, jwtClaims, sameJson } from '../../harness/semantics';

const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

test('the README lists every semantic rule with its summary and operations', () => {
  for (const rule of RULES) {
    const row = README.split('\n').find((l) => l.includes(`| \`${rule.id}\``));
    expect({ id: rule.id, row }).toEqual({
      id: rule.id,
      row: expect.stringContaining(rule.operations.join(', ')),
    });
    expect(row!.replace(/\s+/g, ' ')).toContain(rule.summary.replace(/\|/g, '\\|'));
  }
});

describe('expectedAfterTopUp (domain.md "Prepayment balances and top-ups")', () => {
  const balance = (credit: number, limit: number, available: number, owed: number, rate: number) => ({
    creditBalancePence: credit,
    emergencyCredit: {
      limitPence: limit,
      thresholdPence: 100,
      availablePence: available,
      active: available < limit,
    },
    debt: { outstandingPence: owed, recoveryRatePercent: rate },
  });

  test('no debt, no emergency credit in use: the whole top-up is credit', () => {
    expect(expectedAfterTopUp(balance(1000, 500, 500, 0, 0), 700)).toEqual({
      creditBalancePence: 1700,
      availablePence: 500,
      outstandingPence: 0,
    });
  });

  test('debt recovery share first (rounded down, at most what is owed), then used emergency credit', () => {
    // 10% of 999 = 99.9 -> 99 to debt; 300 of emergency credit used is repaid; 600 to credit.
    expect(expectedAfterTopUp(balance(0, 500, 200, 5000, 10), 999)).toEqual({
      creditBalancePence: 600,
      availablePence: 500,
      outstandingPence: 4901,
    });
    // Owed less than the share: only what is owed.
    expect(expectedAfterTopUp(balance(0, 500, 500, 30, 50), 1000)).toMatchObject({
      creditBalancePence: 970,
      outstandingPence: 0,
    });
  });

  test('a top-up smaller than the emergency credit in use repays part of it and adds no credit', () => {
    expect(expectedAfterTopUp(balance(0, 1000, 0, 0, 0), 400)).toEqual({
      creditBalancePence: 0,
      availablePence: 400,
      outstandingPence: 0,
    });
  });
});

test('jwtClaims reads a JWT payload and refuses anything else', () => {
  const token = ['e30', Buffer.from('{"sub":"a","exp":2}').toString('base64url'), 'sig'].join('.');
  expect(jwtClaims(token)).toEqual({ sub: 'a', exp: 2 });
  expect(jwtClaims('opaque-token')).toBeUndefined();
  expect(jwtClaims('a.!!!.c')).toBeUndefined();
  expect(jwtClaims(undefined)).toBeUndefined();
});

test('sameJson ignores member order, not values', () => {
  expect(sameJson({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
  expect(sameJson({ a: 1 }, { a: 1, b: undefined })).toBe(true);
  expect(sameJson({ a: 1 }, { a: '1' })).toBe(false);
  expect(sameJson([1, 2], [2, 1])).toBe(false);
});
