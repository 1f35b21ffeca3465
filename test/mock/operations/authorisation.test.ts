import request from 'supertest';
import { persona, testMock } from '../../helpers/mock';
import { commonErrorTests } from '../../helpers/common-errors';
import { bearer, challenge, otpToken, wrongCode } from '../../helpers/operations';
import {
  expectNoLeak,
  expectNotLogged,
  expectOtpRequired,
  expectProblem,
  expectValidationError,
  unexercisedStatuses,
} from '../../helpers/problems';

const mock = testMock();

const SEND = '/api/identity/authorisation/SendOTP';
const VERIFY = '/api/identity/authorisation/VerifyOTP';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const sendOtp = (token: string, body: unknown = { channel: 'sms' }) =>
  mock
    .call('post', SEND)
    .set(bearer(token))
    .send(body as object);
const verifyOtp = (token: string, body: unknown) =>
  mock
    .call('post', VERIFY)
    .set(bearer(token))
    .send(body as object);
const outbox = async (): Promise<{ otpId: string; channel: string; to: string; code: string }[]> =>
  (await request(mock.app).get('/__admin/outbox')).body;

/** The two-factor persona's customer record (needs a full token, which costs one SendOTP). */
async function twoFactorCustomer(): Promise<{ email: string; mobilePhone: string }> {
  const full = await mock.token('two-factor');
  return (await mock.call('get', '/api/identity/customers/me').set(bearer(full))).body;
}

commonErrorTests(mock, ['SendOTP', 'VerifyOTP']);

// --- SendOTP ------------------------------------------------------------------------------------

test('SendOTP by sms answers 202 with a masked phone number; the code is only in the dev outbox', async () => {
  const { mobilePhone } = await twoFactorCustomer();
  const token = await otpToken(mock);
  const res = await sendOtp(token, { channel: 'sms' });
  expect(res.status).toBe(202);
  expect(Object.keys(res.body).sort()).toEqual(['channel', 'destination', 'expiresIn', 'otpId']);
  expect(res.body.otpId).toMatch(UUID);
  expect(res.body.channel).toBe('sms');
  expect(res.body.expiresIn).toBe(300);
  expect(res.body.destination).toBe(`+44 7*** ***${mobilePhone.slice(-3)}`);
  const sent = (await outbox()).find((m) => m.otpId === res.body.otpId)!;
  expect(sent).toMatchObject({ channel: 'sms', to: mobilePhone });
  expect(sent.code).toMatch(/^[0-9]{6}$/);
  expectNoLeak(res, [sent.code, mobilePhone, mobilePhone.slice(3)]);
  expectNotLogged(mock, [sent.code, mobilePhone]);
});

test('SendOTP by email answers 202 with a masked e-mail address', async () => {
  const { email } = await twoFactorCustomer();
  const token = await otpToken(mock);
  const res = await sendOtp(token, { channel: 'email' });
  expect(res.status).toBe(202);
  expect(res.body.channel).toBe('email');
  expect(res.body.destination).toBe(`${email[0]}****${email.slice(email.indexOf('@'))}`);
  const sent = (await outbox()).find((m) => m.otpId === res.body.otpId)!;
  expect(sent).toMatchObject({ channel: 'email', to: email });
  expectNoLeak(res, [sent.code, email]);
});

test('SendOTP also works with a customer-scope token', async () => {
  const res = await sendOtp(await mock.token('basic'), { channel: 'sms' });
  expect(res.status).toBe(202);
});

test.each([
  ['an unknown channel', { channel: 'fax' }, [{ in: 'body', pointer: '#/channel', detail: /sms.*email/ }]],
  ['no channel', {}, [{ in: 'body', pointer: '#/channel', detail: /required/ }]],
  [
    'a channel that is not a string',
    { channel: 1 },
    // One item per field, however many keywords the value breaks.
    [{ in: 'body', pointer: '#/channel', detail: /string/ }],
  ],
  [
    'a destination of its own choosing',
    { channel: 'sms', to: '+447700900999' },
    [{ in: 'body', pointer: '#/to', detail: /not a known field/ }],
  ],
  [
    'an unknown channel and an unknown field',
    { channel: 'pigeon', priority: 'high' },
    [
      { in: 'body', pointer: '#/channel' },
      { in: 'body', pointer: '#/priority' },
    ],
  ],
] as const)('SendOTP rejects %s with 400 validation-error and sends nothing', async (_name, body, errors) => {
  const res = await sendOtp(await otpToken(mock), body);
  expectValidationError(res, [...errors]);
  expect(await outbox()).toEqual([]);
});

