import request from 'supertest';
import { SignJWT } from 'jose';
import { CLIENT, persona, testMock } from '../helpers/mock';

/** Faults a newcomer's break-it run found; each stays fixed. */
const SECRET = 'a-test-token-secret-of-32-characters!';
const mock = testMock({ tokenSecret: SECRET });

const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

test('the admin outbox and reset carry no CORS headers, so no web page can read codes', async () => {
  const res = await request(mock.app).get('/__admin/outbox').set('Origin', 'https://evil.example');
  expect(res.headers['access-control-allow-origin']).toBeUndefined();
  const api = await mock.call('get', '/api/energy/premises').set('Origin', 'https://app.example');
  expect(api.headers['access-control-allow-origin']).toBe('*');
});

test('a token with its last signature character changed is invalid', async () => {
  const token = await mock.token('basic');
  const last = token.slice(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const flipped = token.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1];
  const res = await mock.call('get', '/api/identity/customers/me').set(bearer(flipped));
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
});

test.each([
  ['no expiry', { scope: 'customer' }, false],
  ['an unknown scope', { scope: 'admin' }, true],
])('a token with %s is invalid even when correctly signed', async (_name, claims, withExp) => {
  const me = (await mock.call('get', '/api/identity/customers/me').set(bearer(await mock.token('basic'))))
    .body;
  let jwt = new SignJWT({ ...claims, acct: me.accountNumber, gen: mock.services.store.generation() })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(me.customerId)
    .setIssuer('procode-mock')
    .setAudience('procode-api')
    .setIssuedAt(Math.floor(mock.clock.now() / 1000));
  if (withExp) jwt = jwt.setExpirationTime(Math.floor(mock.clock.now() / 1000) + 600);
  const token = await jwt.sign(Buffer.from(SECRET));
  for (let i = 0; i < 2; i++) {
    const res = await mock.call('get', '/api/energy/premises').set(bearer(token));
    expect(res.status).toBe(401);
  }
});

test('a reset revokes earlier tokens, also after the account is registered again by someone else', async () => {
  const p = persona('unregistered');
  const register = (email: string, password: string) =>
    mock.call('post', '/api/identity/registration/Register').send({
      accountNumber: p.accountNumber,
      postcode: p.postcode,
      email,
      password,
      mobilePhone: '+447700900111',
    });
  expect((await register('first@example.com', 'First-Password-2026')).status).toBe(201);
  const login = await mock
    .call('post', '/api/identity/auth/TokenRequest')
    .auth(CLIENT.id, CLIENT.secret)
    .type('form')
    .send({ grant_type: 'password', username: 'first@example.com', password: 'First-Password-2026' });
  const old = login.body.access_token as string;
  const basicToken = await mock.token('basic');
  await request(mock.app).post('/__admin/reset').expect(204);
  expect((await register('second@example.com', 'Second-Password-2026')).status).toBe(201);
  for (const token of [old, basicToken]) {
    const res = await mock.call('get', '/api/identity/customers/me').set(bearer(token));
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(/revoked/);
    expect(JSON.stringify(res.body)).not.toContain('second@example.com');
  }
});

test('an expired token says it expired, so the client knows to refresh', async () => {
  const token = await mock.token('basic');
  mock.clock.advance(3601);
  const res = await mock.call('get', '/api/energy/premises').set(bearer(token));
  expect(res.status).toBe(401);
  expect(res.body.detail).toMatch(/expired.*RefreshToken/);
});

test('one-time codes and refresh tokens differ between two mocks with the same seed and the same calls', async () => {
  const other = testMock({ tokenSecret: SECRET }, { hooks: false });
  const codes: string[] = [];
  const refresh: string[] = [];
  for (const m of [mock, other]) {
    const p = persona('two-factor');
    const login = await m
      .call('post', '/api/identity/auth/TokenRequest')
      .auth(CLIENT.id, CLIENT.secret)
      .type('form')
      .send({ grant_type: 'password', username: p.username, password: p.password });
    refresh.push(login.body.refresh_token);
    const sent = await m
      .call('post', '/api/identity/authorisation/SendOTP')
      .set(bearer(login.body.access_token))
      .send({ channel: 'sms' });
    const outbox = await request(m.app).get('/__admin/outbox').query({ otpId: sent.body.otpId });
    codes.push(outbox.body[0].code);
  }
  expect(refresh[0]).not.toBe(refresh[1]);
  // Two independent 6-digit codes collide once in a million runs.
  expect(codes[0]).not.toBe(codes[1]);
});

