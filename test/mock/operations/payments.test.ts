import { isValidUtrn } from '../../../fixtures/domain';
import { memoryOf, personas, testMock } from '../../helpers/mock';
import { settleDuePayments } from '../../../mock/handlers/payments';
import { commonErrorTests } from '../../helpers/common-errors';
import { APPROVE, DECLINE, SAMPLE, bearer, discover, newKey } from '../../helpers/operations';
import type { Estate } from '../../helpers/operations';
import {
  expectNoLeak,
  expectNotLogged,
  expectProblem,
  expectValidationError,
  unexercisedStatuses,
} from '../../helpers/problems';
import type { FieldErrorExpectation } from '../../helpers/problems';

const mock = testMock();

const PAYMENTS = '/api/energy/payments';
const PENDING = personas.paymentTokens.pending;
const PENDING_DECLINE = personas.paymentTokens.pendingDecline;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Balance {
  creditBalancePence: number;
  emergencyCredit: { limitPence: number; thresholdPence: number; availablePence: number; active: boolean };
  debt: { outstandingPence: number; recoveryRatePercent: number };
  lowCreditWarningPence: number;
}

/** MakePayment with a fresh Idempotency-Key, or `key`, or (null) none. */
const pay = (token: string, body: unknown, key: string | null = newKey()) => {
  const req = mock.call('post', PAYMENTS).set(bearer(token));
  return (key === null ? req : req.set('Idempotency-Key', key)).send(body as object);
};

const topUp = (deviceId: string, amountPence = 1500, extra: Record<string, unknown> = {}) => ({
  deviceId,
  amountPence,
  method: 'CARD',
  paymentToken: APPROVE,
  ...extra,
});

/** The meter's balance without `asAt`. */
async function balanceOf(token: string, deviceId: string): Promise<Balance> {
  const res = await mock.call('get', `/api/energy/devices/${deviceId}/balance`).set(bearer(token));
  expect(res.status).toBe(200);
  return Object.fromEntries(
    Object.entries(res.body).filter(([k]) => k !== 'asAt' && k !== 'deviceId'),
  ) as unknown as Balance;
}

async function listPayments(token: string, query: Record<string, unknown> = {}) {
  const res = await mock.call('get', PAYMENTS).query(query).set(bearer(token));
  expect(res.status).toBe(200);
  return res.body as { items: Record<string, unknown>[]; total: number; limit: number; offset: number };
}

/** Balance and payments of a customer's meter, to show that a rejected request changed nothing. */
async function snapshot(estate: Estate, deviceId: string) {
  return { balance: await balanceOf(estate.token, deviceId), payments: await listPayments(estate.token) };
}

/**
 * The balance a top-up should leave, per domain.md "Prepayment balances and top-ups": the debt recovery
 * share first (floor(amount * rate / 100), never more than is owed), then repaying used emergency credit,
 * then credit. Written out here, not taken from the mock.
 */
function afterTopUp(b: Balance, amountPence: number): Balance {
  const debtShare = Math.min(
    b.debt.outstandingPence,
    Math.floor((amountPence * b.debt.recoveryRatePercent) / 100),
  );
  let rest = amountPence - debtShare;
  const used = b.emergencyCredit.limitPence - b.emergencyCredit.availablePence;
  const repaid = Math.min(rest, used);
  rest -= repaid;
  const availablePence = b.emergencyCredit.availablePence + repaid;
  return {
    ...b,
    creditBalancePence: b.creditBalancePence + rest,
    emergencyCredit: {
      ...b.emergencyCredit,
      availablePence,
      active: b.emergencyCredit.active && availablePence < b.emergencyCredit.limitPence,
    },
    debt: { ...b.debt, outstandingPence: b.debt.outstandingPence - debtShare },
  };
}

commonErrorTests(mock, ['MakePayment', 'GetPayment', 'ListPayments']);

// --- MakePayment: applied -----------------------------------------------------------------------

test('MakePayment with the approve token answers 201 APPLIED with a valid UTRN and Location', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME');
  const res = await pay(estate.token, topUp(meter.deviceId, 2000));
  expect(res.status).toBe(201);
  const now = new Date(mock.clock.now()).toISOString();
  expect(res.body).toEqual({
    paymentId: expect.stringMatching(UUID),
    deviceId: meter.deviceId,
    amountPence: 2000,
    method: 'CARD',
    status: 'APPLIED',
    utrn: expect.stringMatching(/^[0-9]{20}$/),
    createdAt: now,
    appliedAt: now,
  });
  expect(isValidUtrn(res.body.utrn)).toBe(true);
  expect(res.headers.location).toBe(`${PAYMENTS}/${res.body.paymentId}`);
  expect(res.headers['idempotent-replayed']).toBeUndefined();
  expectNoLeak(res, [APPROVE]);
  const got = await mock.call('get', res.headers.location!).set(bearer(estate.token));
  expect(got.body).toEqual(res.body);
});

