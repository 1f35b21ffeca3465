import request from 'supertest';
import type { Test } from 'supertest';
import { KEY, memoryOf, testMock } from '../helpers/mock';
import { OPERATIONS, bearer, send } from '../helpers/operations';
import { GATEWAY_INVALID_KEY, expectGatewayError, expectProblem } from '../helpers/problems';
import products from '../../fixtures/products.json';
import { checkResponse } from '../../contract-kit';
import { gatewayProblem, quotaProblem, replenishedIn } from '../../mock/gateway';
import { problemReply } from '../../mock/reply';

const mock = testMock();

const PREMISES = '/api/energy/premises';
const START = '2026-11-29T08:00:00.000Z';

/** The first fixed key of a product of fixtures/products.json. */
function keyOf(id: string): string {
  const keys = products.products.find((p) => p.id === id)?.keys;
  if (!Array.isArray(keys) || !keys[0]) throw new Error(`no fixed key for product ${id}`);
  return keys[0];
}

const IDENTITY = keyOf('identity');
const ENERGY_READ = keyOf('energy-read');
const LIMITED = keyOf('limited');

/** The API (first tag) of each operation, from the contract. */
const apiOf = (operationId: string): string => mock.contract.get(operationId).spec.tags[0]!;

/** ListPremises with the given subscription key and a token got through the dev key. */
const listPremises = (key: string, token: string): Test =>
  request(mock.app).get(PREMISES).set('Ocp-Apim-Subscription-Key', key).set(bearer(token));

/** Gateway counters of the store, as plain data. */
const windows = (): Record<string, unknown> => Object.fromEntries(memoryOf(mock).gatewayWindows);

function expectRateLimited(res: request.Response, seconds: number): void {
  expect(res.status).toBe(429);
  expect(res.headers['content-type']).toMatch(/^application\/json(;|$)/);
  expect(res.body).toEqual({
    statusCode: 429,
    message: `Rate limit is exceeded. Try again in ${seconds} seconds.`,
  });
  expect(res.headers['retry-after']).toBe(String(seconds));
}

function expectOutOfQuota(res: request.Response, hms: string, seconds: number): void {
  expect(res.status).toBe(403);
  expect(res.headers['content-type']).toMatch(/^application\/json(;|$)/);
  expect(res.body).toEqual({
    statusCode: 403,
    message: `Out of call volume quota. Quota will be replenished in ${hms}.`,
  });
  expect(res.headers['retry-after']).toBe(String(seconds));
}

beforeEach(() => mock.clock.set(START));

// --- the products file ----------------------------------------------------------------------------

test('every product names APIs the contract has, and unlimited and limited include every API', () => {
  const tags = new Set([...mock.contract.operations.values()].map((op) => op.spec.tags[0]));
  expect([...tags].sort()).toEqual(
    [
      'Auth',
      'Authorisation',
      'Customers',
      'Devices',
      'Payments',
      'Premises',
      'Registration',
      'ServicePoints',
    ].sort(),
  );
  for (const p of products.products) {
    if (p.apis === '*') continue;
    for (const api of p.apis) expect(tags).toContain(api);
  }
  expect(products.products.map((p) => [p.id, p.apis === '*'])).toEqual([
    ['unlimited', true],
    ['identity', false],
    ['energy-read', false],
    ['limited', true],
  ]);
});

test('fixed product keys are 32 lower-case hex characters, distinct from each other and the dev key', () => {
  const fixed = [IDENTITY, ENERGY_READ, LIMITED];
  for (const key of fixed) expect(key).toMatch(/^[0-9a-f]{32}$/);
  expect(new Set([...fixed, KEY]).size).toBe(4);
});

// --- which APIs a key may call ------------------------------------------------------------------

const GRANTS: [product: string, key: string, apis: readonly string[]][] = [
  ['identity', IDENTITY, ['Auth', 'Authorisation', 'Registration', 'Customers']],
  ['energy-read', ENERGY_READ, ['Premises', 'ServicePoints', 'Devices']],
];

test.each(
  GRANTS.flatMap(([name, key, apis]) =>
    Object.values(OPERATIONS).map((op) => [name, op.operationId, key, op, apis] as const),
  ),
)(
  'the %s key on %s: through the gateway when its product has the API, else the APIM 401',
  async (_name, operationId, key, op, apis) => {
    const res = await send(mock, op).set('Ocp-Apim-Subscription-Key', key);
    if (apis.includes(apiOf(operationId))) {
      // Past the gateway: whatever the operation answers, it is not the gateway's 401.
      expect(res.body).not.toEqual(expect.objectContaining({ statusCode: expect.any(Number) }));
    } else {
      expectGatewayError(res, GATEWAY_INVALID_KEY);
    }
  },
);