test.each([
  ['offset=1e400', 'offset', /decimal digits/],
  ['offset=Infinity', 'offset', /decimal digits/],
  ['limit=1e1', 'limit', /decimal digits/],
  ['limit=0x10', 'limit', /decimal digits/],
  ['limit=%201', 'limit', /decimal digits/],
  ['offset=9007199254740993', 'offset', /at most 9007199254740991/],
  ['offset=99999999999999999999', 'offset', /at most 9007199254740991/],
  ['limit=1&limit=2', 'limit', /more than once/],
])('?%s is a 400 that says what is wrong, never a 500', async (query, name, detail) => {
  const token = await mock.token('basic');
  for (const path of ['/api/energy/premises', '/api/energy/payments']) {
    const res = await mock.call('get', `${path}?${query}`).set(bearer(token));
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { in: 'query', pointer: `#/${name}`, detail: expect.stringMatching(detail) },
    ]);
  }
});

test('leading zeros are still decimal digits: ?offset=01&limit=002 is offset 1, limit 2 (the contract has no rule against them)', async () => {
  const token = await mock.token('basic');
  const res = await mock.call('get', '/api/energy/premises?offset=00&limit=002').set(bearer(token));
  expect(res.status).toBe(200);
  expect({ limit: res.body.limit, offset: res.body.offset }).toEqual({ limit: 2, offset: 0 });
});

test('an Idempotency-Key in urn:uuid: form is rejected, so one key has one spelling', async () => {
  const token = await mock.token('basic');
  const res = await mock
    .call('post', '/api/energy/payments')
    .set(bearer(token))
    .set('Idempotency-Key', 'urn:uuid:2b0d7b3e-8c1a-4f1e-9b2a-0c3d4e5f6a7b')
    .send({
      deviceId: '00-DB-12-34-56-78-90-A0',
      amountPence: 500,
      method: 'CARD',
      paymentToken: 'tok_test_approve',
    });
  expect(res.status).toBe(400);
  expect(res.body.errors).toContainEqual(
    expect.objectContaining({ in: 'header', pointer: '#/idempotency-key' }),
  );
});

test.each(['application/problem+json', 'application/json;q=0, */*', 'text/html'])(
  'Accept: %s excludes what a success would be sent as: 406',
  async (accept) => {
    const token = await mock.token('basic');
    const res = await mock.call('get', '/api/energy/premises').set(bearer(token)).set('Accept', accept);
    expect(res.status).toBe(406);
  },
);

test('a malformed Basic header is named as malformed, not as missing', async () => {
  const res = await mock
    .call('post', '/api/identity/auth/TokenRequest')
    .set('Authorization', 'Basic !!!')
    .type('form')
    .send({ grant_type: 'password', username: 'a', password: 'b' });
  expect(res.status).toBe(401);
  expect(res.body.detail).toMatch(/malformed/);
});

test('a body with thousands of faults gets a bounded errors[]', async () => {
  const token = await mock.token('basic');
  const body: Record<string, string> = {};
  for (let i = 0; i < 3000; i++) body[`field${i}`] = 'x';
  const res = await mock
    .call('post', '/api/energy/payments')
    .set(bearer(token))
    .set('Idempotency-Key', '2b0d7b3e-8c1a-4f1e-9b2a-0c3d4e5f6a7b')
    .send(body);
  expect(res.status).toBe(400);
  expect(res.body.errors.length).toBeLessThanOrEqual(101);
  expect(res.body.errors.at(-1).detail).toMatch(/more/);
});