test.each([
  ['CARD', 'ESME', 100],
  ['APPLE_PAY', 'GSME', 49900],
  ['GOOGLE_PAY', 'ESME', 1234],
] as const)(
  'a %s top-up of the basic persona\u2019s %s by %i pence raises its credit by exactly that',
  async (method, type, amount) => {
    const estate = await discover(mock, 'basic');
    const meter = estate.device(type);
    const before = await balanceOf(estate.token, meter.deviceId);
    const res = await pay(estate.token, topUp(meter.deviceId, amount, { method }));
    expect(res.status).toBe(201);
    expect(res.body.method).toBe(method);
    expect(await balanceOf(estate.token, meter.deviceId)).toEqual({
      ...before,
      creditBalancePence: before.creditBalancePence + amount,
    });
  },
);

test.each([100, 1000, 49900])(
  'a top-up of %i pence for the in-debt persona goes to debt first, then emergency credit, then credit',
  async (amount) => {
    const estate = await discover(mock, 'in-debt');
    const meter = estate.device('ESME');
    const before = await balanceOf(estate.token, meter.deviceId);
    expect(before.debt.outstandingPence).toBeGreaterThan(0);
    expect(before.emergencyCredit.active).toBe(true);
    const res = await pay(estate.token, topUp(meter.deviceId, amount));
    expect(res.status).toBe(201);
    const after = await balanceOf(estate.token, meter.deviceId);
    const expected = afterTopUp(before, amount);
    expect(after).toEqual(expected);
    // The first two steps of the order happened: debt recovered, emergency credit (partly) repaid.
    expect(after.debt.outstandingPence).toBeLessThan(before.debt.outstandingPence);
    expect(after.emergencyCredit.availablePence).toBeGreaterThan(before.emergencyCredit.availablePence);
    // Credit rises only by what is left after both.
    expect(after.creditBalancePence - before.creditBalancePence).toBeLessThan(amount);
  },
);

test('a top-up larger than the debt share can take never recovers more debt than is owed', async () => {
  const estate = await discover(mock, 'in-debt');
  const meter = estate.device('ESME');
  let before = await balanceOf(estate.token, meter.deviceId);
  // Top up until the debt is gone; the last share is capped at what was still owed.
  for (let i = 0; i < 100 && before.debt.outstandingPence > 0; i++) {
    expect((await pay(estate.token, topUp(meter.deviceId, 49900))).status).toBe(201);
    const after = await balanceOf(estate.token, meter.deviceId);
    expect(after).toEqual(afterTopUp(before, 49900));
    before = after;
  }
  expect(before.debt.outstandingPence).toBe(0);
  const last = await pay(estate.token, topUp(meter.deviceId, 1000));
  expect(last.status).toBe(201);
  const after = await balanceOf(estate.token, meter.deviceId);
  expect(after.creditBalancePence).toBe(before.creditBalancePence + 1000);
});

test('the two-factor persona can pay once two-step authentication is done', async () => {
  const estate = await discover(mock, 'two-factor');
  const res = await pay(estate.token, topUp(estate.device('ESME').deviceId));
  expect(res.status).toBe(201);
});

// --- MakePayment: declined ----------------------------------------------------------------------

test('MakePayment with the decline token is 402 payment-declined naming a DECLINED payment; balance unchanged', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME');
  const before = await balanceOf(estate.token, meter.deviceId);
  const res = await pay(estate.token, topUp(meter.deviceId, 2500, { paymentToken: DECLINE }));
  const body = expectProblem(res, 'payment-declined', { detail: /declined/ });
  expect(body.paymentId).toEqual(expect.stringMatching(UUID));
  expectNoLeak(res, [DECLINE]);
  const got = await mock.call('get', `${PAYMENTS}/${body.paymentId}`).set(bearer(estate.token));
  expect(got.status).toBe(200);
  expect(got.body).toEqual({
    paymentId: body.paymentId,
    deviceId: meter.deviceId,
    amountPence: 2500,
    method: 'CARD',
    status: 'DECLINED',
    createdAt: new Date(mock.clock.now()).toISOString(),
  });
  expect(await balanceOf(estate.token, meter.deviceId)).toEqual(before);
  expect((await listPayments(estate.token)).items).toEqual([got.body]);
});

// --- MakePayment: idempotency -------------------------------------------------------------------

test('the same Idempotency-Key with the same body replays the first result with Idempotent-Replayed: true', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME');
  const before = await balanceOf(estate.token, meter.deviceId);
  const key = newKey();
  const first = await pay(estate.token, topUp(meter.deviceId, 700), key);
  mock.clock.advance(30);
  const reordered = { paymentToken: APPROVE, method: 'CARD', amountPence: 700, deviceId: meter.deviceId };
  const again = await pay(estate.token, reordered, key);
  expect(first.status).toBe(201);
  expect(again.status).toBe(201);
  expect(again.body).toEqual(first.body);
  expect(again.headers.location).toBe(first.headers.location);
  expect(again.headers['idempotent-replayed']).toBe('true');
  expect((await balanceOf(estate.token, meter.deviceId)).creditBalancePence).toBe(
    before.creditBalancePence + 700,
  );
  expect((await listPayments(estate.token)).total).toBe(1);
});

