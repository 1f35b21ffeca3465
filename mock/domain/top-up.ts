import type { BalanceState } from '../../fixtures/types';

/** How a top-up was shared out, in pence. */
export interface TopUpSplit {
  debtRecoveryPence: number;
  emergencyCreditRepaidPence: number;
  creditPence: number;
}

/**
 * Applies a top-up of `amountPence` to a prepayment balance in the order meters apply it (domain.md
 * "Prepayment balances and top-ups"): first the payment-based debt recovery share (`recoveryRatePercent`
 * of the top-up, rounded down, never more than what is owed), then repaying emergency credit that was
 * used (`limitPence - availablePence`; emergency credit ends when fully repaid), then the rest to credit.
 * Pure: returns a new balance.
 */
export function applyTopUp(
  balance: BalanceState,
  amountPence: number,
): { balance: BalanceState; split: TopUpSplit } {
  if (!Number.isSafeInteger(amountPence) || amountPence <= 0)
    throw new RangeError('amountPence must be a positive integer');
  const debtRecoveryPence = Math.min(
    balance.debt.outstandingPence,
    Math.floor((amountPence * balance.debt.recoveryRatePercent) / 100),
  );
  let rest = amountPence - debtRecoveryPence;
  const used = Math.max(0, balance.emergencyCredit.limitPence - balance.emergencyCredit.availablePence);
  const emergencyCreditRepaidPence = Math.min(rest, used);
  rest -= emergencyCreditRepaidPence;
  const availablePence = balance.emergencyCredit.availablePence + emergencyCreditRepaidPence;
  return {
    balance: {
      ...balance,
      creditBalancePence: balance.creditBalancePence + rest,
      emergencyCredit: {
        ...balance.emergencyCredit,
        availablePence,
        active: balance.emergencyCredit.active && availablePence < balance.emergencyCredit.limitPence,
      },
      debt: { ...balance.debt, outstandingPence: balance.debt.outstandingPence - debtRecoveryPence },
    },
    split: { debtRecoveryPence, emergencyCreditRepaidPence, creditPence: rest },
  };
}
