import request from 'supertest';
import { CLIENT, persona, testMock } from '../../helpers/mock';
import { APPROVE, OPERATIONS, discover, newKey, send } from '../../helpers/operations';
import { expectProblem, expectValidationError } from '../../helpers/problems';

/** What a tester found breaking the admin API and scenario control, one kind per test. */
const mock = testMock();
const admin = () => request(mock.app);

async function topUp(token: string, deviceId: string, amountPence: number): Promise<request.Response> {
  return send(mock, OPERATIONS.MakePayment!, {
    token,
    headers: { 'Idempotency-Key': newKey() },
    body: { deviceId, amountPence, method: 'CARD', paymentToken: APPROVE },
  });
}

test('a payment made after a reset and a state import gets a new id and keeps the imported one', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME').deviceId;
  const first = await topUp(estate.token, meter, 1000);
  const state = (await admin().get('/__admin/state')).body;
  await admin().post('/__admin/reset');
  expect((await admin().put('/__admin/state').send(state)).status).toBe(200);
  const token = await mock.token('basic');
  const second = await topUp(token, meter, 500);
  expect(second.body.paymentId).not.toBe(first.body.paymentId);
  const list = await mock.call('get', '/api/energy/payments').set('Authorization', `Bearer ${token}`);
  expect(list.body.items.map((p: { paymentId: string }) => p.paymentId).sort()).toEqual(
    [first.body.paymentId, second.body.paymentId].sort(),
  );
});

test.each([
  ['POST', '/__admin/faults', 'application/x-www-form-urlencoded', 'operationId=ListPremises&status=503'],
  ['PUT', '/__admin/state', 'text/plain', '{}'],
  ['POST', '/__admin/tokens', 'text/xml', '<a/>'],
  ['POST', '/__admin/faults', 'application/json; charset=latin1', '{}'],
])('%s %s with Content-Type %s is 415, not a 500', async (method, path, type, body) => {
  const res = await admin()[method === 'POST' ? 'post' : 'put'](path).set('Content-Type', type).send(body);
  expectProblem(res, 'unsupported-media-type');
});

test.each(['/__admin/health', '/__admin/clock', '/__admin/personas'])(
  'GET %s with Accept: text/html is 406, not a 500',
  async (path) => {
    expectProblem(await admin().get(path).set('Accept', 'text/html'), 'not-acceptable');
  },
);

test('a state document over the API body limit imports (the admin API takes up to 16 MiB)', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME').deviceId;
  for (let i = 0; i < 160; i++) expect((await topUp(estate.token, meter, 100)).status).toBe(201);
  const exported = await admin().get('/__admin/state');
  expect(exported.text.length).toBeGreaterThan(64 * 1024);
  await admin().post('/__admin/reset');
  const res = await admin().put('/__admin/state').send(exported.body);
  expect(res.body).toEqual({ registrations: 0, payments: 160, balances: 1 });
});

