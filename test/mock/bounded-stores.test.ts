import request from 'supertest';
import { memoryOf, testMock } from '../helpers/mock';
import { APPROVE, bearer, discover, login, newKey } from '../helpers/operations';
import { Store } from '../../mock/store';
import type { OtpChallenge, PaymentRecord } from '../../mock/store';

/** Small bounds, so each is reached in a few calls (docs/decisions.md "Bounded stores and work per request"). */
const mock = testMock({
  refreshTokenTtlSeconds: 3600,
  refreshTokensPerAccount: 2,
  paymentsPerAccount: 3,
  idempotencyTtlSeconds: 3600,
});

const PAYMENTS = '/api/energy/payments';
const refresh = (token: string) =>
  mock
    .call('post', '/api/identity/auth/RefreshToken')
    .type('form')
    .auth('procode-mock-client', 'procode-mock-secret')
    .send({ grant_type: 'refresh_token', refresh_token: token });

/** A payment record for direct inserts (DECLINED: no UTRN needed). */
function record(i: number, deviceId: string): PaymentRecord {
  return {
    paymentId: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    deviceId,
    amountPence: 100 + (i % 1000),
    method: 'CARD',
    status: 'DECLINED',
    createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  };
}

test('a refresh token is refused and swept once its family outlives refreshTokenTtlSeconds', async () => {
  const first = (await login(mock, 'basic')).body.refresh_token as string;
  expect((await refresh(first)).status).toBe(200);
  mock.clock.advance(3600);
  const res = await refresh(first);
  expect(res.status).toBe(400);
  expect(res.body.error).toBe('invalid_grant');
  await login(mock, 'basic');
  expect(memoryOf(mock).refreshTokens.size).toBe(1);
});

test('expired refresh tokens are swept by the next login even if never presented again', async () => {
  await login(mock, 'basic');
  await login(mock, 'in-debt');
  mock.clock.advance(3601);
  await login(mock, 'basic');
  expect(memoryOf(mock).refreshTokens.size).toBe(1);
  expect(memoryOf(mock).refreshFamilies.size).toBe(1);
});

test('a login beyond refreshTokensPerAccount revokes the oldest refresh token of that account only', async () => {
  const other = (await login(mock, 'in-debt')).body.refresh_token as string;
  const tokens: string[] = [];
  for (let i = 0; i < 3; i++) tokens.push((await login(mock, 'basic')).body.refresh_token);
  expect((await refresh(tokens[0]!)).status).toBe(400);
  expect((await refresh(tokens[1]!)).status).toBe(200);
  expect((await refresh(tokens[2]!)).status).toBe(200);
  expect((await refresh(other)).status).toBe(200);
});

test('refresh tokens in all stay at refreshTokensMax, the oldest logins revoked first', () => {
  const store = new Store({ limits: { refreshTokensMax: 1000, refreshTokensPerAccount: 10 } });
  for (let i = 0; i < 1500; i++) {
    store.addRefreshToken(
      `t${i}`,
      { accountIndex: i % 300, scope: 'customer', expiresAt: 1e15, family: `f${i}` },
      0,
    );
  }
  expect(store.refreshTokens.size).toBe(1000);
  expect(store.refreshTokens.has('t499')).toBe(false);
  expect(store.refreshTokens.has('t500')).toBe(true);
  expect(store.refreshTokens.has('t1499')).toBe(true);
});

test('an account keeps its newest paymentsPerAccount payments, and ListPayments total counts what is kept', async () => {
  const estate = await discover(mock, 'basic');
  const deviceId = estate.device('ESME').deviceId;
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await mock
      .call('post', PAYMENTS)
      .set(bearer(estate.token))
      .set('Idempotency-Key', newKey())
      .send({ deviceId, amountPence: 100 + i, method: 'CARD', paymentToken: APPROVE });
    expect(res.status).toBe(201);
    ids.push(res.body.paymentId);
  }
  const list = await mock.call('get', PAYMENTS).set(bearer(estate.token));
  expect(list.body.total).toBe(3);
  expect(list.body.items.map((p: { paymentId: string }) => p.paymentId)).toEqual([ids[4], ids[3], ids[2]]);
  const dropped = await mock.call('get', `${PAYMENTS}/${ids[0]}`).set(bearer(estate.token));
  expect(dropped.status).toBe(404);
  const store = memoryOf(mock);
  expect(store.payments.size).toBe(3);
  expect(store.idempotency.size).toBe(3);
  expect(store.usedUtrns.size).toBe(3);
});

