import request from 'supertest';
import { CLIENT, KEY, persona, testMock } from '../helpers/mock';
import { bearer, discover, hugeJson, newKey } from '../helpers/operations';
import { tamper } from '../helpers/common-errors';
import {
  GATEWAY_INVALID_KEY,
  GATEWAY_MISSING_KEY,
  expectGatewayError,
  expectNoLeak,
  expectNotLogged,
  expectProblem,
  expectValidationError,
} from '../helpers/problems';

const mock = testMock();

const REGISTER = '/api/identity/registration/Register';
const PREMISES = '/api/energy/premises';
const PAYMENTS = '/api/energy/payments';
const SECRET = 'Hunter2-Correct-Horse-Battery';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const registerBody = {
  accountNumber: persona('unregistered').accountNumber,
  postcode: persona('unregistered').postcode,
  email: 'transport@example.com',
  password: SECRET,
  mobilePhone: '+447700900123',
};

// --- router: 404 and 405 ------------------------------------------------------------------------

test.each([
  ['get', '/api/energy/nothing'],
  ['get', '/api/energy/premises/4821093756/meters'],
  ['post', '/api/identity/auth/Token'],
  ['get', '/API/energy/premises'],
  ['get', '/'],
] as const)('answers %s %s (no such path) with 404 not-found problem+json', async (method, path) => {
  const res = await mock.call(method, path);
  expectProblem(res, 'not-found', { detail: /path/ });
});

test.each([
  ['delete', PAYMENTS, ['GET', 'POST']],
  ['put', '/api/energy/premises/4821093756', ['GET']],
  ['patch', '/api/identity/customers/me', ['GET']],
  ['get', '/api/identity/auth/TokenRequest', ['POST']],
  ['delete', REGISTER, ['POST']],
  ['put', '/api/energy/devices/00-DB-12-34-56-78-90-A0/balance', ['GET']],
] as const)(
  'answers %s %s with 405 method-not-allowed and an Allow header',
  async (method, path, allowed) => {
    const res = await mock.call(method, path);
    expectProblem(res, 'method-not-allowed', { detail: new RegExp(allowed.join('|')) });
    expect(res.headers.allow).toMatch(/^[A-Z]+(, ?[A-Z]+)*$/);
    const allow = (res.headers.allow as string).split(/, ?/);
    for (const m of allowed) expect(allow).toContain(m);
    expect(allow).not.toContain(method.toUpperCase());
  },
);

test('HEAD on a GET operation answers its headers without a body', async () => {
  const res = await mock.call('head', PREMISES).set(bearer(await mock.token('basic')));
  expect(res.status).toBe(200);
  expect(res.text ?? '').toBe('');
});

test('a CORS preflight answers 204 and exposes the headers clients read', async () => {
  const res = await request(mock.app)
    .options(PAYMENTS)
    .set('Origin', 'http://localhost:3000')
    .set('Access-Control-Request-Method', 'POST')
    .set('Access-Control-Request-Headers', 'authorization, idempotency-key, ocp-apim-subscription-key');
  expect(res.status).toBe(204);
  expect(res.headers['access-control-allow-origin']).toBeDefined();
  const simple = await mock.call('get', PREMISES).set('Origin', 'http://localhost:3000');
  for (const h of [
    'X-Request-ID',
    'Location',
    'Retry-After',
    'WWW-Authenticate',
    'Allow',
    'Idempotent-Replayed',
  ]) {
    expect(simple.headers['access-control-expose-headers']).toContain(h);
  }
});

test('accepts the Bearer scheme in any case (RFC 9110 section 11.1)', async () => {
  const token = await mock.token('basic');
  const res = await mock.call('get', PREMISES).set('Authorization', `bearer ${token}`);
  expect(res.status).toBe(200);
});

// --- gateway ------------------------------------------------------------------------------------

test('rejects a call without a subscription key with the gateway 401 before looking at the token', async () => {
  const res = await request(mock.app).get(PREMISES);
  expectGatewayError(res, GATEWAY_MISSING_KEY);
});

