import { createHash } from 'node:crypto';
import type { HandlerEntry } from './context';
import { PROBLEMS, problem } from '../problem';
import { isoTimestamp } from '../clock';
import type { PaymentRecord, PendingPayment } from '../store';
import { applyTopUp } from '../domain/top-up';
import { makeUtrn } from '../../fixtures/domain/utrn';
import type { Handler, Reply, Services } from './context';
import { callerOf, json } from './context';
import { currentBalance, ownDevice } from './energy';
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
 * A fresh UTRN: 19-digit body starting 739-753 plus its check digit (domain.md), none of a stored
 * payment's (the store records it with the payment, and forgets it when the payment is dropped).
 */
function newUtrn(services: Services): string {
  const { random, store } = services;
  for (;;) {
    const utrn = makeUtrn(String(random.int(739, 753)) + random.digits(16));
    if (!store.usedUtrns.has(utrn)) return utrn;
  }
}

/**
 * Settles one pending payment as of its due time: APPLIED tops up the meter's balance in the domain's
 * order (`applyTopUp`) with a new UTRN and `appliedAt` = the due time; DECLINED changes no balance.
 */
function settle(services: Services, pending: PendingPayment): void {
  const { store, world } = services;
  store.pendingPayments.delete(pending.paymentId);
  const entry = store.payments.get(pending.paymentId);
  if (!entry || entry.payment.status !== 'PENDING') return;
  const { paymentId, deviceId, amountPence, method, createdAt } = entry.payment;
  let payment: PaymentRecord = { paymentId, deviceId, amountPence, method, status: 'DECLINED', createdAt };
  if (pending.outcome === 'APPLIED') {
    const state = store.balances.get(deviceId)?.state ?? world.findDevice(deviceId)?.device.balance;
    if (state) {
      store.balances.set(deviceId, {
        state: applyTopUp(state, amountPence).balance,
        changedAt: pending.dueAt,
      });
      // Built in the contract's field order, so the JSON reads the same as the schema.
      payment = {
        paymentId,
        deviceId,
        amountPence,
        method,
        status: 'APPLIED',
        utrn: newUtrn(services),
        createdAt,
        appliedAt: isoTimestamp(pending.dueAt),
      };
    }
  }
  store.updatePayment(payment);
}

/**
 * A payment id from the seed (so runs repeat) that no stored payment has: after a reset and a state
 * import (`PUT /__admin/state`) the seeded sequence starts again, and an id is used once.
 */
function newPaymentId(services: Services): string {
  for (;;) {
    const id = services.random.uuid();
    if (!services.store.payments.has(id)) return id;
  }
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
export function settleDuePayments(services: Services): number {
  const { store, clock } = services;
  if (store.pendingPayments.size === 0) return 0;
  const now = clock.now();
  // Array sort is stable, and the map iterates in creation order.
  const due = [...store.pendingPayments.values()]
    .filter((p) => p.dueAt <= now)
    .sort((a, b) => a.dueAt - b.dueAt);
  for (const pending of due) settle(services, pending);
  return due.length;
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
const makePayment: Handler = (ctx) => {
  const caller = callerOf(ctx);
  const body = ctx.body as PaymentBody;
  const { store, clock, config } = ctx.services;
  settleDuePayments(ctx.services);
  const key = `${caller.accountIndex}:${String(ctx.headers['idempotency-key']).toLowerCase()}`;
  const fingerprint = createHash('sha256').update(canonical(body)).digest('hex');
  const earlier = store.idempotentRequest(key, clock.now());
  // A key is dropped with its payment, so a live key always has one; the check only keeps that so.
  const replay = earlier && store.payments.get(earlier.paymentId);
  if (earlier && replay) {
    if (earlier.fingerprint !== fingerprint) {
      throw problem(
        PROBLEMS.IDEMPOTENCY_KEY_REUSED,
        'This Idempotency-Key was used with a different body; use a new key for a new payment.',
      );
    }
    return outcome(replay.payment, true);
  }
  const device = ownDevice(ctx, body.deviceId);
  const { state } = currentBalance(ctx, device);
  const effect = TEST_TOKENS.get(body.paymentToken);
  if (!effect) {
    const { approve, decline, pending, pendingDecline } = personas.paymentTokens;
    throw problem(
      PROBLEMS.INVALID_PAYMENT_TOKEN,
      `The mock accepts only its test payment tokens: "${approve}" (approves), "${decline}" (declines), ` +
        `"${pending}" (pending, then applied) and "${pendingDecline}" (pending, then declined).`,
    );
  }
  const nowMs = clock.now();
  const now = isoTimestamp(nowMs);
  const { status } = effect;
  const applied = status === 'APPLIED';
  // Built in the contract's field order, so the JSON reads the same as the schema.
  const payment: PaymentRecord = {
    paymentId: newPaymentId(ctx.services),
    deviceId: device.device.deviceId,
    amountPence: body.amountPence,
    method: body.method,
    status,
    ...(applied ? { utrn: newUtrn(ctx.services) } : {}),
    createdAt: now,
    ...(applied ? { appliedAt: now } : {}),
  };
  if (applied) {
    store.balances.set(payment.deviceId, {
      state: applyTopUp(state, body.amountPence).balance,
      changedAt: nowMs,
    });
  }
  store.addPayment(caller.accountIndex, payment, { key, fingerprint, createdAt: nowMs });
  if (status === 'PENDING') {
    store.pendingPayments.set(payment.paymentId, {
      paymentId: payment.paymentId,
      accountIndex: caller.accountIndex,
      dueAt: nowMs + config.paymentDelaySeconds * 1000,
      outcome: effect.settlesAs!,
    });
    // With a delay of 0 it is due at once: answer with the settled payment.
    settleDuePayments(ctx.services);
  }
  return outcome(store.payments.get(payment.paymentId)!.payment, false);
};

/** GetPayment: one of the caller's payments, pending ones settled first. @throws Problem not-found (404). */
const getPayment: Handler = (ctx) => {
  settleDuePayments(ctx.services);
  const paymentId = String(ctx.params.paymentId).toLowerCase();
  const found = ctx.services.store.payments.get(paymentId);
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
const listPayments: Handler = (ctx) => {
  const caller = callerOf(ctx);
  const deviceId = ctx.query.deviceId as string | undefined;
  if (deviceId !== undefined) ownDevice(ctx, deviceId);
  settleDuePayments(ctx.services);
  const { limit, offset } = pageBounds(ctx.query);
  const slice = ctx.services.store.paymentPage(caller.accountIndex, deviceId, offset, limit);
  return json(200, { items: slice.items, total: slice.total, limit, offset });
};

export const PAYMENT_HANDLERS: Record<string, HandlerEntry> = {
  MakePayment: { handle: makePayment },
  GetPayment: { handle: getPayment },
  ListPayments: { handle: listPayments },
};
