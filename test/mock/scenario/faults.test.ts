import request from 'supertest';
import { persona, testMock } from '../../helpers/mock';
import { APPROVE, OPERATIONS, discover, newKey, send } from '../../helpers/operations';
import { expectProblem, expectValidationError } from '../../helpers/problems';

const mock = testMock();
const admin = () => request(mock.app);

async function addFault(rule: Record<string, unknown>): Promise<string> {
  const res = await admin().post('/__admin/faults').send(rule);
  expect(`${res.status} ${res.text}`).toMatch(/^201 /);
  expect(res.headers.location).toBe(`/__admin/faults/${res.body.faultId}`);
  return res.body.faultId as string;
}

async function listPremises(token: string): Promise<request.Response> {
  return mock.call('get', '/api/energy/premises').set('Authorization', `Bearer ${token}`);
}

test('a status fault on MakePayment answers 503 with Retry-After, pays nothing, and other operations are untouched', async () => {
  const estate = await discover(mock, 'basic');
  await addFault({ operationId: 'MakePayment', status: 503 });
  const res = await send(mock, OPERATIONS.MakePayment!, {
    token: estate.token,
    headers: { 'Idempotency-Key': newKey() },
    body: {
      deviceId: estate.device('ESME').deviceId,
      amountPence: 1000,
      method: 'CARD',
      paymentToken: APPROVE,
    },
  });
  expectProblem(res, 'service-unavailable', { detail: /fault rule f-1/ });
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  const list = await mock.call('get', '/api/energy/payments').set('Authorization', `Bearer ${estate.token}`);
  expect(list.status).toBe(200);
  expect(list.body.total).toBe(0);
});

test.each([
  ['429', 'Rate limit is exceeded. Try again in 30 seconds.'],
  ['500', 'Internal server error'],
  ['503', 'Service Unavailable'],
])(
  'a gateway %s fault answers API Management’s own JSON, before the subscription key is checked',
  async (status, message) => {
    await addFault({ operationId: 'ListPremises', gateway: status });
    const res = await request(mock.app).get('/api/energy/premises');
    expect(res.status).toBe(Number(status));
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ statusCode: Number(status), message });
  },
);

test('times: 2 affects the next two matching calls only, and the rule shows what it did', async () => {
  const token = await mock.token('basic');
  const id = await addFault({ method: 'GET', path: '/api/energy/premises', status: 500, times: 2 });
  expect((await listPremises(token)).status).toBe(500);
  expect((await listPremises(token)).status).toBe(500);
  expect((await listPremises(token)).status).toBe(200);
  const rules = await admin().get('/__admin/faults');
  expect(rules.body.items).toEqual([expect.objectContaining({ faultId: id, matched: 2, remaining: 0 })]);
});

test('a path template matches every id, and a literal path only its own', async () => {
  const estate = await discover(mock, 'basic');
  const [first, second] = estate.devices.filter((d) => d.paymentMode === 'PREPAYMENT');
  await addFault({ method: 'GET', path: `/api/energy/devices/${first!.deviceId}/balance`, status: 404 });
  const auth = { Authorization: `Bearer ${estate.token}` };
  expect((await mock.call('get', `/api/energy/devices/${first!.deviceId}/balance`).set(auth)).status).toBe(
    404,
  );
  expect((await mock.call('get', `/api/energy/devices/${second!.deviceId}/balance`).set(auth)).status).toBe(
    200,
  );
  await admin().delete('/__admin/faults');
  await addFault({ method: 'GET', path: '/api/energy/devices/{deviceId}/balance', status: 404 });
  expect((await mock.call('get', `/api/energy/devices/${second!.deviceId}/balance`).set(auth)).status).toBe(
    404,
  );
});

test('accountNumber limits a fault to that account’s requests', async () => {
  const basic = await mock.token('basic');
  const gas = await mock.token('gas-only');
  await addFault({
    operationId: 'ListPremises',
    accountNumber: persona('gas-only').accountNumber,
    status: 503,
  });
  expect((await listPremises(basic)).status).toBe(200);
  expect((await listPremises(gas)).status).toBe(503);
});

test('delayMs alone delays a call and then answers it normally', async () => {
  const token = await mock.token('basic');
  await addFault({ operationId: 'ListPremises', delayMs: 250 });
  const started = process.hrtime.bigint();
  const res = await listPremises(token);
  expect(Number(process.hrtime.bigint() - started) / 1e6).toBeGreaterThanOrEqual(240);
  expect(res.status).toBe(200);
});