test('rejects a wrong key in the header with the gateway 401 and does not echo the key', async () => {
  const res = await request(mock.app)
    .get(PREMISES)
    .set('Ocp-Apim-Subscription-Key', 'wrong-key-0123456789abcdef')
    .set(bearer(await mock.token('basic')));
  expectGatewayError(res, GATEWAY_INVALID_KEY);
  expectNoLeak(res, ['wrong-key-0123456789abcdef']);
});

test('accepts the key in the subscription-key query parameter when the header is absent', async () => {
  const res = await request(mock.app)
    .get(PREMISES)
    .query({ 'subscription-key': KEY, limit: 5 })
    .set(bearer(await mock.token('basic')));
  expect(res.status).toBe(200);
  expect(res.body.limit).toBe(5);
});

test('rejects a wrong key in the query parameter with the gateway 401', async () => {
  const res = await request(mock.app).get(PREMISES).query({ 'subscription-key': 'nope' });
  expectGatewayError(res, GATEWAY_INVALID_KEY);
  expectNoLeak(res, ['nope"']);
});

test('a wrong header key is not rescued by a right query key (the header wins)', async () => {
  const res = await request(mock.app)
    .get(PREMISES)
    .query({ 'subscription-key': KEY })
    .set('Ocp-Apim-Subscription-Key', 'wrong')
    .set(bearer(await mock.token('basic')));
  expectGatewayError(res, GATEWAY_INVALID_KEY);
});

test.each([
  ['missing', undefined, GATEWAY_MISSING_KEY],
  ['unknown', 'wrong-key', GATEWAY_INVALID_KEY],
])('with gatewayErrors "problem" a %s key is a 401 subscription-key problem', async (_name, key, message) => {
  const problemMock = testMock({ gatewayErrors: 'problem' }, { hooks: false });
  let req = request(problemMock.app).get(PREMISES);
  if (key) req = req.set('Ocp-Apim-Subscription-Key', key);
  const res = await req;
  expectProblem(res, 'subscription-key');
  expect(res.body.detail).toBe(message);
  expect(res.headers['www-authenticate']).toMatch(/^AzureApiManagementKey /);
  expect(problemMock.violations).toEqual([]);
});

// --- content negotiation ------------------------------------------------------------------------

test.each([
  'text/html',
  'application/xml',
  'text/plain, text/html;q=0.9',
  'application/json;q=0',
  'application/problem+json',
  'application/json; charset=iso-8859-1',
  'application/json; version=2',
  '*/*;q=0',
  'application/json;q=0, */*',
])('answers Accept: %s with 406 not-acceptable', async (accept) => {
  const res = await mock
    .call('get', PREMISES)
    .set('Accept', accept)
    .set(bearer(await mock.token('basic')));
  expectProblem(res, 'not-acceptable', { detail: /Accept/ });
});

test.each([
  '*/*',
  'application/*',
  'text/html, application/json;q=0.1',
  'application/json; charset=utf-8',
  'application/json;charset=UTF-8',
  'Application/JSON; Charset="utf-8"',
  'application/json; charset=utf-8; q=0.8, */*;q=0.1',
  'application/problem+json, application/json',
])('accepts Accept: %s (RFC 9110 section 12.5.1)', async (accept) => {
  const res = await mock
    .call('get', PREMISES)
    .set('Accept', accept)
    .set(bearer(await mock.token('basic')));
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(res.body.items.length).toBeGreaterThan(0);
});

test('an error answers problem+json whatever Accept allowed, and 406 names what the operation sends', async () => {
  const res = await mock.call('get', PREMISES).set('Accept', 'application/json; charset=iso-8859-1');
  // Authentication comes after content negotiation: the 406 is the first thing wrong.
  expectProblem(res, 'not-acceptable', { detail: /application\/json; charset=utf-8/ });
});

