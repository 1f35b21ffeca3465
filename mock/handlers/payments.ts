import { createHash } from 'node:crypto';
import type { HandlerEntry } from './context';
import { PROBLEMS, problem } from '../problem';
import { isoTimestamp } from '../clock';
import type { PaymentRecord, PendingPayment, SettleDecision } from '../store';
import { applyTopUp } from '../domain/top-up';
import type { Handler, Reply, Services } from './context';
import { callerOf, json } from './context';
import { balanceOf, ownDevice } from './energy';
import { pageBounds } from './pagination';
import personas from '../../fixtures/personas.json';

/** What each test payment token does: its status at once, and for PENDING what it settles as. */
const TEST_TOKENS: ReadonlyMap<
  string,
  { status: PaymentRecord['status']; settlesAs?: PendingPayment['outcome'] }
> = new Map([
  [personas.paymentTokens.approve, { status: 'APPLIED' }],
  [personas.paymentTokens.decline, { status: 'DECLINED' }],
  [personas.paymentTokens.pending, { status: 'PENDING', settlesAs: 'APPLIED' }],
  [personas.paymentTokens.pendingDecline, { status: 'PENDING', settlesAs: 'DECLINED' }],
]);

interface PaymentBody {
  deviceId: string;
  amountPence: number;
  method: PaymentRecord['method'];
  paymentToken: string;
}

/** Canonical JSON (keys sorted) so that the same body in another key order is the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function location(paymentId: string): Record<string, string> {
  return { Location: `/api/energy/payments/${paymentId}` };
}

/**
 * The reply a stored payment stands for, as it is now: 202 while pending, 201 when applied, 402
 * payment-declined (naming the payment) when declined. Replays answer the same way.
 */
function outcome(payment: PaymentRecord, replayed: boolean): Reply {
  const headers = { ...location(payment.paymentId), ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}) };
  if (payment.status === 'PENDING') return json(202, payment, headers);
  if (payment.status === 'DECLINED') {
    throw problem(
      PROBLEMS.PAYMENT_DECLINED,
      'The payment provider declined this payment token; nothing was charged or applied.',
      { paymentId: payment.paymentId },
      headers,
    );
  }
  return json(201, payment, headers);
}

/**
 * How one due pending payment settles, as of its due time: APPLIED tops up the meter's balance in the
 * domain's order (`applyTopUp`) with a new UTRN and `appliedAt` = the due time; DECLINED changes no
 * balance. Pure: the store applies what it returns (atomically, each pending payment once).
 */
function settlement(services: Services): SettleDecision {
  return (pending, stored, current, mint) => {
    const { paymentId, deviceId, amountPence, method, createdAt } = stored;
    const declined: PaymentRecord = {
      paymentId,
      deviceId,
      amountPence,
      method,
      status: 'DECLINED',
      createdAt,
    };
    if (pending.outcome !== 'APPLIED') return { payment: declined };
    const state = current?.state ?? services.world.findDevice(deviceId)?.device.balance;
    if (!state) return { payment: declined };
    return {
      balance: { state: applyTopUp(state, amountPence).balance, changedAt: pending.dueAt },
      // Built in the contract's field order, so the JSON reads the same as the schema.
      payment: {
        paymentId,
        deviceId,
        amountPence,
        method,
        status: 'APPLIED',
        utrn: mint.utrn(),
        createdAt,
        appliedAt: isoTimestamp(pending.dueAt),
      },
    };
  };
}

/**
 * Settles every PENDING payment whose due time (createdAt + `config.paymentDelaySeconds` seconds) is at
 * or before the mock's clock, in due order (ties in creation order), each as of its due time, so the
 * outcome does not depend on when it is looked at. Settling is lazy: MakePayment, GetPayment,
 * ListPayments and GetBalance call this before reading; so should anything else that reads payments or
 * balances from the store (for example a state export). Source: the contract's MakePayment 202 and
 * api.md "Payment" (an applied top-up changes the balance in the domain's order).
 * @returns how many payments were settled (0 when none was due).
 */
export function settleDuePayments(services: Services): Promise<number> {
  return services.store.settleDue(services.clock.now(), settlement(services));
}

/**
 * MakePayment (a top-up). With the same `Idempotency-Key` and the same body it returns the first result
 * as it stands now (and `Idempotent-Replayed: true`): 202 while pending, then 201 or 402; with another
 * body, 422. The test token `approve` applies the top-up to the balance in the domain's order; `decline`
 * stores a DECLINED payment and answers 402; `pending` and `pendingDecline` store a PENDING payment and
 * answer 202, which settles as APPLIED or DECLINED after `config.paymentDelaySeconds` seconds of the
 * mock's clock (at once, so 201 or 402, when the delay is 0). Nothing yields between the checks and the
 * write, so concurrent requests cannot apply one key twice.
 * @throws Problem not-found (404), not-prepayment (409), invalid-payment-token (422),
 *   idempotency-key-reused (422), payment-declined (402).
 */