test('the same Idempotency-Key replays a decline as the same 402', async () => {
  const estate = await discover(mock, 'basic');
  const body = topUp(estate.device('GSME').deviceId, 300, { paymentToken: DECLINE });
  const key = newKey();
  const first = await pay(estate.token, body, key);
  const again = await pay(estate.token, body, key);
  expectProblem(again, 'payment-declined');
  expect(again.body.paymentId).toBe(first.body.paymentId);
  expect(again.headers['idempotent-replayed']).toBe('true');
  expect((await listPayments(estate.token)).total).toBe(1);
});

test('the same Idempotency-Key with a different body is 422 idempotency-key-reused and changes nothing', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME');
  const key = newKey();
  expect((await pay(estate.token, topUp(meter.deviceId, 700), key)).status).toBe(201);
  const before = await snapshot(estate, meter.deviceId);
  for (const changed of [
    topUp(meter.deviceId, 701),
    topUp(meter.deviceId, 700, { method: 'APPLE_PAY' }),
    topUp(estate.device('GSME').deviceId, 700),
    topUp(meter.deviceId, 700, { paymentToken: DECLINE }),
  ]) {
    const res = await pay(estate.token, changed, key);
    expectProblem(res, 'idempotency-key-reused', { detail: /new key/ });
  }
  expect(await snapshot(estate, meter.deviceId)).toEqual(before);
});

test("an Idempotency-Key is the customer's own: another customer using it makes their own payment", async () => {
  const key = newKey();
  const basic = await discover(mock, 'basic');
  const gasOnly = await discover(mock, 'gas-only');
  const a = await pay(basic.token, topUp(basic.device('GSME').deviceId, 500), key);
  const b = await pay(gasOnly.token, topUp(gasOnly.device('GSME').deviceId, 500), key);
  expect(a.status).toBe(201);
  expect(b.status).toBe(201);
  expect(b.body.paymentId).not.toBe(a.body.paymentId);
  expect(b.headers['idempotent-replayed']).toBeUndefined();
  expect((await listPayments(gasOnly.token)).items).toEqual([b.body]);
});

test('10 concurrent MakePayment calls with one Idempotency-Key make exactly one payment', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME');
  const before = await balanceOf(estate.token, meter.deviceId);
  const key = newKey();
  const results = await Promise.all(
    Array.from({ length: 10 }, () => pay(estate.token, topUp(meter.deviceId, 1100), key)),
  );
  expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
  expect(new Set(results.map((r) => r.body.paymentId)).size).toBe(1);
  expect(results.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(9);
  expect((await listPayments(estate.token)).total).toBe(1);
  expect((await balanceOf(estate.token, meter.deviceId)).creditBalancePence).toBe(
    before.creditBalancePence + 1100,
  );
});

test('10 concurrent MakePayment calls with different keys make 10 payments and add up', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME');
  const before = await balanceOf(estate.token, meter.deviceId);
  const results = await Promise.all(
    Array.from({ length: 10 }, () => pay(estate.token, topUp(meter.deviceId, 100))),
  );
  expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
  expect(new Set(results.map((r) => r.body.utrn)).size).toBe(10);
  expect((await listPayments(estate.token)).total).toBe(10);
  expect((await balanceOf(estate.token, meter.deviceId)).creditBalancePence).toBe(
    before.creditBalancePence + 1000,
  );
});

// --- MakePayment: rejected, nothing changes -----------------------------------------------------

test.each<[string, string | null, RegExp]>([
  ['without an Idempotency-Key', null, /required/],
  ['with an Idempotency-Key that is not a UUID', 'payment-1', /uuid/],
  ['with an empty Idempotency-Key', '', /uuid/],
])('MakePayment %s is 400 validation-error in header and changes nothing', async (_name, key, detail) => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME');
  const before = await snapshot(estate, meter.deviceId);
  const res = await pay(estate.token, topUp(meter.deviceId), key);
  expectValidationError(res, [{ in: 'header', pointer: '#/idempotency-key', detail }], {
    detail: /idempotency-key/,
  });
  expect(await snapshot(estate, meter.deviceId)).toEqual(before);
});

test.each<[string, unknown, RegExp]>([
  ['the string "100"', '100', /integer/],
  ['null', null, /integer/],
  ['99', 99, />= 100/],
  ['49901', 49901, /<= 49900/],
  ['100.5', 100.5, /integer/],
  ['-500', -500, />= 100/],
])(
  'MakePayment rejects amountPence %s with 400 at #/amountPence and changes nothing',
  async (_name, amount, detail) => {
    const estate = await discover(mock, 'basic');
    const meter = estate.device('ESME');
    const before = await snapshot(estate, meter.deviceId);
    const res = await pay(estate.token, topUp(meter.deviceId, 0, { amountPence: amount }));
    expectValidationError(res, [{ in: 'body', pointer: '#/amountPence', detail }]);
    expect(await snapshot(estate, meter.deviceId)).toEqual(before);
  },
);

