/**
 * The store interface's behaviour, one table of tests run against both implementations: the memory
 * store always, the Redis store against a real redis-server started for this file (skipped, saying why,
 * where redis-server is not installed; required in CI).
 */
import { defaultContract } from '../../../mock/app';
import { ScenarioClock, ManualClock } from '../../../mock/clock';
import { DEFAULTS } from '../../../mock/config';
import { SeededRandom } from '../../../mock/random';
import { MemoryStore, RedisStore, StoreUnavailable } from '../../../mock/store';
import type { PaymentRecord, SharedStore, StoreLimits, TopUpRequest } from '../../../mock/store';
import { RedisConnection, parseStoreUrl } from '../../../mock/store/redis-connection';
import { describeWithRedis, startRedis } from '../../helpers/redis-server';
import type { RedisServer } from '../../helpers/redis-server';

const NOW = Date.parse('2026-11-29T08:00:00.000Z');
const BALANCE = {
  creditPence: 0,
  emergencyCredit: { limitPence: 1000, availablePence: 1000, active: false },
  debt: { outstandingPence: 0, recoveryRatePercent: 0 },
} as unknown as NonNullable<Parameters<TopUpRequest['decide']>[0]>['state'];

interface Harness {
  store: SharedStore;
  clock: ScenarioClock;
}

/** A top-up of `amount` pence on device `d1` of account 1 with key `key` (APPLIED, credit += amount). */
function topUp(key: string, amount: number, fingerprint = `f-${amount}`): TopUpRequest {
  return topUpOn(1, 'd1', key, amount, fingerprint);
}

/** A top-up of `amount` pence on `deviceId` of account `accountIndex` with key `key` (APPLIED). */
function topUpOn(
  accountIndex: number,
  deviceId: string,
  key: string,
  amount: number,
  fingerprint = `f-${amount}`,
): TopUpRequest {
  return {
    accountIndex,
    deviceId,
    key: `${accountIndex}:${key}`,
    fingerprint,
    now: NOW,
    decide: (current, mint) => {
      const state = current?.state ?? BALANCE;
      const payment: PaymentRecord = {
        paymentId: mint.paymentId(),
        deviceId,
        amountPence: amount,
        method: 'CARD',
        status: 'APPLIED',
        utrn: mint.utrn(),
        createdAt: new Date(NOW).toISOString(),
      };
      const next = {
        ...state,
        creditPence: (state as unknown as { creditPence: number }).creditPence + amount,
      };
      return { payment, balance: { state: next as typeof state, changedAt: NOW } };
    },
  };
}

const credit = async (store: SharedStore): Promise<number | undefined> =>
  ((await store.balance('d1'))?.state as { creditPence?: number } | undefined)?.creditPence;

/** Opens a fresh store (its own namespace on Redis), with `limits` over the defaults, reset and begun. */
type Open = (limits?: Partial<StoreLimits>) => Promise<Harness>;

