import request from 'supertest';
import { CLIENT, KEY, persona, personas, testMock } from '../../helpers/mock';
import { APPROVE, OPERATIONS, discover, login, newKey, send } from '../../helpers/operations';
import { expectInvalidToken, expectProblem, expectValidationError } from '../../helpers/problems';

const mock = testMock();
const admin = () => request(mock.app);

/** Registers the `unregistered` persona (Register, with its documented details) and returns it. */
async function registerUnregistered(): Promise<ReturnType<typeof persona>> {
  const unregistered = persona('unregistered');
  const res = await mock.call('post', '/api/identity/registration/Register').send({
    accountNumber: unregistered.accountNumber,
    postcode: unregistered.postcode,
    email: unregistered.username,
    password: unregistered.password,
    mobilePhone: '+447700900123',
  });
  expect(res.status).toBe(201);
  return unregistered;
}

describe('the index and the admin 404', () => {
  test('GET /__admin lists every admin operation and points to its contract', async () => {
    const res = await admin().get('/__admin');
    expect(res.status).toBe(200);
    expect(res.body.contract).toBe('/docs/admin.openapi.json');
    const ids = (res.body.operations as { operationId: string }[]).map((o) => o.operationId);
    expect(ids).toEqual(
      expect.arrayContaining([
        'GetClock',
        'AddFault',
        'ListRequests',
        'CountRequests',
        'GetState',
        'IssueToken',
      ]),
    );
  });

  test('an unknown path under /__admin is a 404 problem pointing to the index', async () => {
    const res = await admin().get('/__admin/nowhere');
    expectProblem(res, 'not-found', { detail: /GET \/__admin lists them/ });
  });

  test('the admin API needs no subscription key', async () => {
    expect((await admin().get('/__admin/clock')).status).toBe(200);
  });
});

describe('the clock', () => {
  test('PUT freezes it, advance moves it, DELETE returns to the system clock', async () => {
    const frozen = await admin().put('/__admin/clock').send({ now: '2027-01-01T00:00:00.000Z' });
    expect(frozen.body).toEqual({
      now: '2027-01-01T00:00:00.000Z',
      mode: 'frozen',
      offsetSeconds: expect.any(Number),
    });
    const moved = await admin().post('/__admin/clock/advance').send({ seconds: 90.5 });
    expect(moved.body.now).toBe('2027-01-01T00:01:30.500Z');
    expect((await admin().get('/__admin/clock')).body.now).toBe('2027-01-01T00:01:30.500Z');
    const back = await admin().delete('/__admin/clock');
    expect(back.body).toMatchObject({ mode: 'system', offsetSeconds: 0 });
  });

  test('a token issued at frozen T is accepted at T+TTL-1 and refused at T+TTL of the mock’s clock', async () => {
    await admin().put('/__admin/clock').send({ now: '2027-01-01T00:00:00.000Z' });
    const { body } = await login(mock, 'basic');
    const get = () =>
      mock.call('get', '/api/identity/customers/me').set('Authorization', `Bearer ${body.access_token}`);
    await admin()
      .post('/__admin/clock/advance')
      .send({ seconds: body.expires_in - 1 });
    expect((await get()).status).toBe(200);
    await admin().post('/__admin/clock/advance').send({ seconds: 1 });
    expectInvalidToken(await get());
    const refreshed = await mock
      .call('post', '/api/identity/auth/RefreshToken')
      .auth(CLIENT.id, CLIENT.secret)
      .type('form')
      .send({ refresh_token: body.refresh_token });
    expect(refreshed.status).toBe(200);
  });

  test('a one-time code expires when the clock passes 5 minutes, and the SendOTP window reopens after 15', async () => {
    await admin().put('/__admin/clock').send({ now: '2027-01-01T00:00:00.000Z' });
    const { body } = await login(mock, 'two-factor');
    const auth = { Authorization: `Bearer ${body.access_token}` };
    const sendOtp = () =>
      mock.call('post', '/api/identity/authorisation/SendOTP').set(auth).send({ channel: 'sms' });
    const first = await sendOtp();
    const code = (await admin().get('/__admin/outbox').query({ otpId: first.body.otpId })).body[0].code;
    await admin().post('/__admin/clock/advance').send({ seconds: 300 });
    const late = await mock
      .call('post', '/api/identity/authorisation/VerifyOTP')
      .set(auth)
      .send({ otpId: first.body.otpId, code });
    expectProblem(late, 'otp-expired');
    for (let i = 0; i < 4; i++) expect((await sendOtp()).status).toBe(202);
    const limited = await sendOtp();
    expectProblem(limited, 'too-many-requests');
    expect(Number(limited.headers['retry-after'])).toBe(600);
    await admin().post('/__admin/clock/advance').send({ seconds: 600 });
    expect((await sendOtp()).status).toBe(202);
  });

  test('balances report asAt and payments their times on the mock’s clock', async () => {
    await admin().put('/__admin/clock').send({ now: '2027-03-04T05:06:07.080Z' });
    const estate = await discover(mock, 'basic');
    const meter = estate.device('ESME').deviceId;
    const balance = await mock
      .call('get', `/api/energy/devices/${meter}/balance`)
      .set('Authorization', `Bearer ${estate.token}`);
    expect(balance.body.asAt).toBe('2027-03-04T05:06:07.080Z');
    const paid = await send(mock, OPERATIONS.MakePayment!, {
      token: estate.token,
      headers: { 'Idempotency-Key': newKey() },
      body: { deviceId: meter, amountPence: 500, method: 'CARD', paymentToken: APPROVE },
    });
    expect(paid.body.createdAt).toBe('2027-03-04T05:06:07.080Z');
  });

  test.each<[Record<string, unknown>]>([
    [{ now: 'yesterday' }],
    [{ now: '2027-01-01T00:00:00.000Z', extra: 1 }],
    [{}],
  ])('PUT /__admin/clock %j is 400 and leaves the clock alone', async (body) => {
    const res = await admin().put('/__admin/clock').send(body);
    expectProblem(res, 'validation-error');
    expect((await admin().get('/__admin/clock')).body.mode).toBe('system');
  });

  test.each([[{ seconds: 0 }], [{ seconds: -5 }], [{ seconds: 'ten' }], [{ seconds: 1e12 }]])(
    'POST /__admin/clock/advance %j is 400 and leaves the clock alone',
    async (body) => {
      const res = await admin().post('/__admin/clock/advance').send(body);
      expectProblem(res, 'validation-error');
      expect((await admin().get('/__admin/clock')).body.mode).toBe('system');
    },
  );

  test('a reset returns the clock to the system clock', async () => {
    await admin().put('/__admin/clock').send({ now: '2030-01-01T00:00:00.000Z' });
    await admin().post('/__admin/reset');
    expect((await admin().get('/__admin/clock')).body.mode).toBe('system');
  });
});