test.each(['4111111111111111', '4111 1111 1111 1111', '5555-5555-5555-4444', 'tok_1', ''])(
  'MakePayment rejects the paymentToken "%s" (not a PSP token) with 400, without echoing or logging it',
  async (token) => {
    const estate = await discover(mock, 'basic');
    const meter = estate.device('ESME');
    const before = await snapshot(estate, meter.deviceId);
    const res = await pay(estate.token, topUp(meter.deviceId, 500, { paymentToken: token }));
    expectValidationError(res, [{ in: 'body', pointer: '#/paymentToken', detail: /pattern/ }]);
    if (token) {
      expectNoLeak(res, [token]);
      expectNotLogged(mock, [token]);
    }
    expect(await snapshot(estate, meter.deviceId)).toEqual(before);
  },
);

test('MakePayment rejects unknown fields with 400 pointing at each, without echoing their values', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME');
  const before = await snapshot(estate, meter.deviceId);
  const res = await pay(
    estate.token,
    topUp(meter.deviceId, 500, { cardNumber: '4111111111111111', cvv: '737', currency: 'GBP' }),
  );
  expectValidationError(res, [
    { in: 'body', pointer: '#/cardNumber', detail: /not a known field/ },
    { in: 'body', pointer: '#/cvv', detail: /not a known field/ },
    { in: 'body', pointer: '#/currency', detail: /not a known field/ },
  ]);
  expectNoLeak(res, ['4111111111111111', '737']);
  expect(await snapshot(estate, meter.deviceId)).toEqual(before);
});

test('MakePayment lists every violation at once, body and header', async () => {
  const estate = await discover(mock, 'basic');
  const res = await pay(
    estate.token,
    { deviceId: '00-db-12', amountPence: '5', method: 'CASH', paymentToken: 'abc' },
    'not-a-uuid',
  );
  const expected: FieldErrorExpectation[] = [
    { in: 'header', pointer: '#/idempotency-key', detail: /uuid/ },
    { in: 'body', pointer: '#/deviceId', detail: /pattern/ },
    { in: 'body', pointer: '#/amountPence', detail: /integer/ },
    { in: 'body', pointer: '#/method', detail: /CARD/ },
    { in: 'body', pointer: '#/paymentToken', detail: /pattern/ },
  ];
  expectValidationError(res, expected, { detail: /5 problems/ });
});

test('MakePayment with an empty JSON object lists the four required fields', async () => {
  const estate = await discover(mock, 'basic');
  const res = await pay(estate.token, {});
  expectValidationError(
    res,
    ['deviceId', 'amountPence', 'method', 'paymentToken'].map((f) => ({
      in: 'body' as const,
      pointer: `#/${f}`,
      detail: /required/,
    })),
  );
});

test('MakePayment with a well-formed token the provider never issued is 422 invalid-payment-token and changes nothing', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME');
  const before = await snapshot(estate, meter.deviceId);
  const res = await pay(estate.token, topUp(meter.deviceId, 500, { paymentToken: 'tok_live_8Jq2xW7vKp3L' }));
  expectProblem(res, 'invalid-payment-token', { detail: /test payment tokens/ });
  expectNoLeak(res, ['tok_live_8Jq2xW7vKp3L']);
  expect(await snapshot(estate, meter.deviceId)).toEqual(before);
});

test("MakePayment for another customer's meter is 404 not-found, never 403, and changes neither customer", async () => {
  const mine = await discover(mock, 'basic');
  const theirs = await discover(mock, 'in-debt');
  const theirMeter = theirs.device('ESME').deviceId;
  const theirsBefore = await snapshot(theirs, theirMeter);
  const mineBefore = await listPayments(mine.token);
  const res = await pay(mine.token, topUp(theirMeter, 5000));
  expectProblem(res, 'not-found', { detail: /ListDevices/ });
  expect(await snapshot(theirs, theirMeter)).toEqual(theirsBefore);
  expect(await listPayments(mine.token)).toEqual(mineBefore);
});

test('MakePayment for an unknown meter is 404 not-found', async () => {
  const estate = await discover(mock, 'basic');
  const res = await pay(estate.token, topUp(SAMPLE.deviceId));
  expectProblem(res, 'not-found');
  expect((await listPayments(estate.token)).total).toBe(0);
});

test.each(['CHF', 'IHD', 'PPMID'] as const)(
  'MakePayment for a %s is 409 not-prepayment and changes nothing',
  async (type) => {
    const estate = await discover(mock, 'basic');
    const res = await pay(estate.token, topUp(estate.device(type).deviceId));
    expectProblem(res, 'not-prepayment', { detail: /prepayment/ });
    expect((await listPayments(estate.token)).total).toBe(0);
  },
);