test('connection-reset drops the connection with no answer', async () => {
  const token = await mock.token('basic');
  await addFault({ operationId: 'ListPremises', fault: 'connection-reset', times: 1 });
  await expect(listPremises(token)).rejects.toThrow(/ECONNRESET|socket hang up/);
  expect((await listPremises(token)).status).toBe(200);
});

test('empty-reply closes the connection without a response', async () => {
  const token = await mock.token('basic');
  await addFault({ operationId: 'ListPremises', fault: 'empty-reply', times: 1 });
  await expect(listPremises(token)).rejects.toThrow(/socket hang up|ECONNRESET/);
});

test('hang holds the connection for delayMs and then closes it unanswered', async () => {
  const token = await mock.token('basic');
  await addFault({ operationId: 'ListPremises', fault: 'hang', delayMs: 300, times: 1 });
  const started = process.hrtime.bigint();
  await expect(listPremises(token)).rejects.toThrow(/socket hang up|ECONNRESET/);
  expect(Number(process.hrtime.bigint() - started) / 1e6).toBeGreaterThanOrEqual(290);
});

test('malformed-json answers 200 application/json with a body that is not JSON', async () => {
  const token = await mock.token('basic');
  await addFault({ operationId: 'ListPremises', fault: 'malformed-json', times: 1 });
  const res = await mock
    .call('get', '/api/energy/premises')
    .set('Authorization', `Bearer ${token}`)
    .buffer(true)
    .parse((r, cb) => {
      let text = '';
      r.on('data', (c: Buffer) => (text += c.toString()));
      r.on('end', () => cb(null, text));
    });
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(() => JSON.parse(res.body as string)).toThrow();
});

test('probability draws from the seed: the same calls give the same pattern after a reset', async () => {
  const token = await mock.token('basic');
  const pattern = async (): Promise<number[]> => {
    await addFault({ operationId: 'GetCustomer', status: 503, probability: 0.5 });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      statuses.push(
        (await mock.call('get', '/api/identity/customers/me').set('Authorization', `Bearer ${token}`)).status,
      );
    }
    await admin().delete('/__admin/faults');
    return statuses;
  };
  const first = await pattern();
  const second = await pattern();
  expect(first).toEqual(second);
  expect(first.filter((s) => s === 503).length).toBeGreaterThan(2);
  expect(first.filter((s) => s === 200).length).toBeGreaterThan(2);
});

test('DELETE /__admin/faults/{id} removes one rule; an unknown id is 404', async () => {
  const token = await mock.token('basic');
  const id = await addFault({ operationId: 'ListPremises', status: 500 });
  expect((await admin().delete(`/__admin/faults/${id}`)).status).toBe(204);
  expect((await listPremises(token)).status).toBe(200);
  const again = await admin().delete(`/__admin/faults/${id}`);
  expectProblem(again, 'not-found', { detail: /GET \/__admin\/faults/ });
});

test.each([
  [{ operationId: 'NoSuchOperation', status: 503 }, '#/operationId'],
  [{ operationId: 'ListPremises', status: 404 }, '#/status'],
  [{ operationId: 'ListPremises', status: 503, gateway: '503' }, '#/gateway'],
  [{ method: 'GET', path: '/api/nowhere', status: 500 }, '#/path'],
])('a bad rule %j is 400 naming %s and stores nothing', async (rule, pointer) => {
  const res = await admin().post('/__admin/faults').send(rule);
  expectValidationError(res, [{ in: 'body', pointer }]);
  expect((await admin().get('/__admin/faults')).body.items).toEqual([]);
});

test.each([
  [{ operationId: 'ListPremises', delayMs: 30_001 }],
  [{ operationId: 'ListPremises', probability: 1.5 }],
  [{ operationId: 'ListPremises', fault: 'explode' }],
  [{ operationId: 'ListPremises' }],
  [{ status: 500 }],
  [{ method: 'GET', status: 500 }],
  [{ operationId: 'ListPremises', status: 500, extra: true }],
])('a rule that breaks the admin contract %j is 400 and stores nothing', async (rule) => {
  const res = await admin().post('/__admin/faults').send(rule);
  expectProblem(res, 'validation-error');
  expect((await admin().get('/__admin/faults')).body.items).toEqual([]);
});

test('a reset clears the fault rules', async () => {
  const token = await mock.token('basic');
  await addFault({ operationId: 'ListPremises', status: 500 });
  expect((await admin().post('/__admin/reset')).status).toBe(204);
  expect((await admin().get('/__admin/faults')).body.items).toEqual([]);
  const fresh = await mock.token('basic');
  expect(fresh).not.toBe(token);
  expect((await listPremises(fresh)).status).toBe(200);
});