/** The table: each test gets a fresh, reset store. */
function behaviour(open: Open): void {
  let h: Harness;
  beforeEach(async () => {
    h = await open();
  });

  test('register refuses a taken account or e-mail, and the registration reads back', async () => {
    const r = {
      accountIndex: 7,
      email: 'A@x.test',
      mobilePhone: '+447700900123',
      passwordHash: 's:h',
      createdAt: 'c',
    };
    expect(await h.store.register(r)).toBe(true);
    expect(await h.store.register({ ...r, email: 'b@x.test' })).toBe(false);
    expect(await h.store.register({ ...r, accountIndex: 8 })).toBe(false);
    expect(await h.store.registration(7)).toEqual(r);
    expect(await h.store.accountByEmail('a@x.test')).toBe(7);
    expect(await h.store.accountByEmail('b@x.test')).toBeUndefined();
  });

  test('concurrent top-ups on one device all apply: the balance is their exact sum', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => h.store.topUp(topUp(`k${i}`, i + 1))),
    );
    expect(results.every((r) => !r.replayed)).toBe(true);
    expect(await credit(h.store)).toBe((40 * 41) / 2);
    const ids = new Set(results.map((r) => r.payment.paymentId));
    expect(ids.size).toBe(40);
    expect((await h.store.paymentPage(1, undefined, 0, 100)).total).toBe(40);
  });

  test('one Idempotency-Key sent concurrently makes one payment; the rest replay it with its fingerprint', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => h.store.topUp(topUp('same', 500))));
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(new Set(results.map((r) => r.payment.paymentId)).size).toBe(1);
    expect(results.filter((r) => r.replayed).every((r) => r.replayed && r.fingerprint === 'f-500')).toBe(
      true,
    );
    expect(await credit(h.store)).toBe(500);
  });

  test('a top-up whose decision throws stores nothing', async () => {
    const bad = {
      ...topUp('bad', 1),
      decide: () => {
        throw new Error('no');
      },
    };
    await expect(h.store.topUp(bad)).rejects.toThrow('no');
    expect(await h.store.balance('d1')).toBeUndefined();
    expect((await h.store.paymentPage(1, undefined, 0, 10)).total).toBe(0);
  });

  test('ListPayments pages newest first, per device too', async () => {
    for (let i = 1; i <= 5; i++) await h.store.topUp(topUp(`p${i}`, i));
    const page = await h.store.paymentPage(1, undefined, 1, 2);
    expect(page.total).toBe(5);
    expect(page.items.map((p) => p.amountPence)).toEqual([4, 3]);
    expect((await h.store.paymentPage(1, 'd1', 0, 10)).total).toBe(5);
    expect((await h.store.paymentPage(1, 'other', 0, 10)).total).toBe(0);
    expect((await h.store.payment(page.items[0]!.paymentId))?.accountIndex).toBe(1);
  });

  test('OTP: a wrong code counts attempts and voids at 5; a right one is used once; sends are limited', async () => {
    const send = (code: string) =>
      h.store.sendOtp({
        accountIndex: 3,
        channel: 'sms',
        to: '+447700900123',
        code,
        now: NOW,
        expiresAt: NOW + 300_000,
        limit: 2,
        windowMs: 900_000,
      });
    const first = await send('123456');
    if (!('otpId' in first)) throw new Error('not sent');
    expect(await h.store.verifyOtp(first.otpId, 4, '123456', NOW, 5)).toEqual({ result: 'not-found' });
    expect(await h.store.verifyOtp(first.otpId, 3, '000000', NOW, 5)).toEqual({
      result: 'wrong',
      attemptsRemaining: 4,
    });
    expect(await h.store.verifyOtp(first.otpId, 3, '123456', NOW + 300_000, 5)).toEqual({
      result: 'expired',
    });
    expect(await h.store.verifyOtp(first.otpId, 3, '123456', NOW, 5)).toEqual({ result: 'ok' });
    expect(await h.store.verifyOtp(first.otpId, 3, '123456', NOW, 5)).toEqual({ result: 'used' });
    const second = await send('222222');
    if (!('otpId' in second)) throw new Error('not sent');
    expect(second.otpId).not.toBe(first.otpId);
    const verdicts = await Promise.all(
      Array.from({ length: 8 }, () => h.store.verifyOtp(second.otpId, 3, '999999', NOW, 5)),
    );
    expect(verdicts.filter((v) => v.result === 'wrong')).toHaveLength(5);
    expect(verdicts.filter((v) => v.result === 'voided')).toHaveLength(3);
    expect(await send('333333')).toEqual({ oldestSend: NOW });
    expect((await h.store.outbox({ otpId: [first.otpId] })).map((m) => m.code)).toEqual(['123456']);
  });

  test('refresh rotation: the old token is retired, reuse revokes the family, expiry is unknown', async () => {
    await h.store.issueRefresh(
      't1',
      { accountIndex: 2, scope: 'customer', expiresAt: NOW + 60_000, family: 'fam' },
      NOW,
    );
    expect(await h.store.useRefresh('t1', NOW, 't2')).toMatchObject({
      result: 'ok',
      grant: { accountIndex: 2, family: 'fam' },
    });
    expect(await h.store.useRefresh('t1', NOW)).toEqual({ result: 'reused' });
    expect(await h.store.useRefresh('t2', NOW)).toEqual({ result: 'unknown' });
    await h.store.issueRefresh(
      't3',
      { accountIndex: 2, scope: 'otp', expiresAt: NOW + 60_000, family: 'f2' },
      NOW,
    );
    expect(await h.store.useRefresh('t3', NOW + 60_000)).toEqual({ result: 'unknown' });
  });

  test('login failures: counted in the window, newest 10 kept, one taken back', async () => {
    for (let i = 0; i < 12; i++) await h.store.countLoginFailure('u', NOW + i, NOW - 900_000, 10);
    expect(await h.store.loginFailures('u', NOW - 900_000)).toHaveLength(10);
    await h.store.forgetLoginFailure('u', NOW + 11);
    expect(await h.store.loginFailures('u', NOW - 900_000)).toHaveLength(9);
    expect(await h.store.loginFailures('u', NOW + 5)).toHaveLength(5);
  });

  test('password attempts claimed together stop at the limit: the rest are refused with the oldest', async () => {
    const claims = await Promise.all(
      Array.from({ length: 15 }, (_, i) => h.store.claimLoginAttempt('v', NOW + i, NOW - 900_000, 10)),
    );
    expect(claims.filter((c) => c === undefined)).toHaveLength(10);
    const refused = claims.filter((c) => c !== undefined);
    expect(refused).toHaveLength(5);
    expect(new Set(refused)).toEqual(new Set([NOW]));
    expect(await h.store.loginFailures('v', NOW - 900_000)).toHaveLength(10);
    // Once the oldest leaves the window, one more is counted.
    expect(await h.store.claimLoginAttempt('v', NOW + 900_000, NOW, 10)).toBeUndefined();
  });

  test('gateway limits: all counted or none, and the full window is named', async () => {
    const limits = [
      { counter: 'rate', calls: 2, periodMs: 1000 },
      { counter: 'quota', calls: 3, periodMs: 60_000, alignedStart: NOW },
    ];
    expect(await h.store.countGatewayCall(limits, NOW)).toBeUndefined();
    expect(await h.store.countGatewayCall(limits, NOW)).toBeUndefined();
    expect(await h.store.countGatewayCall(limits, NOW)).toEqual({
      index: 0,
      window: { windowStart: NOW, calls: 2 },
    });
    expect(await h.store.countGatewayCall(limits, NOW + 1000)).toBeUndefined();
    expect(await h.store.countGatewayCall(limits, NOW + 2000)).toMatchObject({ index: 1 });
    await h.store.clearTimeWindows();
    await h.store.begin();
    expect(await h.store.countGatewayCall(limits, NOW + 2000)).toBeUndefined();
  });

  test('pending payments settle once, in due order, and a reset drops everything', async () => {
    const pending = (key: string, dueAt: number): TopUpRequest => ({
      ...topUp(key, 100),
      decide: (_c, mint) => {
        const payment: PaymentRecord = {
          paymentId: mint.paymentId(),
          deviceId: 'd1',
          amountPence: 100,
          method: 'CARD',
          status: 'PENDING',
          createdAt: 'c',
        };
        return {
          payment,
          pending: { paymentId: payment.paymentId, accountIndex: 1, dueAt, outcome: 'APPLIED' },
        };
      },
    });
    await h.store.topUp(pending('a', NOW + 10));
    await h.store.topUp(pending('b', NOW + 20));
    const settle = () =>
      h.store.settleDue(NOW + 15, (_p, payment, current, mint) => ({
        payment: { ...payment, status: 'APPLIED', utrn: mint.utrn() },
        balance: {
          state: {
            ...(current?.state ?? BALANCE),
            creditPence:
              ((current?.state ?? BALANCE) as unknown as { creditPence: number }).creditPence + 100,
          } as typeof BALANCE,
          changedAt: NOW,
        },
      }));
    const counts = await Promise.all([settle(), settle(), settle()]);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(1);
    expect(await credit(h.store)).toBe(100);
    const overlay = await h.store.exportOverlay(NOW);
    expect(overlay.payments.map((p) => p.payment.status).sort()).toEqual(['APPLIED', 'PENDING']);
    const before = h.store.generation();
    await h.store.reset();
    await h.store.begin();
    expect(h.store.generation()).toBe(before + 1);
    expect(await h.store.balance('d1')).toBeUndefined();
    expect((await h.store.exportOverlay(NOW)).payments).toEqual([]);
  });

  test('faults: a rule with times is claimed exactly that often, even concurrently', async () => {
    const contract = defaultContract();
    const rule = await h.store.addFault({ operationId: 'GetBalance', status: 500, times: 3 }, contract, NOW);
    await h.store.begin();
    expect(h.store.faultsEmpty()).toBe(false);
    const op = contract.operations.get('GetBalance')!;
    const target = { operation: op, method: 'GET', path: '/x' };
    const hits = await Promise.all(Array.from({ length: 10 }, () => h.store.matchFault(target)));
    expect(hits.filter((r) => r?.faultId === rule.faultId)).toHaveLength(3);
    await h.store.clearFaults();
    await h.store.begin();
    expect(h.store.faultsEmpty()).toBe(true);
  });

  test('payments beyond paymentsMax in all accounts drop the oldest of any account, with its Idempotency-Key', async () => {
    const { store } = await open({ paymentsMax: 3 });
    const made = [];
    for (let account = 1; account <= 4; account++)
      made.push((await store.topUp(topUpOn(account, `d${account}`, 'k', 100 * account))).payment);
    expect(await store.payment(made[0]!.paymentId)).toBeUndefined();
    expect((await store.paymentPage(1, undefined, 0, 10)).total).toBe(0);
    expect((await store.paymentPage(1, 'd1', 0, 10)).total).toBe(0);
    for (let account = 2; account <= 4; account++)
      expect((await store.paymentPage(account, undefined, 0, 10)).items).toEqual([made[account - 1]]);
    expect((await store.exportOverlay(NOW)).payments.map((p) => p.payment.paymentId)).toEqual(
      made.slice(1).map((p) => p.paymentId),
    );
    // Its key went with it: the same key and body make a new payment, which drops account 2's.
    const again = await store.topUp(topUpOn(1, 'd1', 'k', 100));
    expect(again.replayed).toBe(false);
    expect(again.payment.paymentId).not.toBe(made[0]!.paymentId);
    expect(await store.payment(made[1]!.paymentId)).toBeUndefined();
    expect((await store.paymentPage(1, undefined, 0, 10)).total).toBe(1);
  });

  test('refresh tokens beyond refreshTokensMax in all accounts revoke the oldest logins, never the one rotating', async () => {
    const { store } = await open({ refreshTokensMax: 3 });
    const login = (token: string, accountIndex: number, family: string) =>
      store.issueRefresh(token, { accountIndex, scope: 'customer', expiresAt: NOW + 60_000, family }, NOW);
    const ok = { result: 'ok' };
    await login('t1', 1, 'f1');
    await login('t2', 2, 'f2');
    await login('t3', 3, 'f3');
    expect(await store.useRefresh('t1', NOW)).toMatchObject(ok);
    await login('t4', 4, 'f4');
    expect(await store.useRefresh('t1', NOW)).toEqual({ result: 'unknown' });
    // Four tokens in all, but the oldest family is the one rotating: it stays.
    expect(await store.useRefresh('t2', NOW, 't2b')).toMatchObject(ok);
    expect(await store.useRefresh('t2b', NOW)).toMatchObject(ok);
    await login('t5', 5, 'f5');
    expect(await store.useRefresh('t2b', NOW)).toEqual({ result: 'unknown' });
    for (const t of ['t3', 't4', 't5']) expect(await store.useRefresh(t, NOW)).toMatchObject(ok);
  });

  test("a login revoked by reuse no longer counts against its account's bound", async () => {
    const { store } = await open({ refreshTokensPerAccount: 3 });
    const login = (token: string, family: string) =>
      store.issueRefresh(token, { accountIndex: 1, scope: 'customer', expiresAt: NOW + 60_000, family }, NOW);
    await login('b', 'fb');
    await login('c', 'fc');
    await login('a', 'fa');
    await store.useRefresh('a', NOW, 'a2');
    expect(await store.useRefresh('a', NOW)).toEqual({ result: 'reused' });
    await login('d', 'fd');
    for (const t of ['b', 'c', 'd']) expect(await store.useRefresh(t, NOW)).toMatchObject({ result: 'ok' });
  });

  test('a balance read ahead by begin is the one balance() gives, and the next begin reads a newer one', async () => {
    const before = await h.store.begin({ balances: ['d1'] });
    expect(await h.store.balance('d1', before)).toBeUndefined();
    await h.store.topUp(topUp('a', 5));
    const after = await h.store.begin({ balances: ['d1', 'd2'] });
    expect((await h.store.balance('d1', after))?.state).toMatchObject({ creditPence: 5 });
    expect(await h.store.balance('d2', after)).toBeUndefined();
  });

  test('a balance read ahead while a payment was due is not used: the read after settling sees it', async () => {
    await h.store.topUp({
      ...topUp('due', 100),
      decide: (_c, mint) => {
        const payment: PaymentRecord = {
          paymentId: mint.paymentId(),
          deviceId: 'd1',
          amountPence: 100,
          method: 'CARD',
          status: 'PENDING',
          createdAt: 'c',
        };
        return {
          payment,
          pending: { paymentId: payment.paymentId, accountIndex: 1, dueAt: NOW, outcome: 'APPLIED' },
        };
      },
    });
    const prefetched = await h.store.begin({ balances: ['d1'] });
    const settled = await h.store.settleDue(NOW, (_p, payment, current, mint) => ({
      payment: { ...payment, status: 'APPLIED', utrn: mint.utrn() },
      balance: {
        state: { ...(current?.state ?? BALANCE), creditPence: 100 } as typeof BALANCE,
        changedAt: NOW,
      },
    }));
    expect(settled).toBe(1);
    expect(await credit(h.store)).toBe(100);
    expect((await h.store.balance('d1', prefetched))?.state).toMatchObject({ creditPence: 100 });
  });

  test('a top-up after a state import adds to the imported balance, not to the one seen before', async () => {
    await h.store.topUp(topUp('a', 5));
    const imported = { ...BALANCE, creditPence: 100 } as typeof BALANCE;
    await h.store.importOverlay({
      registrations: [],
      payments: [],
      pending: [],
      balances: [['d1', { state: imported, changedAt: NOW }]],
    });
    await h.store.topUp(topUp('b', 1));
    expect(await credit(h.store)).toBe(101);
  });

  test('the clock is shared through the store', async () => {
    h.clock.freeze(NOW + 5000);
    await h.store.saveClock(h.clock.snapshot());
    h.clock.resume();
    await h.store.begin();
    // Memory keeps the clock in the process (nothing to share); Redis restores the saved one.
    expect(h.store.kind === 'memory' || h.clock.now() === NOW + 5000).toBe(true);
  });
}