test('MakePayment for a meter in credit mode is 409 not-prepayment', async () => {
  // In the seed-42 world the in-debt persona's second premise has credit meters.
  const estate = await discover(mock, 'in-debt');
  const creditMeter = estate.devices.find((d) => d.paymentMode === 'CREDIT');
  expect(creditMeter).toBeDefined();
  const res = await pay(estate.token, topUp(creditMeter!.deviceId));
  expectProblem(res, 'not-prepayment');
  expect((await listPayments(estate.token)).total).toBe(0);
});

// --- GetPayment ---------------------------------------------------------------------------------

test('GetPayment answers 200 with the payment, also for its id in upper case', async () => {
  const estate = await discover(mock, 'basic');
  const paid = await pay(estate.token, topUp(estate.device('ESME').deviceId));
  const res = await mock.call('get', `${PAYMENTS}/${paid.body.paymentId}`).set(bearer(estate.token));
  expect(res.status).toBe(200);
  expect(res.body).toEqual(paid.body);
  const upper = await mock
    .call('get', `${PAYMENTS}/${paid.body.paymentId.toUpperCase()}`)
    .set(bearer(estate.token));
  expect(upper.body).toEqual(paid.body);
});

test("GetPayment answers another customer's payment with 404 not-found, never 403, as for an unknown id", async () => {
  const theirs = await discover(mock, 'gas-only');
  const paid = await pay(theirs.token, topUp(theirs.device('GSME').deviceId));
  const auth = bearer(await mock.token('basic'));
  const res = await mock.call('get', `${PAYMENTS}/${paid.body.paymentId}`).set(auth);
  const body = expectProblem(res, 'not-found', { detail: /ListPayments/ });
  const unknown = await mock.call('get', `${PAYMENTS}/${SAMPLE.paymentId}`).set(auth);
  expectProblem(unknown, 'not-found');
  expect((body.detail as string).replace(paid.body.paymentId, 'ID')).toBe(
    (unknown.body.detail as string).replace(SAMPLE.paymentId, 'ID'),
  );
});

test.each(['abc', '12345', '9b2e4c61-0f3a-4d7b-8e15-6a2c9d3f7b4', '9b2e4c61-0f3a-4d7b-8e15-6a2c9d3f7b40-1'])(
  'GetPayment rejects the malformed id %s with 400 validation-error in path',
  async (bad) => {
    const res = await mock.call('get', `${PAYMENTS}/${bad}`).set(bearer(await mock.token('basic')));
    expectValidationError(res, [{ in: 'path', pointer: '#/paymentId', detail: /uuid/ }]);
  },
);

// --- ListPayments -------------------------------------------------------------------------------

test('ListPayments answers an empty page before any payment', async () => {
  const estate = await discover(mock, 'gas-only');
  expect(await listPayments(estate.token)).toEqual({ items: [], total: 0, limit: 20, offset: 0 });
});

test('ListPayments lists the customer\u2019s payments newest first, and pages them', async () => {
  const estate = await discover(mock, 'basic');
  const ids: string[] = [];
  for (const amount of [100, 200, 300]) {
    const res = await pay(estate.token, topUp(estate.device('ESME').deviceId, amount));
    ids.push(res.body.paymentId);
    mock.clock.advance(60);
  }
  const all = await listPayments(estate.token);
  expect(all.total).toBe(3);
  expect(all.items.map((p) => p.paymentId)).toEqual([...ids].reverse());
  expect(all.items.map((p) => p.amountPence)).toEqual([300, 200, 100]);
  const createdAt = all.items.map((p) => p.createdAt as string);
  expect([...createdAt].sort().reverse()).toEqual(createdAt);
  const page1 = await listPayments(estate.token, { limit: 2 });
  const page2 = await listPayments(estate.token, { limit: 2, offset: 2 });
  expect(page1).toMatchObject({ total: 3, limit: 2, offset: 0 });
  expect([...page1.items, ...page2.items]).toEqual(all.items);
  expect(await listPayments(estate.token, { offset: 3 })).toEqual({
    items: [],
    total: 3,
    limit: 20,
    offset: 3,
  });
});

test('ListPayments filters by deviceId and never shows another customer\u2019s payments', async () => {
  const estate = await discover(mock, 'basic');
  const other = await discover(mock, 'gas-only');
  const esme = await pay(estate.token, topUp(estate.device('ESME').deviceId, 100));
  const gsme = await pay(estate.token, topUp(estate.device('GSME').deviceId, 200));
  await pay(other.token, topUp(other.device('GSME').deviceId, 300));
  expect((await listPayments(estate.token, { deviceId: estate.device('ESME').deviceId })).items).toEqual([
    esme.body,
  ]);
  expect((await listPayments(estate.token, { deviceId: estate.device('GSME').deviceId })).items).toEqual([
    gsme.body,
  ]);
  expect((await listPayments(estate.token)).items).toEqual([gsme.body, esme.body]);
  expect((await listPayments(estate.token, { deviceId: estate.device('CHF').deviceId })).total).toBe(0);
});

