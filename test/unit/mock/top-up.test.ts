import { applyTopUp } from '../../../mock/domain/top-up';
import type { BalanceState } from '../../../fixtures/types';

const balance = (
  over: Partial<{
    credit: number;
    limit: number;
    available: number;
    active: boolean;
    owed: number;
    rate: number;
  }>,
): BalanceState => ({
  creditBalancePence: over.credit ?? 0,
  emergencyCredit: {
    limitPence: over.limit ?? 1500,
    thresholdPence: 100,
    availablePence: over.available ?? 1500,
    active: over.active ?? false,
  },
  debt: { outstandingPence: over.owed ?? 0, recoveryRatePercent: over.rate ?? 0 },
  lowCreditWarningPence: 200,
});

// domain.md "Prepayment balances and top-ups": debt recovery share first, then used emergency credit,
// then credit.
test.each([
  [
    'no debt, no emergency credit in use: all to credit',
    balance({ credit: 100 }),
    1000,
    [0, 0, 1000],
    [1100, 1500, false, 0],
  ],
  [
    '10% recovery of 1000 is 100 to debt',
    balance({ owed: 5000, rate: 10 }),
    1000,
    [100, 0, 900],
    [900, 1500, false, 4900],
  ],
  [
    'the share is rounded down',
    balance({ owed: 5000, rate: 10 }),
    999,
    [99, 0, 900],
    [900, 1500, false, 4901],
  ],
  ['never more than is owed', balance({ owed: 30, rate: 25 }), 1000, [30, 0, 970], [970, 1500, false, 0]],
  [
    'used emergency credit is repaid before credit',
    balance({ available: 500, active: true }),
    600,
    [0, 600, 0],
    [0, 1100, true, 0],
  ],
  [
    'emergency credit ends when fully repaid',
    balance({ available: 500, active: true }),
    1200,
    [0, 1000, 200],
    [200, 1500, false, 0],
  ],
  [
    'all three in order',
    balance({ available: 1000, active: true, owed: 2000, rate: 20 }),
    1000,
    [200, 500, 300],
    [300, 1500, false, 1800],
  ],
])(
  '%s',
  (_name, before, amount, [debt, ec, credit], [creditAfter, availableAfter, activeAfter, owedAfter]) => {
    const { balance: after, split } = applyTopUp(before, amount);
    expect(split).toEqual({ debtRecoveryPence: debt, emergencyCreditRepaidPence: ec, creditPence: credit });
    expect(split.debtRecoveryPence + split.emergencyCreditRepaidPence + split.creditPence).toBe(amount);
    expect(after.creditBalancePence).toBe(creditAfter);
    expect(after.emergencyCredit.availablePence).toBe(availableAfter);
    expect(after.emergencyCredit.active).toBe(activeAfter);
    expect(after.debt.outstandingPence).toBe(owedAfter);
  },
);

test('the input balance is left unchanged (a pure function)', () => {
  const before = balance({ available: 500, active: true, owed: 100, rate: 50 });
  const copy = structuredClone(before);
  applyTopUp(before, 1000);
  expect(before).toEqual(copy);
});

test.each([0, -1, 1.5, Number.NaN])('rejects a top-up of %p pence', (amount) => {
  expect(() => applyTopUp(balance({}), amount)).toThrow(RangeError);
});