test('the identity key can log in but gets the APIM 401 on ListPremises', async () => {
  const login = await request(mock.app)
    .post('/api/identity/auth/TokenRequest')
    .set('Ocp-Apim-Subscription-Key', IDENTITY)
    .set(OPERATIONS.TokenRequest!.headers!)
    .type('form')
    .send(OPERATIONS.TokenRequest!.body!);
  expect(login.status).toBe(200);
  const customer = await request(mock.app)
    .get('/api/identity/customers/me')
    .set('Ocp-Apim-Subscription-Key', IDENTITY)
    .set(bearer(login.body.access_token));
  expect(customer.status).toBe(200);
  expectGatewayError(await listPremises(IDENTITY, login.body.access_token), GATEWAY_INVALID_KEY);
});

test('the energy-read key reads premises with a dev-key token, and gets the APIM 401 on payments', async () => {
  const token = await mock.token('basic');
  const premises = await listPremises(ENERGY_READ, token);
  expect(premises.status).toBe(200);
  expect(premises.body.items.length).toBeGreaterThan(0);
  for (const op of [OPERATIONS.MakePayment!, OPERATIONS.ListPayments!]) {
    const res = await send(mock, op, { token }).set('Ocp-Apim-Subscription-Key', ENERGY_READ);
    expectGatewayError(res, GATEWAY_INVALID_KEY);
  }
  // The subscription-key query parameter is judged the same way.
  const byQuery = await request(mock.app)
    .get('/api/energy/payments')
    .query({ 'subscription-key': ENERGY_READ })
    .set(bearer(token));
  expectGatewayError(byQuery, GATEWAY_INVALID_KEY);
});

// --- rate-limit-by-key and quota-by-key ---------------------------------------------------------

test('the limited key gets 429 with Retry-After on the 6th call within 60 s, and works after the window', async () => {
  const token = await mock.token('basic');
  expect((await listPremises(LIMITED, token)).status).toBe(200);
  mock.clock.advance(20);
  for (let i = 0; i < 4; i++) expect((await listPremises(LIMITED, token)).status).toBe(200);
  expectRateLimited(await listPremises(LIMITED, token), 40);
  // The dev key is another subscription: not limited by the limited key's window.
  expect((await listPremises(KEY, token)).status).toBe(200);
  mock.clock.advance(39.5);
  expectRateLimited(await listPremises(LIMITED, token), 1);
  mock.clock.advance(0.5);
  expect((await listPremises(LIMITED, token)).status).toBe(200);
});

test('the limit counts every call past the key check, by header or query, whatever the operation answers', async () => {
  for (let i = 0; i < 5; i++) {
    const res = await request(mock.app)
      .get(PREMISES)
      .query(i % 2 ? { 'subscription-key': LIMITED } : {})
      .set(i % 2 ? {} : { 'Ocp-Apim-Subscription-Key': LIMITED });
    expectProblem(res, 'unauthorized');
  }
  expectRateLimited(await request(mock.app).get(PREMISES).set('Ocp-Apim-Subscription-Key', LIMITED), 60);
});

test('the limited key is out of quota after 100 calls in a day (403 hh:mm:ss) and renewed at the next period', async () => {
  let token = await mock.token('basic');
  for (let window = 0; window < 20; window++) {
    for (let i = 0; i < 5; i++) expect((await listPremises(LIMITED, token)).status).toBe(200);
    mock.clock.advance(60);
  }
  // 08:20:00 UTC: the rate window has renewed, the daily quota renews at midnight UTC.
  expectOutOfQuota(await listPremises(LIMITED, token), '15:40:00', 56_400);
  mock.clock.advance(56_400 - 1);
  token = await mock.token('basic');
  expectOutOfQuota(await listPremises(LIMITED, token), '00:00:01', 1);
  mock.clock.advance(1);
  expect((await listPremises(LIMITED, token)).status).toBe(200);
});

test('the dev key is never limited (200 calls at one instant)', async () => {
  const token = await mock.token('basic');
  for (let i = 0; i < 200; i++) expect((await listPremises(KEY, token)).status).toBe(200);
  expect(windows()).toEqual({});
});

test('rejected calls change nothing: not the windows, not the quota', async () => {
  const token = await mock.token('basic');
  // Refused by the gateway before the limits: an unknown key, a product without the API.
  expectGatewayError(await listPremises('no-such-key', token), GATEWAY_INVALID_KEY);
  expectGatewayError(await listPremises(IDENTITY, token), GATEWAY_INVALID_KEY);
  expect(windows()).toEqual({});
  for (let i = 0; i < 5; i++) await listPremises(LIMITED, token);
  const before = windows();
  for (let i = 0; i < 3; i++) expect((await listPremises(LIMITED, token)).status).toBe(429);
  expect(windows()).toEqual(before);
  expect(memoryOf(mock).gatewayWindows.get(`limited:quota:${LIMITED}`)?.calls).toBe(5);
});