test.each([
  ['text/plain', /application\/json/],
  ['application/xml', /application\/json/],
  ['application/x-www-form-urlencoded', /application\/json/],
  ['application/json; charset=iso-8859-1', /UTF-8.*not charset=iso-8859-1/],
  ['application/json; charset=utf-16', /UTF-8/],
  ['*/*', /application\/json/],
])('rejects a Register body sent as %s with 415 unsupported-media-type', async (type, detail) => {
  const res = await mock.call('post', REGISTER).set('Content-Type', type).send(JSON.stringify(registerBody));
  expectProblem(res, 'unsupported-media-type', { detail });
  expectNoLeak(res, [SECRET]);
});

test('rejects a body without a Content-Type with 415, telling the client to send one', async () => {
  const res = await mock.call('post', REGISTER).send(Buffer.from(JSON.stringify(registerBody)));
  const sent = (res as unknown as { req: { getHeader(name: string): unknown } }).req;
  expect(sent.getHeader('content-type')).toBeUndefined();
  expectProblem(res, 'unsupported-media-type', { detail: /Content-Type/ });
});

test.each([
  'application/json; charset=utf-8',
  'application/json;charset=UTF-8',
  'Application/JSON; Charset="UTF-8"',
  'application/json; foo=bar',
])('accepts a Register body sent as %s', async (type) => {
  const res = await mock.call('post', REGISTER).set('Content-Type', type).send(JSON.stringify(registerBody));
  expect(res.status).toBe(201);
});

test.each([
  'application/x-www-form-urlencoded;charset=UTF-8',
  'application/x-www-form-urlencoded; charset=ISO-8859-1',
  'Application/X-WWW-Form-Urlencoded',
])('TokenRequest reads a form sent as %s', async (type) => {
  const basic = persona('basic');
  const res = await mock
    .call('post', '/api/identity/auth/TokenRequest')
    .auth(CLIENT.id, CLIENT.secret)
    .set('Content-Type', type)
    .send(
      new URLSearchParams({
        grant_type: 'password',
        username: basic.username,
        password: basic.password,
      }).toString(),
    );
  expect(res.status).toBe(200);
  expect(res.body.token_type).toBe('Bearer');
});

test('TokenRequest refuses a form in a charset the mock does not read with 415', async () => {
  const res = await mock
    .call('post', '/api/identity/auth/TokenRequest')
    .auth(CLIENT.id, CLIENT.secret)
    .set('Content-Type', 'application/x-www-form-urlencoded; charset=windows-1252')
    .send('grant_type=password&username=basic%40example.com&password=x');
  expectProblem(res, 'unsupported-media-type', { detail: /UTF-8 or ISO-8859-1.*windows-1252/ });
});

// --- body size and syntax -----------------------------------------------------------------------

test('a body of exactly 64 KiB is read (and then validated); one byte more is 413 payload-too-large', async () => {
  const exact = await mock
    .call('post', REGISTER)
    .type('json')
    .send(hugeJson(64 * 1024));
  expectValidationError(exact, [
    { in: 'body', pointer: '#/padding', detail: /not a known field/ },
    ...['accountNumber', 'postcode', 'email', 'password', 'mobilePhone'].map((f) => ({
      in: 'body' as const,
      pointer: `#/${f}`,
    })),
  ]);
  const over = await mock
    .call('post', REGISTER)
    .type('json')
    .send(hugeJson(64 * 1024 + 1));
  expectProblem(over, 'payload-too-large');
});

test('a 1 MiB body is 413 payload-too-large', async () => {
  const res = await mock
    .call('post', PAYMENTS)
    .set(bearer(await mock.token('basic')))
    .set('Idempotency-Key', newKey())
    .type('json')
    .send(hugeJson(1024 * 1024));
  expectProblem(res, 'payload-too-large');
});

test.each([
  ['a truncated object', `{"email":"x@example.com","password":"${SECRET}"`],
  ['single quotes', `{'password': '${SECRET}'}`],
  ['a trailing comma', `{"password":"${SECRET}",}`],
  ['form encoding sent as JSON', `password=${SECRET}&email=x%40example.com`],
  ['plain words', `my password is ${SECRET}`],
])('answers %s with 400 malformed-json whose detail does not quote the body', async (_name, body) => {
  const res = await mock.call('post', REGISTER).type('json').send(body);
  expectProblem(res, 'malformed-json', { detail: /JSON/ });
  expectNoLeak(res, [SECRET, 'password']);
  expectNotLogged(mock, [SECRET]);
});