test("ListPayments with another customer's deviceId is 404 not-found, never 403", async () => {
  const theirs = await discover(mock, 'gas-only');
  await pay(theirs.token, topUp(theirs.device('GSME').deviceId));
  const res = await mock
    .call('get', PAYMENTS)
    .query({ deviceId: theirs.device('GSME').deviceId })
    .set(bearer(await mock.token('basic')));
  expectProblem(res, 'not-found');
});

test('ListPayments with an unknown deviceId is 404 not-found', async () => {
  const res = await mock
    .call('get', PAYMENTS)
    .query({ deviceId: SAMPLE.deviceId })
    .set(bearer(await mock.token('basic')));
  expectProblem(res, 'not-found');
});

test.each([
  ['deviceId=00-db-12-34-56-78-90-a0', [{ pointer: '#/deviceId', detail: /pattern/ }]],
  ['limit=0', [{ pointer: '#/limit', detail: />= 1/ }]],
  ['limit=101', [{ pointer: '#/limit', detail: /<= 100/ }]],
  ['limit=abc', [{ pointer: '#/limit', detail: /integer/ }]],
  ['limit=5&limit=6', [{ pointer: '#/limit', detail: /more than once/ }]],
  ['offset=-1&deviceId=x', [{ pointer: '#/offset' }, { pointer: '#/deviceId' }]],
])('ListPayments rejects %s with 400 validation-error in query', async (query, errors) => {
  const res = await mock.call('get', `${PAYMENTS}?${query}`).set(bearer(await mock.token('basic')));
  expectValidationError(
    res,
    errors.map((e) => ({ in: 'query' as const, ...e })),
  );
});

// --- MakePayment: pending top-ups (settled by the mock's clock) -------------------------------

/** A body with the pending token (settles APPLIED) or, with `decline`, the pending-decline token. */
const pendingTopUp = (deviceId: string, amountPence = 1500, decline = false) =>
  topUp(deviceId, amountPence, { paymentToken: decline ? PENDING_DECLINE : PENDING });

const DELAY_MS = 30_000;
const iso = (ms: number) => new Date(ms).toISOString();

test('MakePayment with the pending token answers 202 PENDING with Location, no UTRN and no appliedAt', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME');
  const before = await balanceOf(estate.token, meter.deviceId);
  const res = await pay(estate.token, pendingTopUp(meter.deviceId, 2000));
  expect(res.status).toBe(202);
  expect(res.body).toEqual({
    paymentId: expect.stringMatching(UUID),
    deviceId: meter.deviceId,
    amountPence: 2000,
    method: 'CARD',
    status: 'PENDING',
    createdAt: iso(mock.clock.now()),
  });
  expect(res.headers.location).toBe(`${PAYMENTS}/${res.body.paymentId}`);
  expect(res.headers['idempotent-replayed']).toBeUndefined();
  expectNoLeak(res, [PENDING]);
  expect(await balanceOf(estate.token, meter.deviceId)).toEqual(before);
});

test('a pending top-up is PENDING at 29 s and APPLIED at 30 s, raising the basic persona\u2019s credit by exactly its amount', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME');
  const before = await balanceOf(estate.token, meter.deviceId);
  const created = mock.clock.now();
  const paid = await pay(estate.token, pendingTopUp(meter.deviceId, 1234));
  const get = () => mock.call('get', paid.headers.location!).set(bearer(estate.token));

  mock.clock.advance(29);
  const early = await get();
  expect(early.status).toBe(200);
  expect(early.body).toEqual(paid.body);
  expect(await balanceOf(estate.token, meter.deviceId)).toEqual(before);

  mock.clock.advance(1);
  const balance = await mock
    .call('get', `/api/energy/devices/${meter.deviceId}/balance`)
    .set(bearer(estate.token));
  expect(balance.body.asAt).toBe(iso(created + DELAY_MS));
  expect(balance.body.creditBalancePence).toBe(before.creditBalancePence + 1234);
  expect(await balanceOf(estate.token, meter.deviceId)).toEqual({
    ...before,
    creditBalancePence: before.creditBalancePence + 1234,
  });
  const settled = await get();
  expect(settled.status).toBe(200);
  expect(settled.body).toEqual({
    ...paid.body,
    status: 'APPLIED',
    utrn: expect.stringMatching(/^[0-9]{20}$/),
    appliedAt: iso(created + DELAY_MS),
  });
  expect(Object.keys(settled.body)).toEqual([
    'paymentId',
    'deviceId',
    'amountPence',
    'method',
    'status',
    'utrn',
    'createdAt',
    'appliedAt',
  ]);
  expect(isValidUtrn(settled.body.utrn)).toBe(true);
  expect(Date.parse(settled.body.appliedAt) - Date.parse(settled.body.createdAt)).toBe(DELAY_MS);
});