test('SendOTP with an empty JSON body is 400 validation-error: channel is required', async () => {
  const res = await mock
    .call('post', SEND)
    .set(bearer(await otpToken(mock)))
    .type('json');
  expectValidationError(res, [{ in: 'body', pointer: '#/channel', detail: /required/ }]);
});

test('the 6th SendOTP in 15 minutes is 429 with Retry-After, sends nothing, and is allowed after the window', async () => {
  const token = await otpToken(mock);
  for (let i = 0; i < 5; i++) {
    expect((await sendOtp(token)).status).toBe(202);
    mock.clock.advance(60);
  }
  // The five were sent at 0, 60, ..., 240 s; it is now 300 s, so the first leaves the window in 600 s.
  const limited = await sendOtp(token);
  expectProblem(limited, 'too-many-requests', { detail: /5 codes.*15 minutes/ });
  expect(limited.headers['retry-after']).toBe('600');
  expect(await outbox()).toHaveLength(5);
  mock.clock.advance(599);
  const still = await sendOtp(token, { channel: 'email' });
  expectProblem(still, 'too-many-requests');
  expect(still.headers['retry-after']).toBe('1');
  mock.clock.advance(1);
  expect((await sendOtp(token)).status).toBe(202);
  expect(await outbox()).toHaveLength(6);
});

test('a 429 from SendOTP leaves the open challenges usable', async () => {
  const token = await otpToken(mock);
  for (let i = 0; i < 4; i++) await sendOtp(token);
  const last = await challenge(mock, token);
  expect((await sendOtp(token)).status).toBe(429);
  const res = await verifyOtp(token, { otpId: last.otpId, code: last.code });
  expect(res.status).toBe(200);
});

test("SendOTP's limit is per customer: another customer can still ask for codes", async () => {
  const token = await otpToken(mock);
  for (let i = 0; i < 5; i++) await sendOtp(token);
  expect((await sendOtp(token)).status).toBe(429);
  expect((await sendOtp(await mock.token('basic'))).status).toBe(202);
});

// --- VerifyOTP ----------------------------------------------------------------------------------

test('VerifyOTP with the right code answers 200 with a full-scope token that works everywhere', async () => {
  const token = await otpToken(mock);
  const { otpId, code } = await challenge(mock, token);
  const res = await verifyOtp(token, { otpId, code });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ token_type: 'Bearer', scope: 'customer', expires_in: 3600 });
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
  expectNoLeak(res, [code]);
  expectNotLogged(mock, [code, res.body.access_token]);
  const premises = await mock.call('get', '/api/energy/premises').set(bearer(res.body.access_token));
  expect(premises.status).toBe(200);
  const me = await mock.call('get', '/api/identity/customers/me').set(bearer(res.body.access_token));
  expect(me.body.accountNumber).toBe(persona('two-factor').accountNumber);
});

test('VerifyOTP with a code sent by email works the same', async () => {
  const token = await otpToken(mock);
  const { otpId, code } = await challenge(mock, token, 'email');
  expect((await verifyOtp(token, { otpId, code })).body.scope).toBe('customer');
});

test('VerifyOTP does not upgrade the otp-scope token it was called with', async () => {
  const token = await otpToken(mock);
  const { otpId, code } = await challenge(mock, token);
  expect((await verifyOtp(token, { otpId, code })).status).toBe(200);
  expectOtpRequired(await mock.call('get', '/api/energy/premises').set(bearer(token)));
});

test('VerifyOTP with a wrong code is 400 otp-invalid counting attemptsRemaining down from 4 to 0', async () => {
  const token = await otpToken(mock);
  const { otpId, code } = await challenge(mock, token);
  const remaining: unknown[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await verifyOtp(token, { otpId, code: wrongCode(code) });
    const body = expectProblem(res, 'otp-invalid', { detail: /code is wrong/ });
    expectNoLeak(res, [code, wrongCode(code)]);
    remaining.push(body.attemptsRemaining);
  }
  expect(remaining).toEqual([4, 3, 2, 1, 0]);
});