describe('the request journal', () => {
  test('lists the requests newest first, filters them, and counts them', async () => {
    const token = await mock.token('basic');
    await mock.call('get', '/api/energy/premises').set('Authorization', `Bearer ${token}`);
    await mock.call('get', '/api/energy/premises?limit=1').set('Authorization', `Bearer ${token}`);
    await mock.call('get', '/api/energy/premises').set('Authorization', 'Bearer nope');
    const all = await admin().get('/__admin/requests');
    expect(all.status).toBe(200);
    expect(all.body.items[0]).toMatchObject({ operationId: 'ListPremises', status: 401 });
    expect(all.body.items[1]).toMatchObject({
      operationId: 'ListPremises',
      status: 200,
      request: { query: { limit: '1' } },
    });
    const ok = await admin().get('/__admin/requests').query({ operationId: 'ListPremises', status: 200 });
    expect(ok.body.total).toBe(2);
    expect(
      ok.body.items.every(
        (e: { accountNumber?: string }) => e.accountNumber === persona('basic').accountNumber,
      ),
    ).toBe(true);
    const count = await admin().get('/__admin/requests/count').query({ operationId: 'TokenRequest' });
    expect(count.body).toEqual({ count: 1 });
    const failed = await admin().get('/__admin/requests').query({ status: 401 });
    expect(failed.body.items[0].problemType).toBe('https://procode.example/problems/invalid-token');
    const limited = await admin().get('/__admin/requests').query({ limit: 1 });
    expect(limited.body.items).toHaveLength(1);
    expect(limited.body.total).toBe(4);
  });

  test('since= keeps only requests at or after that instant of the mock’s clock', async () => {
    await admin().put('/__admin/clock').send({ now: '2027-01-01T00:00:00.000Z' });
    await mock.call('get', '/api/energy/premises');
    await admin().post('/__admin/clock/advance').send({ seconds: 60 });
    await mock.call('get', '/api/energy/premises');
    const res = await admin().get('/__admin/requests/count').query({ since: '2027-01-01T00:00:30.000Z' });
    expect(res.body.count).toBe(1);
  });

  test('DELETE /__admin/requests empties it, and the admin API’s own calls are not journaled', async () => {
    await mock.call('get', '/api/energy/premises');
    expect((await admin().delete('/__admin/requests')).status).toBe(204);
    await admin().get('/__admin/clock');
    expect((await admin().get('/__admin/requests')).body).toEqual({ items: [], total: 0 });
  });

  test('is bounded by --journal-size, dropping the oldest', async () => {
    const small = testMock({ journalSize: 3 }, { hooks: false });
    for (let i = 1; i <= 5; i++) await small.call('get', `/api/energy/premises?limit=${i}`);
    const res = await request(small.app).get('/__admin/requests');
    expect(res.body.total).toBe(3);
    expect(
      res.body.items.map((e: { request: { query: { limit: string } } }) => e.request.query.limit),
    ).toEqual(['5', '4', '3']);
  });

  test('after the whole flow it holds no secret and no persona’s personal field', async () => {
    const estate = await discover(mock, 'basic');
    const meter = estate.device('ESME').deviceId;
    await send(mock, OPERATIONS.MakePayment!, {
      token: estate.token,
      headers: { 'Idempotency-Key': newKey() },
      body: { deviceId: meter, amountPence: 500, method: 'CARD', paymentToken: APPROVE },
    });
    const twoFactor = await mock.token('two-factor');
    await mock.call('get', '/api/identity/customers/me').set('Authorization', `Bearer ${twoFactor}`);
    await registerUnregistered();
    const loggedIn = await login(mock, 'unregistered');
    await mock
      .call('post', '/api/identity/auth/RefreshToken')
      .auth(CLIENT.id, CLIENT.secret)
      .type('form')
      .send({ refresh_token: loggedIn.body.refresh_token });
    const me = await mock
      .call('get', '/api/identity/customers/me')
      .set('Authorization', `Bearer ${estate.token}`);
    const outbox = (await admin().get('/__admin/outbox')).body as { code: string }[];
    const journal = JSON.stringify((await admin().get('/__admin/requests').query({ limit: 1000 })).body);
    const secrets = [
      KEY,
      CLIENT.secret,
      Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64'),
      estate.token,
      twoFactor,
      loggedIn.body.access_token,
      loggedIn.body.refresh_token,
      APPROVE,
      ...outbox.map((m) => m.code),
      ...personas.personas.map((p) => p.password),
      ...personas.personas.map((p) => p.username),
      me.body.email,
      me.body.mobilePhone,
      me.body.firstName,
      me.body.lastName,
      '+447700900123',
    ];
    expect(journal.length).toBeGreaterThan(1000);
    for (const secret of secrets)
      expect({ secret, found: journal.includes(String(secret)) }).toEqual({ secret, found: false });
  });

  test.each([['status=abc'], ['limit=0'], ['limit=1001'], ['since=yesterday'], ['accountNumber=nobody']])(
    'GET /__admin/requests?%s is 400',
    async (query) => {
      expectProblem(await admin().get(`/__admin/requests?${query}`), 'validation-error');
    },
  );
});