test('a pending top-up first looked at long after its due time is applied as of its due time, once', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('GSME');
  const before = await balanceOf(estate.token, meter.deviceId);
  const created = mock.clock.now();
  const paid = await pay(estate.token, pendingTopUp(meter.deviceId, 500));
  mock.clock.advance(1800); // well past its due time, within the access token's hour
  const got = await mock.call('get', `${PAYMENTS}/${paid.body.paymentId}`).set(bearer(estate.token));
  expect(got.body).toMatchObject({ status: 'APPLIED', appliedAt: iso(created + DELAY_MS) });
  // Reading again settles nothing twice.
  expect((await balanceOf(estate.token, meter.deviceId)).creditBalancePence).toBe(
    before.creditBalancePence + 500,
  );
  expect((await balanceOf(estate.token, meter.deviceId)).creditBalancePence).toBe(
    before.creditBalancePence + 500,
  );
  const again = await mock.call('get', `${PAYMENTS}/${paid.body.paymentId}`).set(bearer(estate.token));
  expect(again.body).toEqual(got.body);
});

test('the pending-decline token answers 202 PENDING and is DECLINED after the delay, never changing the balance', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME');
  const before = await balanceOf(estate.token, meter.deviceId);
  const paid = await pay(estate.token, pendingTopUp(meter.deviceId, 2500, true));
  expect(paid.status).toBe(202);
  expect(paid.body.status).toBe('PENDING');
  expectNoLeak(paid, [PENDING_DECLINE]);
  mock.clock.advance(29);
  expect((await mock.call('get', paid.headers.location!).set(bearer(estate.token))).body.status).toBe(
    'PENDING',
  );
  mock.clock.advance(1);
  const settled = await mock.call('get', paid.headers.location!).set(bearer(estate.token));
  expect(settled.status).toBe(200);
  expect(settled.body).toEqual({ ...paid.body, status: 'DECLINED' });
  expect(await balanceOf(estate.token, meter.deviceId)).toEqual(before);
});

test('replaying the Idempotency-Key of a pending payment answers 202 until it settles, then 201 with the applied payment', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME');
  const before = await balanceOf(estate.token, meter.deviceId);
  const key = newKey();
  const body = pendingTopUp(meter.deviceId, 800);
  const first = await pay(estate.token, body, key);
  mock.clock.advance(10);
  const whilePending = await pay(estate.token, body, key);
  expect(whilePending.status).toBe(202);
  expect(whilePending.body).toEqual(first.body);
  expect(whilePending.headers.location).toBe(first.headers.location);
  expect(whilePending.headers['idempotent-replayed']).toBe('true');
  mock.clock.advance(20);
  const afterSettling = await pay(estate.token, body, key);
  expect(afterSettling.status).toBe(201);
  expect(afterSettling.body).toMatchObject({ paymentId: first.body.paymentId, status: 'APPLIED' });
  expect(afterSettling.headers.location).toBe(first.headers.location);
  expect(afterSettling.headers['idempotent-replayed']).toBe('true');
  const got = await mock.call('get', first.headers.location!).set(bearer(estate.token));
  expect(afterSettling.body).toEqual(got.body);
  expect((await balanceOf(estate.token, meter.deviceId)).creditBalancePence).toBe(
    before.creditBalancePence + 800,
  );
  expect((await listPayments(estate.token)).total).toBe(1);
});

test('replaying the Idempotency-Key of a pending decline answers 202, then 402 payment-declined naming the payment', async () => {
  const estate = await discover(mock, 'basic');
  const key = newKey();
  const body = pendingTopUp(estate.device('GSME').deviceId, 300, true);
  const first = await pay(estate.token, body, key);
  expect(first.status).toBe(202);
  expect((await pay(estate.token, body, key)).status).toBe(202);
  mock.clock.advance(30);
  const again = await pay(estate.token, body, key);
  const problemBody = expectProblem(again, 'payment-declined');
  expect(problemBody.paymentId).toBe(first.body.paymentId);
  expect(again.headers.location).toBe(first.headers.location);
  expect(again.headers['idempotent-replayed']).toBe('true');
  expect((await listPayments(estate.token)).total).toBe(1);
});