const makePayment: Handler = async (ctx) => {
  const caller = callerOf(ctx);
  const body = ctx.body as PaymentBody;
  const { store, clock, config } = ctx.services;
  await settleDuePayments(ctx.services);
  const key = `${caller.accountIndex}:${String(ctx.headers['idempotency-key']).toLowerCase()}`;
  const fingerprint = createHash('sha256').update(canonical(body)).digest('hex');
  const device = ownDevice(ctx, body.deviceId);
  const nowMs = clock.now();
  const result = await store.topUp({
    accountIndex: caller.accountIndex,
    deviceId: device.device.deviceId,
    key,
    fingerprint,
    now: nowMs,
    // Run only when the key is unclaimed, so a replay is judged before the body's device and token.
    decide: (current, mint) => {
      const state = current?.state ?? balanceOf(device);
      const effect = TEST_TOKENS.get(body.paymentToken);
      if (!effect) {
        const { approve, decline, pending, pendingDecline } = personas.paymentTokens;
        throw problem(
          PROBLEMS.INVALID_PAYMENT_TOKEN,
          `The mock accepts only its test payment tokens: "${approve}" (approves), "${decline}" (declines), ` +
            `"${pending}" (pending, then applied) and "${pendingDecline}" (pending, then declined).`,
        );
      }
      const now = isoTimestamp(nowMs);
      const { status } = effect;
      const applied = status === 'APPLIED';
      // Built in the contract's field order, so the JSON reads the same as the schema.
      const payment: PaymentRecord = {
        paymentId: mint.paymentId(),
        deviceId: device.device.deviceId,
        amountPence: body.amountPence,
        method: body.method,
        status,
        ...(applied ? { utrn: mint.utrn() } : {}),
        createdAt: now,
        ...(applied ? { appliedAt: now } : {}),
      };
      return {
        payment,
        ...(applied
          ? { balance: { state: applyTopUp(state, body.amountPence).balance, changedAt: nowMs } }
          : {}),
        ...(status === 'PENDING'
          ? {
              pending: {
                paymentId: payment.paymentId,
                accountIndex: caller.accountIndex,
                dueAt: nowMs + config.paymentDelaySeconds * 1000,
                outcome: effect.settlesAs!,
              },
            }
          : {}),
      };
    },
  });
  if (result.replayed) {
    if (result.fingerprint !== fingerprint) {
      throw problem(
        PROBLEMS.IDEMPOTENCY_KEY_REUSED,
        'This Idempotency-Key was used with a different body; use a new key for a new payment.',
      );
    }
    return outcome(result.payment, true);
  }
  if (result.payment.status !== 'PENDING' || config.paymentDelaySeconds > 0)
    return outcome(result.payment, false);
  // With a delay of 0 it is due at once: answer with the settled payment.
  await settleDuePayments(ctx.services);
  return outcome((await store.payment(result.payment.paymentId))?.payment ?? result.payment, false);
};

/** GetPayment: one of the caller's payments, pending ones settled first. @throws Problem not-found (404). */
const getPayment: Handler = async (ctx) => {
  await settleDuePayments(ctx.services);
  const paymentId = String(ctx.params.paymentId).toLowerCase();
  const found = await ctx.services.store.payment(paymentId);
  if (!found || found.accountIndex !== callerOf(ctx).accountIndex) {
    throw problem(PROBLEMS.NOT_FOUND, `You have no payment ${paymentId}; ListPayments shows yours.`);
  }
  return json(200, found.payment);
};

/**
 * ListPayments: the caller's payments, newest first, optionally for one of their devices, in O(page)
 * from the store's per-account and per-device indexes. `total` counts the payments kept (at most the
 * `paymentsPerAccount` setting; older ones are dropped).
 */
const listPayments: Handler = async (ctx) => {
  const caller = callerOf(ctx);
  const deviceId = ctx.query.deviceId as string | undefined;
  if (deviceId !== undefined) ownDevice(ctx, deviceId);
  await settleDuePayments(ctx.services);
  const { limit, offset } = pageBounds(ctx.query);
  const slice = await ctx.services.store.paymentPage(caller.accountIndex, deviceId, offset, limit);
  return json(200, { items: slice.items, total: slice.total, limit, offset });
};

export const PAYMENT_HANDLERS: Record<string, HandlerEntry> = {
  MakePayment: { handle: makePayment },
  GetPayment: { handle: getPayment },
  ListPayments: { handle: listPayments },
};
