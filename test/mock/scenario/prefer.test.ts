import { KEY, testMock } from '../../helpers/mock';
import { APPROVE, OPERATIONS, discover, newKey, send } from '../../helpers/operations';
import { expectProblem, expectValidationError } from '../../helpers/problems';

const mock = testMock();

async function basicToken(): Promise<string> {
  return mock.token('basic');
}

test('Prefer: code=500 on GetBalance answers the catalogue problem internal-error and says so', async () => {
  const token = await basicToken();
  const meter = (await discover(mock, 'basic')).device('ESME').deviceId;
  const res = await mock
    .call('get', `/api/energy/devices/${meter}/balance`)
    .set('Authorization', `Bearer ${token}`)
    .set('Prefer', 'code=500');
  expectProblem(res, 'internal-error');
  expect(res.headers['preference-applied']).toBe('code=500');
});

test('Prefer: code=503 on MakePayment answers 503 with Retry-After and makes no payment', async () => {
  const token = await basicToken();
  const meter = (await discover(mock, 'basic')).device('ESME').deviceId;
  const res = await send(mock, OPERATIONS.MakePayment!, {
    token,
    headers: { 'Idempotency-Key': newKey(), Prefer: 'code=503' },
    body: { deviceId: meter, amountPence: 1000, method: 'CARD', paymentToken: APPROVE },
  });
  expectProblem(res, 'service-unavailable');
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  const list = await mock.call('get', '/api/energy/payments').set('Authorization', `Bearer ${token}`);
  expect(list.body.total).toBe(0);
});

test('Prefer: code=401 answers invalid-token with the Bearer invalid_token challenge', async () => {
  const res = await mock
    .call('get', '/api/energy/premises')
    .set('Authorization', `Bearer ${await basicToken()}`)
    .set('Prefer', 'code=401');
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toMatch(/^Bearer .*error="invalid_token"/);
});

test('Prefer: code=200 is the handler’s own answer when it would give 200', async () => {
  const token = await basicToken();
  const { premiseId } = (await discover(mock, 'basic')).premises[0]!;
  const res = await mock
    .call('get', `/api/energy/premises/${premiseId}`)
    .set('Authorization', `Bearer ${token}`)
    .set('Prefer', 'code=200');
  expect(res.status).toBe(200);
  expect(res.body.premiseId).toBe(premiseId);
});

test('Prefer: code=200 for a premise that is not the caller’s answers the contract’s example', async () => {
  const res = await mock
    .call('get', '/api/energy/premises/4821093756')
    .set('Authorization', `Bearer ${await basicToken()}`)
    .set('Prefer', 'code=200');
  expect(res.status).toBe(200);
  expect(res.body.premiseId).toMatch(/^[0-9]{10}$/);
  expect(res.headers['preference-applied']).toBe('code=200');
});

