import { createHash } from 'node:crypto';
import type { HandlerEntry } from '../router';
import { PROBLEMS, problem } from '../problem';
import { isoTimestamp } from '../clock';
import type { PaymentRecord } from '../store';
import { applyTopUp } from '../domain/top-up';
import { makeUtrn } from '../../fixtures/domain/utrn';
import type { Handler, HandlerContext, Reply } from './context';
import { callerOf, json } from './context';
import { currentBalance, ownDevice } from './energy';
import { page } from './pagination';
import personas from '../../fixtures/personas.json';

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

/** The reply a stored payment stands for: 201 when applied, 402 payment-declined when declined. */
function outcome(payment: PaymentRecord, replayed: boolean): Reply {
  const headers = { ...location(payment.paymentId), ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}) };
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

/** A fresh UTRN: 19-digit body starting 739-753 plus its check digit (domain.md), used once. */
function newUtrn(ctx: HandlerContext): string {
  const { random, store } = ctx.services;
  for (;;) {
    const utrn = makeUtrn(String(random.int(739, 753)) + random.digits(16));
    if (!store.usedUtrns.has(utrn)) {
      store.usedUtrns.add(utrn);
      return utrn;
    }
  }
}

/**
 * MakePayment (a top-up). With the same `Idempotency-Key` and the same body it returns the first result
 * (and `Idempotent-Replayed: true`); with another body, 422. The test token `approve` applies the top-up
 * to the balance in the domain's order; `decline` stores a DECLINED payment and answers 402. Nothing
 * yields between the checks and the write, so concurrent requests cannot apply one key twice.
 * @throws Problem not-found (404), not-prepayment (409), invalid-payment-token (422),
 *   idempotency-key-reused (422), payment-declined (402).
 */
const makePayment: Handler = (ctx) => {
  const caller = callerOf(ctx);
  const body = ctx.body as PaymentBody;
  const { store, clock, random } = ctx.services;
  const key = `${caller.accountIndex}:${String(ctx.headers['idempotency-key']).toLowerCase()}`;
  const fingerprint = createHash('sha256').update(canonical(body)).digest('hex');
  const earlier = store.idempotency.get(key);
  if (earlier) {
    if (earlier.fingerprint !== fingerprint) {
      throw problem(
        PROBLEMS.IDEMPOTENCY_KEY_REUSED,
        'This Idempotency-Key was used with a different body; use a new key for a new payment.',
      );
    }
    return outcome(store.payments.get(earlier.paymentId)!.payment, true);
  }
  const device = ownDevice(ctx, body.deviceId);
  const { state } = currentBalance(ctx, device);
  const { approve, decline } = personas.paymentTokens;
  if (body.paymentToken !== approve && body.paymentToken !== decline) {
    throw problem(
      PROBLEMS.INVALID_PAYMENT_TOKEN,
      `The mock accepts only its test payment tokens: "${approve}" (approves) and "${decline}" (declines).`,
    );
  }
  const now = isoTimestamp(clock.now());
  const applied = body.paymentToken === approve;
  // Built in the contract's field order, so the JSON reads the same as the schema.
  const payment: PaymentRecord = {
    paymentId: random.uuid(),
    deviceId: device.device.deviceId,
    amountPence: body.amountPence,
    method: body.method,
    status: applied ? 'APPLIED' : 'DECLINED',
    ...(applied ? { utrn: newUtrn(ctx) } : {}),
    createdAt: now,
    ...(applied ? { appliedAt: now } : {}),
  };
  if (applied) {
    store.balances.set(payment.deviceId, {
      state: applyTopUp(state, body.amountPence).balance,
      changedAt: clock.now(),
    });
  }
  store.addPayment(caller.accountIndex, payment);
  store.idempotency.set(key, { fingerprint, paymentId: payment.paymentId });
  return outcome(payment, false);
};

const getPayment: Handler = (ctx) => {
  const paymentId = String(ctx.params.paymentId).toLowerCase();
  const found = ctx.services.store.payments.get(paymentId);
  if (!found || found.accountIndex !== callerOf(ctx).accountIndex) {
    throw problem(PROBLEMS.NOT_FOUND, `You have no payment ${paymentId}; ListPayments shows yours.`);
  }
  return json(200, found.payment);
};

/** ListPayments: the caller's payments, newest first, optionally for one of their devices. */
const listPayments: Handler = (ctx) => {
  const caller = callerOf(ctx);
  const deviceId = ctx.query.deviceId as string | undefined;
  if (deviceId !== undefined) ownDevice(ctx, deviceId);
  const { store } = ctx.services;
  const all = (store.paymentsByAccount.get(caller.accountIndex) ?? [])
    .map((id) => store.payments.get(id)!.payment)
    .filter((p) => deviceId === undefined || p.deviceId === deviceId)
    .reverse();
  return json(200, page(all, ctx.query));
};

export const PAYMENT_HANDLERS: Record<string, HandlerEntry> = {
  MakePayment: { handle: makePayment },
  GetPayment: { handle: getPayment },
  ListPayments: { handle: listPayments },
};