describe('state export and import', () => {
  test('GET /__admin/state exports what clients changed, and PUT brings it back after a reset', async () => {
    const estate = await discover(mock, 'basic');
    const meter = estate.device('ESME').deviceId;
    const key = newKey();
    const body = { deviceId: meter, amountPence: 700, method: 'CARD', paymentToken: APPROVE };
    const paid = await send(mock, OPERATIONS.MakePayment!, {
      token: estate.token,
      headers: { 'Idempotency-Key': key },
      body,
    });
    const unregistered = await registerUnregistered();
    const balanceBefore = (
      await mock
        .call('get', `/api/energy/devices/${meter}/balance`)
        .set('Authorization', `Bearer ${estate.token}`)
    ).body;
    const state = (await admin().get('/__admin/state')).body;
    expect(state).toMatchObject({ format: 'procode-mock-state', version: 1, seed: 42 });
    expect(state.payments).toHaveLength(1);
    expect(state.registrations).toHaveLength(1);
    expect(JSON.stringify(state)).not.toContain(unregistered.password);

    await admin().post('/__admin/reset');
    const imported = await admin().put('/__admin/state').send(state);
    expect(imported.body).toEqual({ registrations: 1, payments: 1, balances: 1 });
    const token = await mock.token('basic');
    const auth = { Authorization: `Bearer ${token}` };
    expect((await mock.call('get', `/api/energy/payments/${paid.body.paymentId}`).set(auth)).body).toEqual(
      paid.body,
    );
    const balanceAfter = (await mock.call('get', `/api/energy/devices/${meter}/balance`).set(auth)).body;
    expect(balanceAfter.creditBalancePence).toBe(balanceBefore.creditBalancePence);
    const replay = await send(mock, OPERATIONS.MakePayment!, {
      token,
      headers: { 'Idempotency-Key': key },
      body,
    });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect((await login(mock, 'unregistered')).status).toBe(200);
  });

  test.each([
    ['another seed', (s: Record<string, unknown>) => ({ ...s, seed: 7 }), '#/seed'],
    [
      'an unknown account',
      (s: Record<string, unknown>) => ({
        ...s,
        registrations: [
          {
            accountNumber: 'A-FFFFFFFF',
            email: 'x@example.com',
            mobilePhone: '+447700900001',
            passwordHash: `${'0'.repeat(32)}:${'0'.repeat(64)}`,
            createdAt: '2026-11-29T08:00:00.000Z',
          },
        ],
      }),
      '#/registrations/0/accountNumber',
    ],
  ])('a document of %s is 400 naming the field, and nothing changes', async (_what, change, pointer) => {
    const token = await mock.token('basic');
    const state = (await admin().get('/__admin/state')).body;
    const res = await admin().put('/__admin/state').send(change(state));
    expectValidationError(res, [{ in: 'body', pointer }]);
    expect(
      (await mock.call('get', '/api/energy/payments').set('Authorization', `Bearer ${token}`)).status,
    ).toBe(200);
  });

  test('a document that breaks the admin contract is 400', async () => {
    expectProblem(await admin().put('/__admin/state').send({ format: 'other' }), 'validation-error');
  });
});