test('after 5 wrong codes the right code is 410 otp-expired (the challenge is void)', async () => {
  const token = await otpToken(mock);
  const { otpId, code } = await challenge(mock, token);
  for (let i = 0; i < 5; i++) await verifyOtp(token, { otpId, code: wrongCode(code) });
  const res = await verifyOtp(token, { otpId, code });
  expectProblem(res, 'otp-expired', { detail: /SendOTP/ });
  expectNoLeak(res, [code]);
});

test('a code that was used is 410 otp-expired the second time', async () => {
  const token = await otpToken(mock);
  const { otpId, code } = await challenge(mock, token);
  expect((await verifyOtp(token, { otpId, code })).status).toBe(200);
  expectProblem(await verifyOtp(token, { otpId, code }), 'otp-expired', { detail: /used/ });
});

test('a code works at 299 seconds and is 410 otp-expired after 5 minutes', async () => {
  const token = await otpToken(mock);
  const early = await challenge(mock, token);
  const late = await challenge(mock, token);
  mock.clock.advance(299);
  expect((await verifyOtp(token, { otpId: early.otpId, code: early.code })).status).toBe(200);
  mock.clock.advance(2);
  const res = await verifyOtp(token, { otpId: late.otpId, code: late.code });
  expectProblem(res, 'otp-expired', { detail: /expired/ });
});

test('VerifyOTP with an unknown otpId is 404 not-found', async () => {
  const token = await otpToken(mock);
  await challenge(mock, token);
  const res = await verifyOtp(token, { otpId: '0e4d2c8b-1a3f-4b6e-8d9c-7f5a2b1c3d4e', code: '123456' });
  expectProblem(res, 'not-found', { detail: /SendOTP/ });
});

test("VerifyOTP with another customer's otpId is 404 (not 403) and leaves that challenge usable", async () => {
  const basicToken = await mock.token('basic');
  const theirs = await challenge(mock, basicToken);
  const token = await otpToken(mock);
  const res = await verifyOtp(token, { otpId: theirs.otpId, code: theirs.code });
  expectProblem(res, 'not-found');
  const unknown = await verifyOtp(token, {
    otpId: '0e4d2c8b-1a3f-4b6e-8d9c-7f5a2b1c3d4e',
    code: theirs.code,
  });
  expect(res.body.detail).toBe(unknown.body.detail);
  expect((await verifyOtp(basicToken, { otpId: theirs.otpId, code: theirs.code })).status).toBe(200);
});

test('VerifyOTP lists every invalid field: a 5-digit code, an otpId that is not a UUID, an unknown field', async () => {
  const res = await verifyOtp(await otpToken(mock), { otpId: 'abc', code: '12345', remember: true });
  expectValidationError(res, [
    { in: 'body', pointer: '#/otpId', detail: /uuid/ },
    { in: 'body', pointer: '#/code', detail: /pattern/ },
    { in: 'body', pointer: '#/remember', detail: /not a known field/ },
  ]);
  expectNoLeak(res, ['12345']);
});

test('VerifyOTP rejects a numeric code (not a string) with 400 and it costs no attempt', async () => {
  const token = await otpToken(mock);
  const { otpId, code } = await challenge(mock, token);
  const res = await verifyOtp(token, { otpId, code: Number(wrongCode(code)) });
  expectValidationError(res, [{ in: 'body', pointer: '#/code', detail: /string/ }]);
  const next = await verifyOtp(token, { otpId, code: wrongCode(code) });
  expect(next.body.attemptsRemaining).toBe(4);
});

test('VerifyOTP with an empty JSON body is 400 validation-error listing both fields', async () => {
  const res = await mock
    .call('post', VERIFY)
    .set(bearer(await otpToken(mock)))
    .type('json');
  expectValidationError(res, [
    { in: 'body', pointer: '#/otpId', detail: /required/ },
    { in: 'body', pointer: '#/code', detail: /required/ },
  ]);
});

test('covers every status the contract declares for SendOTP and VerifyOTP', () => {
  expect(unexercisedStatuses(mock, 'SendOTP')).toEqual([]);
  expect(unexercisedStatuses(mock, 'VerifyOTP')).toEqual([]);
});