test('an Idempotency-Key is replayed within idempotencyTtlSeconds and makes a new payment after it', async () => {
  const estate = await discover(mock, 'basic');
  const body = {
    deviceId: estate.device('ESME').deviceId,
    amountPence: 500,
    method: 'CARD',
    paymentToken: APPROVE,
  };
  const key = newKey();
  const pay = () =>
    mock.call('post', PAYMENTS).set(bearer(estate.token)).set('Idempotency-Key', key).send(body);
  const first = await pay();
  mock.clock.advance(3599);
  const token = await mock.token('basic');
  const replay = await mock.call('post', PAYMENTS).set(bearer(token)).set('Idempotency-Key', key).send(body);
  expect(replay.headers['idempotent-replayed']).toBe('true');
  expect(replay.body.paymentId).toBe(first.body.paymentId);
  mock.clock.advance(1);
  const again = await mock.call('post', PAYMENTS).set(bearer(token)).set('Idempotency-Key', key).send(body);
  expect(again.status).toBe(201);
  expect(again.headers['idempotent-replayed']).toBeUndefined();
  expect(again.body.paymentId).not.toBe(first.body.paymentId);
});

test('payments in all stay at paymentsMax, each dropped with its Idempotency-Key, UTRN and pending settlement', () => {
  const store = new Store({ limits: { paymentsMax: 5 } });
  for (let i = 0; i < 8; i++) {
    const payment: PaymentRecord = { ...record(i, `device-${i % 2}`), status: 'APPLIED', utrn: `utrn-${i}` };
    store.addPayment(i % 3, payment, { key: `${i % 3}:key-${i}`, fingerprint: 'f', createdAt: 0 });
    store.pendingPayments.set(payment.paymentId, {
      paymentId: payment.paymentId,
      accountIndex: i % 3,
      dueAt: 1,
      outcome: 'APPLIED',
    });
  }
  expect([...store.payments.keys()]).toEqual([3, 4, 5, 6, 7].map((i) => record(i, '').paymentId));
  expect([...store.usedUtrns]).toEqual(['utrn-3', 'utrn-4', 'utrn-5', 'utrn-6', 'utrn-7']);
  expect(store.idempotency.size).toBe(5);
  expect(store.pendingPayments.size).toBe(5);
  const totals = [0, 1, 2].map((a) => store.paymentPage(a, undefined, 0, 100).total);
  expect(totals.reduce((x, y) => x + y)).toBe(5);
});

test('one-time code challenges are swept 15 minutes after they expire and stay at otpChallengesMax', () => {
  const store = new Store({ limits: { otpChallengesMax: 100 } });
  const challenge = (i: number, expiresAt: number): OtpChallenge => ({
    otpId: `otp-${i}`,
    accountIndex: i,
    channel: 'sms',
    to: '+447700900123',
    code: '123456',
    expiresAt,
    failedAttempts: 0,
    state: 'open',
  });
  store.addOtpChallenge(challenge(0, 300_000), 0);
  store.addOtpChallenge(challenge(1, 300_000 + 20 * 60_000), 20 * 60_000);
  expect([...store.otpChallenges.keys()]).toEqual(['otp-1']);
  for (let i = 2; i < 300; i++) store.addOtpChallenge(challenge(i, 300_000 + 20 * 60_000), 20 * 60_000);
  expect(store.otpChallenges.size).toBe(100);
  expect(store.otpChallenges.has('otp-299')).toBe(true);
});

test("SendOTP counts are forgotten once an account's 15-minute window has passed", () => {
  const store = new Store({ limits: { otpChallengesMax: 100 } });
  store.recordOtpSend(1, [1000], 0);
  store.recordOtpSend(2, [2000], 0);
  store.recordOtpSend(3, [20 * 60_000], 15 * 60_000);
  expect([...store.otpSends.keys()]).toEqual([3]);
  for (let a = 10; a < 300; a++) store.recordOtpSend(a, [20 * 60_000], 15 * 60_000);
  expect(store.otpSends.size).toBe(100);
});