test('a reset clears the gateway windows', async () => {
  const token = await mock.token('basic');
  for (let i = 0; i < 5; i++) await listPremises(LIMITED, token);
  expect((await listPremises(LIMITED, token)).status).toBe(429);
  expect((await request(mock.app).post('/__admin/reset')).status).toBe(204);
  expect(windows()).toEqual({});
  expect((await listPremises(LIMITED, await mock.token('basic'))).status).toBe(200);
});

test('the store keeps one window per key and policy', async () => {
  const token = await mock.token('basic');
  for (let i = 0; i < 12; i++) {
    await listPremises(LIMITED, token);
    mock.clock.advance(30);
  }
  expect(Object.keys(windows()).sort()).toEqual([
    `limited:quota:${LIMITED}`,
    `limited:rate-limit:${LIMITED}`,
  ]);
});

// --- settings -----------------------------------------------------------------------------------

test('configured subscription keys replace the dev key in the unlimited product; fixed keys stay', async () => {
  const custom = testMock({ subscriptionKeys: 'custom-key-0001,custom-key-0002' }, { hooks: false });
  custom.clock.set(START);
  const get = (key: string): Test => request(custom.app).get(PREMISES).set('Ocp-Apim-Subscription-Key', key);
  expectGatewayError(await get(KEY), GATEWAY_INVALID_KEY);
  // Past the gateway (no bearer token, so the operation's own 401 problem), and never limited.
  for (let i = 0; i < 7; i++) expectProblem(await get('custom-key-0002'), 'unauthorized');
  expectProblem(await get(ENERGY_READ), 'unauthorized');
  for (let i = 0; i < 5; i++) expectProblem(await get(LIMITED), 'unauthorized');
  expectRateLimited(await get(LIMITED), 60);
  expect(custom.violations).toEqual([]);
});

test('with gatewayErrors "problem" the key 401 is a problem, the 429 and 403 stay the gateway JSON', async () => {
  const problemMock = testMock({ gatewayErrors: 'problem' }, { hooks: false });
  problemMock.clock.set(START);
  const token = await problemMock.token('basic');
  const get = (key: string): Test =>
    request(problemMock.app).get(PREMISES).set('Ocp-Apim-Subscription-Key', key).set(bearer(token));
  const refused = await get(IDENTITY);
  expectProblem(refused, 'subscription-key');
  expect(refused.body.detail).toBe(GATEWAY_INVALID_KEY);
  expect(refused.headers['www-authenticate']).toMatch(/^AzureApiManagementKey /);
  for (let window = 0; window < 20; window++) {
    for (let i = 0; i < 5; i++) await get(LIMITED);
    if (window === 0) expectRateLimited(await get(LIMITED), 60);
    problemMock.clock.advance(60);
  }
  expectOutOfQuota(await get(LIMITED), '15:40:00', 56_400);
  expect(problemMock.violations).toEqual([]);
});

// --- the gateway's replies against the contract -------------------------------------------------

test.each([
  [
    '429',
    gatewayProblem(429, 42),
    { statusCode: 429, message: 'Rate limit is exceeded. Try again in 42 seconds.' },
    '42',
  ],
  [
    '429 (rounded up)',
    gatewayProblem(429, 0.2),
    { statusCode: 429, message: 'Rate limit is exceeded. Try again in 1 seconds.' },
    '1',
  ],
  ['500', gatewayProblem(500, 30), { statusCode: 500, message: 'Internal server error' }, undefined],
  ['503', gatewayProblem(503, 30), { statusCode: 503, message: 'Service Unavailable' }, '30'],
  [
    '403',
    quotaProblem(3552),
    { statusCode: 403, message: 'Out of call volume quota. Quota will be replenished in 00:59:12.' },
    '3552',
  ],
])(
  'the gateway %s is APIM JSON in both gateway-error settings, and every operation declares it',
  (_name, p, body, retryAfter) => {
    for (const setting of ['apim', 'problem'] as const) {
      const reply = problemReply(p, 'req-1', setting);
      expect(reply).toEqual({
        status: body.statusCode,
        contentType: 'application/json',
        headers: retryAfter === undefined ? {} : { 'Retry-After': retryAfter },
        body,
        // For the request log line only; never written to the wire.
        problem: { slug: p.type.slug },
      });
      for (const op of mock.contract.operations.values()) {
        const headers: Record<string, string> = {
          'x-request-id': 'req-1',
          'content-type': reply.contentType,
        };
        for (const [name, value] of Object.entries(reply.headers)) headers[name.toLowerCase()] = value;
        expect(checkResponse(op, { status: reply.status, headers, body: reply.body })).toEqual([]);
      }
    }
  },
);

test.each([
  [0, '00:00:00'],
  [0.2, '00:00:01'],
  [59, '00:00:59'],
  [3552, '00:59:12'],
  [56_400, '15:40:00'],
  [86_400, '24:00:00'],
  [93_600, '26:00:00'],
])('replenishedIn(%p) is %s (hours not wrapped at 24, as APIM writes them)', (seconds, hms) => {
  expect(replenishedIn(seconds)).toBe(hms);
});