const sendOtpRaw = async (body: string) =>
  mock
    .call('post', '/api/identity/authorisation/SendOTP')
    .set(bearer(await mock.token('basic')))
    .type('json')
    .send(body);

test('answers a top-level JSON array with 400 validation-error: the body must be an object', async () => {
  const res = await sendOtpRaw('[{"channel":"sms"}]');
  expectValidationError(res, [{ in: 'body', pointer: '#', detail: /object/ }]);
});

test('answers a top-level JSON string, number, null or boolean with 400 asking for one JSON object', async () => {
  for (const body of ['"sms"', '42', 'null', 'true']) {
    const res = await sendOtpRaw(body);
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/object/);
  }
});

test('answers a top-level JSON scalar like an array: 400 validation-error at #, not malformed-json', async () => {
  for (const body of ['"sms"', '42', 'null', 'true']) {
    expectValidationError(await sendOtpRaw(body), [{ in: 'body', pointer: '#', detail: /object/ }]);
  }
});

test.each([
  ['Register', REGISTER, () => ({ ...registerBody })],
  ['SendOTP', '/api/identity/authorisation/SendOTP', () => ({ channel: 'sms' })],
  [
    'MakePayment',
    PAYMENTS,
    () => ({
      deviceId: '00-DB-12-34-56-78-90-A0',
      amountPence: 100,
      method: 'CARD',
      paymentToken: 'tok_test_approve',
    }),
  ],
])(
  '%s rejects a "__proto__" member as an unknown field with 400, and pollutes nothing',
  async (_op, path, body) => {
    const json = JSON.stringify(body()).replace(/^\{/, '{"__proto__":{"polluted":"yes","isAdmin":true},');
    const res = await mock
      .call('post', path)
      .set(bearer(await mock.token('basic')))
      .set('Idempotency-Key', newKey())
      .type('json')
      .send(json);
    expectValidationError(res, [{ in: 'body', pointer: '#/__proto__', detail: /not a known field/ }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    expect((await mock.call('get', PREMISES).set(bearer(await mock.token('basic')))).status).toBe(200);
  },
);

test('rejects "constructor"/"prototype" members as unknown fields, and pollutes nothing', async () => {
  const res = await mock
    .call('post', REGISTER)
    .type('json')
    .send(JSON.stringify({ ...registerBody, constructor: { prototype: { polluted: 'yes' } } }));
  expectValidationError(res, [{ in: 'body', pointer: '#/constructor', detail: /not a known field/ }]);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});

// --- X-Request-ID -------------------------------------------------------------------------------

test.each(['abc-123', 'trace.4bf92f3577b34da6:a3ce929d0e0e4736_1', 'x'.repeat(128)])(
  'echoes the tame X-Request-ID %s in the header and the problem instance',
  async (id) => {
    const ok = await mock
      .call('get', PREMISES)
      .set('X-Request-ID', id)
      .set(bearer(await mock.token('basic')));
    expect(ok.headers['x-request-id']).toBe(id);
    const problem = await mock.call('get', PREMISES).set('X-Request-ID', id);
    expect(problem.headers['x-request-id']).toBe(id);
    expect(problem.body.instance).toBe(`urn:procode:request:${id}`);
  },
);

test.each([
  ['with spaces', 'hello world'],
  ['of 200 characters', 'a'.repeat(200)],
  ['of 129 characters', 'a'.repeat(129)],
  ['with markup', '<script>alert(1)</script>'],
  ['with quotes', '"quoted"'],
  ['empty', ''],
])('replaces an X-Request-ID %s with a generated one', async (_name, id) => {
  const res = await mock.call('get', PREMISES).set('X-Request-ID', id);
  expect(res.headers['x-request-id']).toMatch(UUID);
  expect(res.body.instance).toBe(`urn:procode:request:${res.headers['x-request-id']}`);
  if (id) expectNoLeak(res, [id]);
});

test('generates a distinct X-Request-ID for each request that sends none', async () => {
  const a = await mock.call('get', PREMISES);
  const b = await mock.call('get', PREMISES);
  expect(a.headers['x-request-id']).toMatch(UUID);
  expect(b.headers['x-request-id']).toMatch(UUID);
  expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
});

// --- no leaks -----------------------------------------------------------------------------------

test('no response carries a stack trace or the passwords, tokens, keys or card numbers sent', async () => {
  const basic = persona('basic');
  const login = await mock
    .call('post', '/api/identity/auth/TokenRequest')
    .auth(CLIENT.id, CLIENT.secret)
    .type('form')
    .send({ grant_type: 'password', username: basic.username, password: basic.password });
  const { access_token: token, refresh_token: refresh } = login.body;
  const estate = await discover(mock, 'basic');
  const secrets = [SECRET, basic.password, token, refresh, CLIENT.secret, '4111111111111111', tamper(token)];
  const responses = await Promise.all([
    mock.call('post', REGISTER).type('json').send(`{"password":"${SECRET}"`),
    mock.call('post', REGISTER).send({ ...registerBody, mobilePhone: 'x' }),
    mock.call('post', REGISTER).type('json').send(hugeJson(70_000).replace('xxxx', SECRET)),
    mock.call('post', REGISTER).set('Content-Type', 'text/plain').send(SECRET),
    mock
      .call('post', '/api/identity/auth/TokenRequest')
      .auth(CLIENT.id, CLIENT.secret)
      .type('form')
      .send({ grant_type: 'password', username: basic.username, password: SECRET }),
    mock
      .call('post', '/api/identity/auth/TokenRequest')
      .auth(CLIENT.id, SECRET)
      .type('form')
      .send({ grant_type: 'password', username: basic.username, password: basic.password }),
    mock
      .call('post', '/api/identity/auth/RefreshToken')
      .auth(CLIENT.id, CLIENT.secret)
      .send({ refresh_token: SECRET }),
    mock.call('get', PREMISES).set(bearer(tamper(token))),
    mock.call('get', PREMISES).set('Authorization', `Basic ${Buffer.from(`x:${SECRET}`).toString('base64')}`),
    mock.call('get', `/api/unknown?password=${SECRET}&access_token=${token}`),
    mock.call('delete', PAYMENTS).set(bearer(token)),
    mock.call('get', PREMISES).set(bearer(token)).set('Accept', 'text/html'),
    mock
      .call('post', PAYMENTS)
      .set(bearer(token))
      .set('Idempotency-Key', newKey())
      .send({
        deviceId: estate.device('ESME').deviceId,
        amountPence: 100,
        method: 'CARD',
        paymentToken: '4111111111111111',
      }),
    mock
      .call('post', PAYMENTS)
      .set(bearer(token))
      .set('Idempotency-Key', newKey())
      .send({
        deviceId: estate.device('ESME').deviceId,
        amountPence: 100,
        method: 'CARD',
        paymentToken: `tok_${SECRET.replace(/-/g, '_')}`,
      }),
    mock.call('get', PREMISES).set(bearer(token)).query({ limit: SECRET }),
    request(mock.app).get(PREMISES).set('Ocp-Apim-Subscription-Key', SECRET),
  ]);
  for (const res of responses) {
    expect(res.status).toBeGreaterThanOrEqual(400);
    expectNoLeak(res, [...secrets, `tok_${SECRET.replace(/-/g, '_')}`]);
  }
  expectNotLogged(mock, [SECRET, basic.password, token, refresh, CLIENT.secret, '4111111111111111']);
});

test('every response says Cache-Control: no-store', async () => {
  const token = await mock.token('basic');
  for (const res of [
    await mock.call('get', PREMISES).set(bearer(token)),
    await mock.call('get', '/api/identity/customers/me').set(bearer(token)),
    await mock.call('get', PREMISES),
    await mock.call('get', '/nowhere'),
  ]) {
    expect(res.headers['cache-control']).toBe('no-store');
  }
});