describe('memory store', () => {
  const clock = new ScenarioClock(new ManualClock());
  behaviour(async (limits) => {
    const store = new MemoryStore(new SeededRandom(42), { limits: { ...DEFAULTS, ...limits } });
    await store.reset();
    await store.begin();
    return { store, clock };
  });
});

describeWithRedis('redis store', () => {
  let redis: RedisServer;
  const opened: { store: RedisStore; clock: ScenarioClock }[] = [];
  let prefix = 0;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(opened.map((o) => o.store.close()));
    await redis.close();
  });

  describe('behaviour', () => {
    behaviour(async (limits) => {
      const clock = new ScenarioClock(new ManualClock());
      const connection = await RedisConnection.open(parseStoreUrl(redis.url));
      const { store } = await RedisStore.open(connection, clock, {
        seed: 42,
        accounts: 1000,
        prefix: `t${prefix++}`,
        limits: { ...DEFAULTS, ...limits },
        journalSize: 100,
      });
      opened.push({ store, clock });
      await store.reset();
      await store.begin();
      return { store, clock };
    });
  });

  test('two stores on one namespace share state; another world size is refused', async () => {
    const open = async (accounts = 1000) => {
      const clock = new ScenarioClock(new ManualClock());
      const connection = await RedisConnection.open(parseStoreUrl(redis.url));
      try {
        const { store, tokenKey } = await RedisStore.open(connection, clock, {
          seed: 7,
          accounts,
          prefix: 'pair',
          limits: DEFAULTS,
          journalSize: 10,
        });
        opened.push({ store, clock });
        return { store, tokenKey };
      } catch (err) {
        await connection.close();
        throw err;
      }
    };
    const a = await open();
    const b = await open();
    expect(a.tokenKey).toBe(b.tokenKey);
    const seenByB = async (): Promise<number | undefined> => {
      const prefetched = await b.store.begin({ balances: ['d1'] });
      return ((await b.store.balance('d1', prefetched))?.state as { creditPence?: number } | undefined)
        ?.creditPence;
    };
    expect(await seenByB()).toBeUndefined();
    await a.store.topUp(topUp('x', 5));
    await b.store.begin();
    expect(await credit(b.store)).toBe(5);
    expect(await seenByB()).toBe(5);
    const [ra, rb] = await Promise.all([a.store.topUp(topUp('y', 1)), b.store.topUp(topUp('z', 1))]);
    expect(ra.payment.paymentId).not.toBe(rb.payment.paymentId);
    expect(await seenByB()).toBe(7);
    // A's last view of d1 (5, then its own 6 or 7) is out of date: its next top-up still adds to 7.
    await a.store.topUp(topUp('w', 3));
    expect(await seenByB()).toBe(10);
    await a.store.reset();
    await b.store.begin();
    expect(b.store.generation()).toBe(a.store.generation());
    expect(await credit(b.store)).toBeUndefined();
    await expect(open(2000)).rejects.toThrow(/holds a world of 1000 accounts/);
  });

  test('while Redis is down every method throws StoreUnavailable, and it works again after', async () => {
    const clock = new ScenarioClock(new ManualClock());
    const connection = await RedisConnection.open(parseStoreUrl(redis.url));
    const { store } = await RedisStore.open(connection, clock, {
      seed: 9,
      accounts: 1000,
      prefix: 'outage',
      limits: DEFAULTS,
      journalSize: 10,
    });
    opened.push({ store, clock });
    await redis.stop();
    await expect(store.begin()).rejects.toBeInstanceOf(StoreUnavailable);
    await expect(store.topUp(topUp('o', 1))).rejects.toBeInstanceOf(StoreUnavailable);
    expect(store.health()).toMatchObject({ kind: 'redis', status: 'down' });
    await redis.restart();
    for (let i = 0; i < 100 && store.health().status !== 'up'; i++)
      await new Promise((r) => setTimeout(r, 50));
    await store.begin();
    expect((await store.topUp(topUp('o', 1))).replayed).toBe(false);
  }, 30_000);
});