test('ListPayments shows pending payments in creation order, newest first, and settles them in place', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME').deviceId;
  const a = await pay(estate.token, topUp(meter, 100));
  mock.clock.advance(10);
  const b = await pay(estate.token, pendingTopUp(meter, 200));
  mock.clock.advance(10);
  const c = await pay(estate.token, pendingTopUp(meter, 300, true));
  mock.clock.advance(10);
  const d = await pay(estate.token, topUp(meter, 400));
  const ids = [d, c, b, a].map((r) => r.body.paymentId);
  const now = await listPayments(estate.token);
  expect(now.items.map((p) => p.paymentId)).toEqual(ids);
  expect(now.items.map((p) => p.status)).toEqual(['APPLIED', 'PENDING', 'PENDING', 'APPLIED']);
  expect(now.items[1]).toEqual(c.body);
  expect(now.items[2]).not.toHaveProperty('utrn');
  mock.clock.advance(10); // b is due (30 s), c is not (20 s)
  expect((await listPayments(estate.token)).items.map((p) => p.status)).toEqual([
    'APPLIED',
    'PENDING',
    'APPLIED',
    'APPLIED',
  ]);
  mock.clock.advance(10);
  const later = await listPayments(estate.token);
  expect(later.items.map((p) => p.paymentId)).toEqual(ids);
  expect(later.items.map((p) => p.status)).toEqual(['APPLIED', 'DECLINED', 'APPLIED', 'APPLIED']);
  expect((await listPayments(estate.token, { deviceId: meter, limit: 1, offset: 1 })).items).toEqual([
    later.items[1],
  ]);
});

test('pending top-ups settle in due order after earlier immediate ones, each in the domain\u2019s order', async () => {
  const estate = await discover(mock, 'in-debt');
  const meter = estate.device('ESME').deviceId;
  const before = await balanceOf(estate.token, meter);
  expect(before.debt.outstandingPence).toBeGreaterThan(0);
  await pay(estate.token, pendingTopUp(meter, 1000)); // due at 30 s
  mock.clock.advance(5);
  await pay(estate.token, pendingTopUp(meter, 4000)); // due at 35 s
  mock.clock.advance(5);
  await pay(estate.token, topUp(meter, 500)); // applied at 10 s
  expect(await balanceOf(estate.token, meter)).toEqual(afterTopUp(before, 500));
  mock.clock.advance(30);
  expect(await balanceOf(estate.token, meter)).toEqual(
    afterTopUp(afterTopUp(afterTopUp(before, 500), 1000), 4000),
  );
});

test('settleDuePayments settles due payments for callers outside the handlers, and a reset drops pending ones', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME').deviceId;
  const paid = await pay(estate.token, pendingTopUp(meter, 700));
  const store = memoryOf(mock);
  expect(await settleDuePayments(mock.services)).toBe(0);
  mock.clock.advance(30);
  expect(store.payments.get(paid.body.paymentId)!.payment.status).toBe('PENDING');
  expect(await settleDuePayments(mock.services)).toBe(1);
  expect(store.payments.get(paid.body.paymentId)!.payment.status).toBe('APPLIED');
  expect(await settleDuePayments(mock.services)).toBe(0);
  await pay(estate.token, pendingTopUp(meter, 700));
  expect(store.pendingPayments.size).toBe(1);
  await mock.services.store.reset();
  expect(store.pendingPayments.size).toBe(0);
});

test('with --payment-delay 0 the pending tokens settle at once: 201 APPLIED and 402 DECLINED', async () => {
  const instant = testMock({ paymentDelaySeconds: 0 }, { hooks: false });
  const estate = await discover(instant, 'basic');
  const meter = estate.device('ESME').deviceId;
  const balance = async () =>
    (await instant.call('get', `/api/energy/devices/${meter}/balance`).set(bearer(estate.token))).body
      .creditBalancePence as number;
  const start = await balance();
  const applied = await instant
    .call('post', PAYMENTS)
    .set(bearer(estate.token))
    .set('Idempotency-Key', newKey())
    .send(pendingTopUp(meter, 900));
  expect(applied.status).toBe(201);
  const now = iso(instant.clock.now());
  expect(applied.body).toMatchObject({ status: 'APPLIED', createdAt: now, appliedAt: now });
  expect(isValidUtrn(applied.body.utrn)).toBe(true);
  expect(await balance()).toBe(start + 900);
  const declined = await instant
    .call('post', PAYMENTS)
    .set(bearer(estate.token))
    .set('Idempotency-Key', newKey())
    .send(pendingTopUp(meter, 900, true));
  expectProblem(declined, 'payment-declined');
  expect(await balance()).toBe(start + 900);
  expect(instant.violations).toEqual([]);
});

test('the invalid-payment-token detail names the four test tokens', async () => {
  const estate = await discover(mock, 'basic');
  const res = await pay(
    estate.token,
    topUp(estate.device('ESME').deviceId, 500, { paymentToken: 'tok_test_other' }),
  );
  const body = expectProblem(res, 'invalid-payment-token');
  for (const token of [APPROVE, DECLINE, PENDING, PENDING_DECLINE])
    expect(body.detail).toContain(`"${token}"`);
});

test('covers every status the contract declares for MakePayment, GetPayment and ListPayments', () => {
  expect(unexercisedStatuses(mock, 'MakePayment')).toEqual([]);
  expect(unexercisedStatuses(mock, 'GetPayment')).toEqual([]);
  expect(unexercisedStatuses(mock, 'ListPayments')).toEqual([]);
});