test.each([
  ['no space after the scheme', (t: string) => t],
  ['a tab after the scheme', (t: string) => `Bearer\t${t}`],
  ['lower-case scheme', (t: string) => `bearer ${t}`],
])('the journal never shows a bearer token sent with %s', async (_what, header) => {
  const token = await mock.token('basic');
  await mock
    .call('get', '/api/energy/premises')
    .set('Authorization', header(token))
    .set('Proxy-Authorization', `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`)
    .set('X-Api-Key', 'key-that-is-a-secret');
  const journal = JSON.stringify((await admin().get('/__admin/requests')).body);
  expect(journal).not.toContain(token);
  expect(journal).not.toContain(token.split('.')[1]);
  expect(journal).not.toContain('key-that-is-a-secret');
  expect(journal).not.toContain(Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64'));
});

test('at most 1000 live fault rules: the next is 400, and spent rules make room', async () => {
  for (let i = 0; i < 1000; i++) {
    const res = await admin()
      .post('/__admin/faults')
      .send({ operationId: 'GetBalance', delayMs: 0, times: 1 });
    expect(res.status).toBe(201);
  }
  const full = await admin().post('/__admin/faults').send({ operationId: 'GetBalance', delayMs: 0 });
  expectValidationError(full, [{ in: 'body', pointer: '#', detail: /1000 live fault rules/ }]);
  expect((await admin().get('/__admin/faults')).status).toBe(200);
  const estate = await discover(mock, 'basic');
  await mock
    .call('get', `/api/energy/devices/${estate.device('ESME').deviceId}/balance`)
    .set('Authorization', `Bearer ${estate.token}`);
  expect((await admin().post('/__admin/faults').send({ operationId: 'GetBalance', delayMs: 0 })).status).toBe(
    201,
  );
  expect((await admin().get('/__admin/faults')).body.items).toHaveLength(1000);
});

test('advancing the clock past the year 9999 is 400 and leaves it where it was', async () => {
  await admin().put('/__admin/clock').send({ now: '9999-12-31T23:59:59.000Z' });
  const res = await admin().post('/__admin/clock/advance').send({ seconds: 5 });
  expectValidationError(res, [{ in: 'body', pointer: '#/seconds' }]);
  expect((await admin().get('/__admin/clock')).body.now).toBe('9999-12-31T23:59:59.000Z');
});

test('moving the clock back forgets the windows counted in its future (no years-long Retry-After)', async () => {
  await admin().put('/__admin/clock').send({ now: '2030-01-01T00:00:00.000Z' });
  const p = persona('basic');
  const attempt = (password: string) =>
    mock
      .call('post', '/api/identity/auth/TokenRequest')
      .auth(CLIENT.id, CLIENT.secret)
      .type('form')
      .send({ grant_type: 'password', username: p.username, password });
  for (let i = 0; i < 10; i++) expect((await attempt('wrong-password-123')).status).toBe(400);
  expect((await attempt(p.password)).status).toBe(429);
  await admin().delete('/__admin/clock');
  expect((await attempt(p.password)).status).toBe(200);
});

test('a request a fault rule acted on is journaled with the account of its token', async () => {
  const token = await mock.token('basic');
  const { accountNumber } = persona('basic');
  await admin()
    .post('/__admin/faults')
    .send({ operationId: 'ListPremises', accountNumber, status: 503, times: 2 });
  for (let i = 0; i < 3; i++)
    await mock.call('get', '/api/energy/premises').set('Authorization', `Bearer ${token}`);
  const count = await admin()
    .get('/__admin/requests/count')
    .query({ accountNumber, operationId: 'ListPremises' });
  expect(count.body).toEqual({ count: 3 });
});

test('a state document whose numbers the API could never produce is 400 and changes nothing', async () => {
  const estate = await discover(mock, 'basic');
  const meter = estate.device('ESME').deviceId;
  await topUp(estate.token, meter, 1000);
  const state = (await admin().get('/__admin/state')).body;
  const huge = structuredClone(state);
  huge.balances[0].balance.creditBalancePence = Number.MAX_SAFE_INTEGER + 2;
  expectValidationError(await admin().put('/__admin/state').send(huge), [
    { in: 'body', pointer: '#/balances/0/balance/creditBalancePence' },
  ]);
  const over = structuredClone(state);
  over.balances[0].balance.emergencyCredit.availablePence =
    over.balances[0].balance.emergencyCredit.limitPence + 1;
  expectValidationError(await admin().put('/__admin/state').send(over), [
    { in: 'body', pointer: '#/balances/0/balance/emergencyCredit/availablePence' },
  ]);
  const hub = structuredClone(state);
  hub.payments[0].payment.deviceId = estate.device('CHF').deviceId;
  expectValidationError(await admin().put('/__admin/state').send(hub), [
    { in: 'body', pointer: '#/payments/0/payment/deviceId' },
  ]);
  expect((await admin().get('/__admin/state')).body).toEqual(state);
});

test('an example that says when to retry sends the same Retry-After', async () => {
  const token = await mock.token('basic');
  const res = await mock
    .call('get', '/api/energy/premises')
    .set('Authorization', `Bearer ${token}`)
    .set('Prefer', 'example=rateLimitExceeded');
  expect(res.status).toBe(429);
  expect(res.body.message).toContain(`in ${res.headers['retry-after']} seconds`);
});

test('a literal-path fault rule also matches the path with a trailing slash, which the router serves the same', async () => {
  const estate = await discover(mock, 'basic');
  const { premiseId } = estate.premises[0]!;
  await admin()
    .post('/__admin/faults')
    .send({ method: 'GET', path: `/api/energy/premises/${premiseId}`, status: 503 });
  const res = await mock
    .call('get', `/api/energy/premises/${premiseId}/`)
    .set('Authorization', `Bearer ${estate.token}`);
  expect(res.status).toBe(503);
});