test('Prefer: example=pending on MakePayment answers the named 202 example with a Location', async () => {
  const token = await basicToken();
  const meter = (await discover(mock, 'basic')).device('ESME').deviceId;
  const res = await send(mock, OPERATIONS.MakePayment!, {
    token,
    headers: { 'Idempotency-Key': newKey(), Prefer: 'example=pending' },
    body: { deviceId: meter, amountPence: 1000, method: 'CARD', paymentToken: APPROVE },
  });
  expect(res.status).toBe(202);
  expect(res.body.status).toBe('PENDING');
  expect(res.headers.location).toMatch(/^\/api\/energy\/payments\//);
  expect(res.headers['preference-applied']).toBe('example=pending');
});

test('Prefer: example= of an error example answers that problem with this request’s instance', async () => {
  const res = await mock
    .call('get', '/api/energy/premises/4821093756')
    .set('Authorization', `Bearer ${await basicToken()}`)
    .set('Prefer', 'example=notFound')
    .set('X-Request-ID', 'req-example-1');
  expectProblem(res, 'not-found');
  expect(res.body.instance).toBe('urn:procode:request:req-example-1');
});

test('a code the operation does not declare is 400 preference-not-declared listing the declared codes', async () => {
  const res = await mock
    .call('get', '/api/energy/premises')
    .set('Authorization', `Bearer ${await basicToken()}`)
    .set('Prefer', 'code=418');
  expectProblem(res, 'preference-not-declared', { detail: /418/ });
  expect(res.body.declared).toEqual(expect.arrayContaining(['200', '401', '503']));
  expect(res.headers['preference-applied']).toBeUndefined();
});

test('an example the operation does not declare is 400 preference-not-declared listing its examples', async () => {
  const res = await mock
    .call('get', '/api/energy/payments')
    .set('Authorization', `Bearer ${await basicToken()}`)
    .set('Prefer', 'example=nonesuch');
  expectProblem(res, 'preference-not-declared', { detail: /nonesuch/ });
  expect(res.body.declared).toContain('page');
});

test('Prefer: delay=300 delays the reply by at least 300 ms and combines with code', async () => {
  const token = await basicToken();
  const started = process.hrtime.bigint();
  const res = await mock
    .call('get', '/api/energy/premises')
    .set('Authorization', `Bearer ${token}`)
    .set('Prefer', 'code=503, delay=300');
  expect(Number(process.hrtime.bigint() - started) / 1e6).toBeGreaterThanOrEqual(290);
  expect(res.status).toBe(503);
  expect(res.headers['preference-applied']).toBe('code=503, delay=300');
});

test.each([
  ['delay=30001', 'delay'],
  ['delay=-1', 'delay'],
  ['delay=abc', 'delay'],
  ['code=5xx', 'code'],
  ['example="a b"', 'example'],
])('Prefer: %s is 400 validation-error naming the Prefer header', async (prefer, name) => {
  const res = await mock
    .call('get', '/api/energy/premises')
    .set('Authorization', `Bearer ${await basicToken()}`)
    .set('Prefer', prefer);
  expectValidationError(res, [{ in: 'header', pointer: '#/prefer', detail: new RegExp(`^${name} `) }]);
});

test('the query fallbacks __code and __delay work for clients that cannot set headers', async () => {
  const token = await basicToken();
  const res = await mock
    .call('get', '/api/energy/premises?__code=503&__delay=10&limit=5')
    .set('Authorization', `Bearer ${token}`);
  expect(res.status).toBe(503);
  expect(res.headers['preference-applied']).toBe('code=503, delay=10');
  const bad = await mock
    .call('get', '/api/energy/premises?__delay=soon')
    .set('Authorization', `Bearer ${token}`);
  expectValidationError(bad, [{ in: 'query', pointer: '#/__delay', detail: /milliseconds/ }]);
});

test('a preference never turns a request without a key, a token or a valid body into a success', async () => {
  const noKey = await send(mock, OPERATIONS.ListPremises!, { key: false, headers: { Prefer: 'code=200' } });
  expect(noKey.status).toBe(401);
  const noToken = await send(mock, OPERATIONS.ListPremises!, { headers: { Prefer: 'code=200' } });
  expect(noToken.status).toBe(401);
  const invalid = await send(mock, OPERATIONS.MakePayment!, {
    token: await basicToken(),
    headers: { 'Idempotency-Key': newKey(), Prefer: 'code=201' },
    body: { amountPence: '100' },
  });
  expect(invalid.status).toBe(400);
  for (const res of [noKey, noToken, invalid]) expect(res.headers['preference-applied']).toBeUndefined();
});

test('a preference applies to its own request only', async () => {
  const token = await basicToken();
  await mock
    .call('get', '/api/energy/premises')
    .set('Authorization', `Bearer ${token}`)
    .set('Prefer', 'code=500');
  const next = await mock.call('get', '/api/energy/premises').set('Authorization', `Bearer ${token}`);
  expect(next.status).toBe(200);
  expect(next.headers['preference-applied']).toBeUndefined();
});

test('unknown preferences are ignored (RFC 7240 section 2)', async () => {
  const res = await mock
    .call('get', '/api/energy/premises')
    .set('Authorization', `Bearer ${await basicToken()}`)
    .set('Prefer', 'respond-async, wait=10, return=minimal');
  expect(res.status).toBe(200);
  expect(res.headers['preference-applied']).toBeUndefined();
});

describe('with --prefer off', () => {
  const production = testMock({ prefer: false });

  test('Prefer and __code are ignored, as in production', async () => {
    const token = await production.token('basic');
    const res = await production
      .call('get', '/api/energy/premises?__code=500')
      .set('Authorization', `Bearer ${token}`)
      .set('Prefer', 'code=500');
    expect(res.status).toBe(200);
    expect(res.headers['preference-applied']).toBeUndefined();
  });
});

test('the subscription key in the query still works beside the __ parameters', async () => {
  const res = await mock
    .call('get', `/api/energy/premises?subscription-key=${KEY}&__code=403`)
    .set('Authorization', `Bearer ${await basicToken()}`);
  expect(res.status).toBe(403);
});

test('the same Prefer value answers alike every time, a bad one included, and the query still counts without it', async () => {
  const token = await basicToken();
  const meter = (await discover(mock, 'basic')).device('ESME').deviceId;
  const balance = (prefer?: string, query = '') => {
    const req = mock
      .call('get', `/api/energy/devices/${meter}/balance${query}`)
      .set('Authorization', `Bearer ${token}`);
    return prefer === undefined ? req : req.set('Prefer', prefer);
  };
  for (let i = 0; i < 3; i++) {
    expectValidationError(await balance('delay=soon'), [
      { in: 'header', pointer: '#/prefer', detail: /milliseconds/ },
    ]);
    const forced = await balance('code=500');
    expectProblem(forced, 'internal-error');
    expect(forced.headers['preference-applied']).toBe('code=500');
    const plain = await balance();
    expect(plain.status).toBe(200);
    expect(plain.headers['preference-applied']).toBeUndefined();
    const byQuery = await balance(undefined, '?__code=500');
    expectProblem(byQuery, 'internal-error');
    // The header wins over the query (RFC 7240 first, then the stand-in parameters).
    expect((await balance('code=500', '?__code=503')).headers['preference-applied']).toBe('code=500');
  }
});