test('a reset empties the verified-token memo of the token service', async () => {
  const token = await mock.token('basic');
  expect((await mock.call('get', '/api/energy/premises').set(bearer(token))).status).toBe(200);
  const memo = (mock.services.tokens as unknown as { verified: Map<string, unknown> }).verified;
  expect(memo.size).toBeGreaterThan(0);
  await request(mock.app).post('/__admin/reset').expect(204);
  expect(memo.size).toBe(0);
});

test('PUT /__admin/state refuses more payments per account than paymentsPerAccount, naming the payment', async () => {
  const roomy = testMock({}, { hooks: false });
  const estate = await discover(roomy, 'basic');
  for (let i = 0; i < 4; i++) {
    await roomy
      .call('post', PAYMENTS)
      .set(bearer(estate.token))
      .set('Idempotency-Key', newKey())
      .send({
        deviceId: estate.device('ESME').deviceId,
        amountPence: 100 + i,
        method: 'CARD',
        paymentToken: APPROVE,
      })
      .expect(201);
  }
  const state = (await request(roomy.app).get('/__admin/state')).body;
  // Same time on both, so the imported Idempotency-Keys are within their lifetime.
  mock.clock.set(new Date(roomy.clock.now()).toISOString());
  const res = await request(mock.app).put('/__admin/state').send(state);
  expect(res.status).toBe(400);
  expect(res.body.errors).toEqual([
    expect.objectContaining({
      pointer: '#/payments/3/accountNumber',
      detail: expect.stringMatching(/more than 3 payments/),
    }),
  ]);
  state.payments = state.payments.slice(1);
  const fits = await request(mock.app).put('/__admin/state').send(state);
  expect(fits.status).toBe(200);
  expect(fits.body.payments).toBe(3);
  const again = (await request(mock.app).get('/__admin/state')).body;
  expect(again.payments).toEqual(state.payments);
});

test('ListPayments pages through 50,000 stored payments newest first, with and without deviceId', async () => {
  const big = testMock({ paymentsPerAccount: 50_000 }, { hooks: false });
  const estate = await discover(big, 'basic');
  const meters = [estate.device('ESME').deviceId, estate.device('GSME').deviceId];
  const me = (await big.call('get', '/api/identity/customers/me').set(bearer(estate.token))).body;
  const accountIndex = big.services.world.findAccountByNumber(me.accountNumber)!;
  const N = 50_000;
  for (let i = 0; i < N; i++) memoryOf(big).addPayment(accountIndex, record(i, meters[i % 2]!));
  const list = async (query: Record<string, unknown>) => {
    const res = await big.call('get', PAYMENTS).query(query).set(bearer(estate.token));
    expect(res.status).toBe(200);
    return res.body as { items: PaymentRecord[]; total: number; limit: number; offset: number };
  };
  const idsOf = (page: { items: PaymentRecord[] }) => page.items.map((p) => p.paymentId);
  const expected = (from: number[]) => from.map((i) => record(i, '').paymentId);
  const range = (first: number, count: number, step = 1) =>
    Array.from({ length: count }, (_, k) => first - k * step);

  const first = await list({ limit: 100 });
  expect(first.total).toBe(N);
  expect(idsOf(first)).toEqual(expected(range(N - 1, 100)));
  expect(idsOf(await list({ limit: 20, offset: 25_000 }))).toEqual(expected(range(N - 1 - 25_000, 20)));
  const last = await list({ limit: 100, offset: N - 10 });
  expect(idsOf(last)).toEqual(expected(range(9, 10)));
  expect((await list({ offset: N })).items).toEqual([]);

  const gas = await list({ deviceId: meters[1], limit: 5, offset: 12_000 });
  expect(gas.total).toBe(N / 2);
  expect(idsOf(gas)).toEqual(expected(range(N - 1 - 2 * 12_000, 5, 2)));
  const lastGas = await list({ deviceId: meters[1], limit: 100, offset: N / 2 - 3 });
  expect(idsOf(lastGas)).toEqual(expected([5, 3, 1]));
});