describe('accounts for tests', () => {
  test('POST /__admin/tokens issues a token for a generated account with online access', async () => {
    const exported = await request(mock.app).get('/__admin/personas');
    expect(exported.status).toBe(200);
    // A generated account (not a persona) that has online access: found through the world itself.
    const world = mock.services.world;
    let accountNumber = '';
    for (let i = 0; i < 1000 && !accountNumber; i++) {
      const a = world.account(i);
      if (a.registered && !a.persona) accountNumber = a.accountNumber;
    }
    const res = await admin().post('/__admin/tokens').send({ accountNumber, expiresIn: 120 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 120, scope: 'customer' });
    const me = await mock
      .call('get', '/api/identity/customers/me')
      .set('Authorization', `Bearer ${res.body.access_token}`);
    expect(me.body.accountNumber).toBe(accountNumber);
    mock.clock.advance(120);
    expectInvalidToken(
      await mock
        .call('get', '/api/identity/customers/me')
        .set('Authorization', `Bearer ${res.body.access_token}`),
    );
  });

  test('an otp-scope token from POST /__admin/tokens may only call SendOTP and VerifyOTP', async () => {
    const res = await admin()
      .post('/__admin/tokens')
      .send({ accountNumber: persona('basic').accountNumber, scope: 'otp' });
    const me = await mock
      .call('get', '/api/identity/customers/me')
      .set('Authorization', `Bearer ${res.body.access_token}`);
    expectProblem(me, 'otp-required');
  });

  test.each([
    [{ accountNumber: persona('unregistered').accountNumber }, 404],
    [{ accountNumber: 'A-FFFFFFFF' }, 404],
    [{ accountNumber: 'nobody' }, 400],
    [{ accountNumber: persona('basic').accountNumber, scope: 'admin' }, 400],
    [{ accountNumber: persona('basic').accountNumber, expiresIn: 0 }, 400],
  ])('POST /__admin/tokens %j is %i', async (body, status) => {
    expect((await admin().post('/__admin/tokens').send(body)).status).toBe(status);
  });

  test('GET /__admin/personas gives each persona’s credentials and the ids its world gave it', async () => {
    const res = await admin().get('/__admin/personas');
    const basic = res.body.personas.find((p: { id: string }) => p.id === 'basic');
    const estate = await discover(mock, 'basic');
    expect(basic.password).toBe(persona('basic').password);
    expect(basic.premises.map((p: { premiseId: string }) => p.premiseId)).toEqual(
      estate.premises.map((p) => p.premiseId),
    );
    const ids = basic.premises.flatMap((p: { servicePoints: { devices: { deviceId: string }[] }[] }) =>
      p.servicePoints.flatMap((s) => s.devices.map((d) => d.deviceId)),
    );
    expect(ids.sort()).toEqual(estate.devices.map((d) => d.deviceId).sort());
  });
});

describe('protected with an admin token', () => {
  const token = 'admin-token-0123456789abcdef';
  const guarded = testMock({ adminToken: token });

  test('every admin operation needs Authorization: Bearer <admin token>', async () => {
    const none = await request(guarded.app).get('/__admin/clock');
    expectProblem(none, 'unauthorized');
    expect(none.headers['www-authenticate']).toBe('Bearer realm="procode-admin"');
    const wrong = await request(guarded.app)
      .post('/__admin/reset')
      .set('Authorization', 'Bearer wrong-token-0123456789');
    expect(wrong.status).toBe(401);
    const right = await request(guarded.app).get('/__admin/clock').set('Authorization', `Bearer ${token}`);
    expect(right.status).toBe(200);
  });
});

describe('with --admin off', () => {
  const production = testMock({ admin: false });

  test('every /__admin path is the API’s plain 404', async () => {
    for (const path of ['/__admin', '/__admin/health', '/__admin/outbox', '/__admin/clock']) {
      expectProblem(await request(production.app).get(path), 'not-found');
    }
    expect((await request(production.app).post('/__admin/reset')).status).toBe(404);
  });
});