test('the outbox filter takes ?to=+44... as typed, and repeated otpIds', async () => {
  const p = persona('two-factor');
  const login = await mock
    .call('post', '/api/identity/auth/TokenRequest')
    .auth(CLIENT.id, CLIENT.secret)
    .type('form')
    .send({ grant_type: 'password', username: p.username, password: p.password });
  const a = await mock
    .call('post', '/api/identity/authorisation/SendOTP')
    .set(bearer(login.body.access_token))
    .send({ channel: 'sms' });
  const b = await mock
    .call('post', '/api/identity/authorisation/SendOTP')
    .set(bearer(login.body.access_token))
    .send({ channel: 'email' });
  const all = (await request(mock.app).get('/__admin/outbox')).body;
  const phone = all[0].to as string;
  const byPhone = await request(mock.app).get(`/__admin/outbox?to=${phone}`);
  expect(byPhone.body.map((m: { otpId: string }) => m.otpId)).toEqual([a.body.otpId]);
  const both = await request(mock.app).get(`/__admin/outbox?otpId=${a.body.otpId}&otpId=${b.body.otpId}`);
  expect(both.body).toHaveLength(2);
});

test('after a reset the same calls give the same ids again', async () => {
  const pay = async () => {
    const token = await mock.token('basic');
    const premises = await mock.call('get', '/api/energy/premises').set(bearer(token));
    const sps = await mock
      .call('get', `/api/energy/premises/${premises.body.items[0].premiseId}/servicepoints`)
      .set(bearer(token));
    const elec = sps.body.items.find((s: { fuelType: string }) => s.fuelType === 'ELECTRICITY');
    const devices = await mock
      .call('get', `/api/energy/servicepoints/${elec.servicePointId}/devices`)
      .set(bearer(token));
    const meter = devices.body.items.find((d: { deviceType: string }) => d.deviceType === 'ESME');
    const res = await mock
      .call('post', '/api/energy/payments')
      .set(bearer(token))
      .set('Idempotency-Key', '2b0d7b3e-8c1a-4f1e-9b2a-0c3d4e5f6a7b')
      .send({ deviceId: meter.deviceId, amountPence: 500, method: 'CARD', paymentToken: 'tok_test_approve' });
    return [res.body.paymentId, res.body.utrn];
  };
  await request(mock.app).post('/__admin/reset');
  const first = await pay();
  await request(mock.app).post('/__admin/reset');
  expect(await pay()).toEqual(first);
});

/** A token for the basic persona signed with the test secret, with these registered claims (epoch seconds). */
async function forged(times: { iat: number; exp: number; nbf?: number }): Promise<string> {
  const me = (await mock.call('get', '/api/identity/customers/me').set(bearer(await mock.token('basic'))))
    .body;
  let jwt = new SignJWT({ scope: 'customer', acct: me.accountNumber, gen: mock.services.store.generation() })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(me.customerId)
    .setIssuer('procode-mock')
    .setAudience('procode-api')
    .setIssuedAt(times.iat)
    .setExpirationTime(times.exp);
  if (times.nbf !== undefined) jwt = jwt.setNotBefore(times.nbf);
  return jwt.sign(Buffer.from(SECRET));
}

const nowSeconds = () => Math.floor(mock.clock.now() / 1000);
const TEN_YEARS = 10 * 365 * 24 * 3600;

test.each([
  [
    'issued ten years in the future',
    () => ({ iat: nowSeconds() + TEN_YEARS, exp: nowSeconds() + TEN_YEARS + 600 }),
  ],
  ['issued 61 seconds in the future', () => ({ iat: nowSeconds() + 61, exp: nowSeconds() + 600 })],
  [
    'not valid before an hour from now',
    () => ({ iat: nowSeconds(), nbf: nowSeconds() + 3600, exp: nowSeconds() + 7200 }),
  ],
])('a correctly signed token %s is rejected with 401 invalid_token', async (_name, times) => {
  const token = await forged(times());
  const res = await mock.call('get', '/api/energy/premises').set(bearer(token));
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
});

test('a token issued up to 60 seconds in the future passes (clock skew)', async () => {
  const token = await forged({ iat: nowSeconds() + 60, exp: nowSeconds() + 600 });
  expect((await mock.call('get', '/api/energy/premises').set(bearer(token))).status).toBe(200);
});

test('a token issued now is rejected once the mock clock goes back more than the skew, and accepted again after', async () => {
  const token = await mock.token('basic');
  expect((await mock.call('get', '/api/energy/premises').set(bearer(token))).status).toBe(200);
  mock.clock.advance(-120);
  const res = await mock.call('get', '/api/energy/premises').set(bearer(token));
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
  mock.clock.advance(120);
  expect((await mock.call('get', '/api/energy/premises').set(bearer(token))).status).toBe(200);
});
