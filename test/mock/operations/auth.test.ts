import type { Response } from 'supertest';
import { CLIENT, memoryOf, persona, testMock } from '../../helpers/mock';
import { commonErrorTests } from '../../helpers/common-errors';
import {
  LOGIN_FAILURE_LIMIT,
  LOGIN_FAILURE_MAX_USERNAMES,
  LOGIN_FAILURE_WINDOW_SECONDS,
  loginRetryAfterSeconds,
  recordLoginFailure,
} from '../../../mock/handlers/auth';
import { bearer, challenge, login } from '../../helpers/operations';
import {
  expectFieldErrors,
  expectInvalidToken,
  expectNoLeak,
  expectNotLogged,
  expectOAuthProblem,
  expectProblem,
  unexercisedStatuses,
  withoutInstance,
} from '../../helpers/problems';

const mock = testMock();

const TOKEN = '/api/identity/auth/TokenRequest';
const REFRESH = '/api/identity/auth/RefreshToken';
const basic = persona('basic');
const passwordGrant = { grant_type: 'password', username: basic.username, password: basic.password };

/** A token request with HTTP Basic client authentication. */
const tokenRequest = (path = TOKEN) => mock.call('post', path).auth(CLIENT.id, CLIENT.secret);

/** Asserts an RFC 6749 section 5.1 token response with the contract's headers. */
function expectToken(res: Response, scope: 'customer' | 'otp', expiresIn = 3600): void {
  expect(`${res.status} ${res.text}`).toMatch(/^200 /);
  expect(res.headers['content-type']).toMatch(/^application\/json(;|$)/);
  expect(Object.keys(res.body).sort()).toEqual([
    'access_token',
    'expires_in',
    'refresh_token',
    'scope',
    'token_type',
  ]);
  expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: expiresIn, scope });
  expect(res.body.access_token).toMatch(/^[A-Za-z0-9\-._~+/]+=*$/);
  expect(res.body.refresh_token.length).toBeGreaterThan(0);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
}

/** The customer the token speaks for, or the status when it does not work. */
async function whoIs(token: string): Promise<string | number> {
  const res = await mock.call('get', '/api/identity/customers/me').set(bearer(token));
  return res.status === 200 ? (res.body.accountNumber as string) : res.status;
}

commonErrorTests(mock, ['TokenRequest', 'RefreshToken']);

// --- TokenRequest: password grant ---------------------------------------------------------------

test('logs in with a form-encoded password grant and HTTP Basic client authentication', async () => {
  const res = await tokenRequest().type('form').send(passwordGrant);
  expectToken(res, 'customer');
  expect(await whoIs(res.body.access_token)).toBe(basic.accountNumber);
});

test('logs in with a JSON password grant', async () => {
  const res = await tokenRequest().send(passwordGrant);
  expectToken(res, 'customer');
  expect(await whoIs(res.body.access_token)).toBe(basic.accountNumber);
});

test.each([
  ['form', 'form'],
  ['JSON', 'json'],
])('authenticates the client with client_id and client_secret in a %s body', async (_name, type) => {
  const res = await mock
    .call('post', TOKEN)
    .type(type)
    .send({ ...passwordGrant, client_id: CLIENT.id, client_secret: CLIENT.secret });
  expectToken(res, 'customer');
});

test('treats the username as case-insensitive', async () => {
  const res = await tokenRequest()
    .type('form')
    .send({ ...passwordGrant, username: basic.username.toUpperCase() });
  expectToken(res, 'customer');
});

test('gives the two-factor persona an otp-scope token', async () => {
  const p = persona('two-factor');
  const res = await tokenRequest()
    .type('form')
    .send({ grant_type: 'password', username: p.username, password: p.password });
  expectToken(res, 'otp');
});

test('a requested scope does not skip two-step authentication', async () => {
  const p = persona('two-factor');
  const res = await tokenRequest()
    .type('form')
    .send({ grant_type: 'password', username: p.username, password: p.password, scope: 'customer' });
  expectToken(res, 'otp');
});

test('ignores unknown parameters (RFC 6749 section 3.2)', async () => {
  const res = await tokenRequest()
    .type('form')
    .send({ ...passwordGrant, scope: 'everything', device: 'kitchen-tablet', nonce: 'n-0S6_WzA2Mj' });
  expectToken(res, 'customer');
});

test('treats empty client_id and client_secret as absent, so Basic alone authenticates the client', async () => {
  const res = await tokenRequest()
    .type('form')
    .send({ ...passwordGrant, client_id: '', client_secret: '', scope: '' });
  expectToken(res, 'customer');
});

test('rejects client authentication by HTTP Basic and by body at once with 400 invalid_request', async () => {
  const res = await tokenRequest()
    .type('form')
    .send({ ...passwordGrant, client_id: CLIENT.id, client_secret: CLIENT.secret });
  expectOAuthProblem(res, 'invalid-request', { detail: /one way/ });
});

test.each([
  ['HTTP Basic', { basic: [CLIENT.id, 'wrong-secret'] }],
  ['the body', { body: { client_id: CLIENT.id, client_secret: 'wrong-secret' } }],
  ['HTTP Basic with an unknown client id', { basic: ['someone-else', CLIENT.secret] }],
])(
  'rejects a wrong client secret sent by %s with 401 invalid_client and WWW-Authenticate: Basic',
  async (_name, how: { basic?: string[]; body?: Record<string, string> }) => {
    let req = mock.call('post', TOKEN).type('form');
    if (how.basic) req = req.auth(how.basic[0]!, how.basic[1]!);
    const res = await req.send({ ...passwordGrant, ...how.body });
    expectOAuthProblem(res, 'invalid-client', { detail: /client/ });
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm="procode"/);
    expectNoLeak(res, ['wrong-secret', basic.password]);
  },
);

test('rejects a request without client authentication with 401 invalid_client', async () => {
  const res = await mock.call('post', TOKEN).type('form').send(passwordGrant);
  expectOAuthProblem(res, 'invalid-client', { detail: /client id and secret/ });
  expect(res.headers['www-authenticate']).toMatch(/^Basic realm="procode"/);
});

test('rejects a malformed Basic header with 401 invalid_client', async () => {
  const res = await mock
    .call('post', TOKEN)
    .set('Authorization', 'Basic not base64!')
    .type('form')
    .send(passwordGrant);
  expectOAuthProblem(res, 'invalid-client');
  expect(res.headers['www-authenticate']).toMatch(/^Basic realm="procode"/);
});

test('rejects a wrong password with 400 invalid_grant and never echoes or logs it', async () => {
  const res = await tokenRequest()
    .type('form')
    .send({ ...passwordGrant, password: 'Wrong-Password-Zebra-77' });
  expectOAuthProblem(res, 'invalid-grant', { detail: /username or password/ });
  expectNoLeak(res, ['Wrong-Password-Zebra-77', basic.password]);
  expectNotLogged(mock, ['Wrong-Password-Zebra-77', basic.password]);
});

test('answers an unknown username exactly as a wrong password (no account enumeration)', async () => {
  const wrongPassword = await tokenRequest()
    .type('form')
    .send({ ...passwordGrant, password: 'Wrong-Password-Zebra-77' });
  const unknownUser = await tokenRequest()
    .type('form')
    .send({ ...passwordGrant, username: 'nobody@example.com' });
  expectOAuthProblem(unknownUser, 'invalid-grant');
  expect(withoutInstance(unknownUser.body)).toEqual(withoutInstance(wrongPassword.body));
});

test('rejects the unregistered persona (no online access yet) with 400 invalid_grant', async () => {
  const p = persona('unregistered');
  const res = await tokenRequest()
    .type('form')
    .send({ grant_type: 'password', username: p.username, password: p.password });
  expectOAuthProblem(res, 'invalid-grant');
});

test.each(['client_credentials', 'authorization_code', 'urn:ietf:params:oauth:grant-type:jwt-bearer'])(
  'rejects grant_type=%s with 400 unsupported_grant_type',
  async (grantType) => {
    const res = await tokenRequest()
      .type('form')
      .send({ ...passwordGrant, grant_type: grantType });
    expectOAuthProblem(res, 'unsupported-grant-type', { detail: /grant_type/ });
  },
);

test('rejects a request without grant_type with 400 invalid_request pointing at it', async () => {
  const res = await tokenRequest().type('form').send({ username: basic.username, password: basic.password });
  const body = expectOAuthProblem(res, 'invalid-request', { detail: /grant_type/ });
  expectFieldErrors(body, [{ in: 'body', pointer: '#/grant_type', detail: /required/ }]);
});

test('rejects a password grant without username with 400 invalid_request and errors[] at #/username', async () => {
  const res = await tokenRequest().type('form').send({ grant_type: 'password', password: basic.password });
  const body = expectOAuthProblem(res, 'invalid-request', { detail: /username/ });
  expectFieldErrors(body, [{ in: 'body', pointer: '#/username', detail: /required/ }]);
  expectNoLeak(res, [basic.password]);
});

test('lists every missing parameter of a password grant', async () => {
  const res = await tokenRequest().type('form').send({ grant_type: 'password' });
  const body = expectOAuthProblem(res, 'invalid-request');
  expectFieldErrors(body, [
    { in: 'body', pointer: '#/username', detail: /required/ },
    { in: 'body', pointer: '#/password', detail: /required/ },
  ]);
});

test('treats an empty username as absent (RFC 6749 section 3.2): 400 invalid_request', async () => {
  const res = await tokenRequest()
    .type('form')
    .send({ ...passwordGrant, username: '' });
  const body = expectOAuthProblem(res, 'invalid-request');
  expectFieldErrors(body, [{ in: 'body', pointer: '#/username', detail: /required/ }]);
});

test('rejects a repeated form parameter with 400 invalid_request', async () => {
  const res = await tokenRequest()
    .type('form')
    .send(
      `grant_type=password&username=${encodeURIComponent(basic.username)}&password=${encodeURIComponent(
        basic.password,
      )}&grant_type=password`,
    );
  expectOAuthProblem(res, 'invalid-request', { detail: /grant_type.*more than once/ });
  expectNoLeak(res, [basic.password]);
});

test('rejects a JSON username of the wrong type with 400 invalid-request and errors[] at #/username', async () => {
  // decisions.md: on the token operations every parameter fault is `invalid-request`, with errors[].
  const res = await tokenRequest().send({ ...passwordGrant, username: 12345 });
  expect(res.status).toBe(400);
  expect(res.body.error).toBe('invalid_request');
  expectFieldErrors(res.body, [{ in: 'body', pointer: '#/username', detail: /string/ }]);
  expectOAuthProblem(res, 'invalid-request');
});

test('answers malformed JSON with 400 malformed-json that also carries error=invalid_request', async () => {
  // TokenBadRequest: "Always carries `error` and `error_description`"; its malformedJson example has
  // `error: invalid_request`.
  const res = await tokenRequest()
    .type('json')
    .send(`{"grant_type":"password","password":"${basic.password}"`);
  expectNoLeak(res, [basic.password]);
  expectOAuthProblem(res, 'malformed-json');
});

test('ignores a JSON "__proto__" parameter instead of reading credentials from it', async () => {
  // Unknown parameters are ignored: a "__proto__" member must not supply username and password.
  const res = await tokenRequest()
    .type('json')
    .send(
      `{"grant_type":"password","__proto__":{"username":"${basic.username}","password":"${basic.password}"}}`,
    );
  const body = expectOAuthProblem(res, 'invalid-request');
  expectFieldErrors(body, [
    { in: 'body', pointer: '#/username' },
    { in: 'body', pointer: '#/password' },
  ]);
  expect(({} as Record<string, unknown>).username).toBeUndefined();
});

// --- refresh ------------------------------------------------------------------------------------

test('RefreshToken returns the same refresh token and a new, working access token', async () => {
  const first = await login(mock, 'basic');
  mock.clock.advance(10);
  const res = await tokenRequest(REFRESH).send({ refresh_token: first.body.refresh_token });
  expectToken(res, 'customer');
  expect(res.body.refresh_token).toBe(first.body.refresh_token);
  expect(res.body.access_token).not.toBe(first.body.access_token);
  expect(await whoIs(res.body.access_token)).toBe(basic.accountNumber);
});

test('RefreshToken accepts a form-encoded body with grant_type=refresh_token', async () => {
  const first = await login(mock, 'basic');
  const res = await tokenRequest(REFRESH)
    .type('form')
    .send({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
  expectToken(res, 'customer');
  expect(res.body.refresh_token).toBe(first.body.refresh_token);
});

test('TokenRequest with grant_type=refresh_token refreshes like RefreshToken', async () => {
  const first = await login(mock, 'basic');
  const res = await tokenRequest()
    .type('form')
    .send({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
  expectToken(res, 'customer');
  expect(res.body.refresh_token).toBe(first.body.refresh_token);
  expect(res.body.access_token).not.toBe(first.body.access_token);
  expect(await whoIs(res.body.access_token)).toBe(basic.accountNumber);
});

test('a refreshed access token works after the first one has expired', async () => {
  const first = await login(mock, 'basic');
  mock.clock.advance(first.body.expires_in);
  expect(await whoIs(first.body.access_token)).toBe(401);
  const res = await tokenRequest(REFRESH).send({ refresh_token: first.body.refresh_token });
  expectToken(res, 'customer');
  expect(await whoIs(res.body.access_token)).toBe(basic.accountNumber);
});

test('refreshing an otp grant keeps the otp scope (no way around two-step authentication)', async () => {
  const first = await login(mock, 'two-factor');
  const res = await tokenRequest(REFRESH).send({ refresh_token: first.body.refresh_token });
  expectToken(res, 'otp');
  expect(await whoIs(res.body.access_token)).toBe(403);
});

test('refreshing the grant VerifyOTP issued gives a customer token', async () => {
  const first = await login(mock, 'two-factor');
  const { otpId, code } = await challenge(mock, first.body.access_token);
  const verified = await mock
    .call('post', '/api/identity/authorisation/VerifyOTP')
    .set(bearer(first.body.access_token))
    .send({ otpId, code });
  const res = await tokenRequest(REFRESH).send({ refresh_token: verified.body.refresh_token });
  expectToken(res, 'customer');
  expect(await whoIs(res.body.access_token)).toBe(persona('two-factor').accountNumber);
});

test.each([
  ['RefreshToken', REFRESH, {}],
  ['TokenRequest', TOKEN, { grant_type: 'refresh_token' }],
])('%s rejects an unknown refresh token with 400 invalid_grant', async (_name, path, extra) => {
  const res = await tokenRequest(path).send({ ...extra, refresh_token: 'rt-never-issued-by-this-mock' });
  expectOAuthProblem(res, 'invalid-grant', { detail: /refresh token/ });
  expectNoLeak(res, ['rt-never-issued-by-this-mock']);
});

test('RefreshToken rejects a refresh token after 30 days with 400 invalid_grant', async () => {
  const first = await login(mock, 'basic');
  mock.clock.advance(30 * 24 * 3600);
  const res = await tokenRequest(REFRESH).send({ refresh_token: first.body.refresh_token });
  expectOAuthProblem(res, 'invalid-grant');
});

test('RefreshToken rejects a missing refresh_token with 400 invalid_request pointing at it', async () => {
  const res = await tokenRequest(REFRESH).type('form').send({ grant_type: 'refresh_token' });
  const body = expectOAuthProblem(res, 'invalid-request', { detail: /refresh_token/ });
  expectFieldErrors(body, [{ in: 'body', pointer: '#/refresh_token', detail: /required/ }]);
});

test('TokenRequest with grant_type=refresh_token and an empty refresh_token is 400 invalid_request', async () => {
  const res = await tokenRequest().type('form').send({ grant_type: 'refresh_token', refresh_token: '' });
  const body = expectOAuthProblem(res, 'invalid-request');
  expectFieldErrors(body, [{ in: 'body', pointer: '#/refresh_token', detail: /required/ }]);
});

test('RefreshToken rejects grant_type=password with 400 unsupported_grant_type', async () => {
  const first = await login(mock, 'basic');
  const res = await tokenRequest(REFRESH)
    .type('form')
    .send({ grant_type: 'password', refresh_token: first.body.refresh_token });
  expectOAuthProblem(res, 'unsupported-grant-type');
});

test('RefreshToken rejects a wrong client secret with 401 invalid_client and changes nothing', async () => {
  const first = await login(mock, 'basic');
  const res = await mock
    .call('post', REFRESH)
    .auth(CLIENT.id, 'wrong-secret')
    .send({ refresh_token: first.body.refresh_token });
  expectOAuthProblem(res, 'invalid-client');
  expect(res.headers['www-authenticate']).toMatch(/^Basic realm="procode"/);
  expectNoLeak(res, [first.body.refresh_token]);
  expectToken(await tokenRequest(REFRESH).send({ refresh_token: first.body.refresh_token }), 'customer');
});

test('RefreshToken rejects client authentication by Basic and by body at once with 400 invalid_request', async () => {
  const first = await login(mock, 'basic');
  const res = await tokenRequest(REFRESH).send({
    refresh_token: first.body.refresh_token,
    client_id: CLIENT.id,
    client_secret: CLIENT.secret,
  });
  expectOAuthProblem(res, 'invalid-request');
});

// --- expiry -------------------------------------------------------------------------------------

test('an access token works until expires_in and is 401 invalid_token from then on', async () => {
  const { body } = await login(mock, 'basic');
  mock.clock.advance(body.expires_in - 1);
  expect(await whoIs(body.access_token)).toBe(basic.accountNumber);
  mock.clock.advance(1);
  expectInvalidToken(await mock.call('get', '/api/identity/customers/me').set(bearer(body.access_token)));
});

test('honours TOKEN_TTL: a 60-second mock issues and refreshes 60-second tokens', async () => {
  const short = testMock({ tokenTtlSeconds: 60 }, { hooks: false });
  const res = await short.call('post', TOKEN).auth(CLIENT.id, CLIENT.secret).type('form').send(passwordGrant);
  expectToken(res, 'customer', 60);
  const me = () => short.call('get', '/api/identity/customers/me').set(bearer(res.body.access_token));
  short.clock.advance(59);
  expect((await me()).status).toBe(200);
  short.clock.advance(1);
  expectInvalidToken(await me());
  const refreshed = await short
    .call('post', REFRESH)
    .auth(CLIENT.id, CLIENT.secret)
    .send({ refresh_token: res.body.refresh_token });
  expectToken(refreshed, 'customer', 60);
  expect(short.violations).toEqual([]);
});

test('tokens and passwords never reach the logs', async () => {
  const first = await login(mock, 'basic');
  await tokenRequest(REFRESH).send({ refresh_token: first.body.refresh_token });
  await mock.call('get', '/api/identity/customers/me').set(bearer(first.body.access_token));
  expectNotLogged(mock, [basic.password, first.body.access_token, first.body.refresh_token, CLIENT.secret]);
});

// --- password brute-force throttle ----------------------------------------------------------------

/** A password grant for `username` with `password` (the basic persona's by default). */
const passwordLogin = (username = basic.username, password = basic.password) =>
  tokenRequest().type('form').send({ grant_type: 'password', username, password });

/** `count` wrong passwords for `username`, each answered 400 invalid_grant. */
async function failLogins(username: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    expectOAuthProblem(await passwordLogin(username, `Wrong-Password-${i}`), 'invalid-grant');
  }
}

/** Asserts the throttle's 429: problem too-many-requests, Retry-After in seconds, no username or password. */
function expectThrottled(res: Response, retryAfter: number, secrets: string[] = []): void {
  const body = expectProblem(res, 'too-many-requests', { detail: /try again in \d+ seconds/ });
  expect(res.headers['retry-after']).toBe(String(retryAfter));
  expect(body.detail).toContain(`${retryAfter} seconds`);
  expect(body).not.toHaveProperty('error');
  expectNoLeak(res, secrets);
}

test('after 10 wrong passwords even the right one is 429 too-many-requests with Retry-After, and 15 minutes later 200', async () => {
  await failLogins(basic.username, 10);
  const throttled = await passwordLogin();
  expectThrottled(throttled, 900, [basic.username, basic.password, 'Wrong-Password-']);
  expectNotLogged(mock, [basic.username, basic.password, 'Wrong-Password-']);
  mock.clock.advance(899);
  expectThrottled(await passwordLogin(), 1);
  mock.clock.advance(1);
  expectToken(await passwordLogin(), 'customer');
});

test('9 wrong passwords do not throttle; the 10th does', async () => {
  await failLogins(basic.username, 9);
  expectToken(await passwordLogin(), 'customer');
  await failLogins(basic.username, 1);
  expectThrottled(await passwordLogin(), 900);
});

test('the window slides: Retry-After counts down to the oldest failure leaving it', async () => {
  for (let i = 0; i < 10; i++) {
    await failLogins(basic.username, 1);
    mock.clock.advance(60);
  }
  // Failures at 0, 60, ..., 540 s; now 600 s: the one at 0 s leaves the window at 900 s.
  expectThrottled(await passwordLogin(), 300);
  mock.clock.advance(300);
  expectToken(await passwordLogin(), 'customer');
  // Nine failures are still inside; one more throttles again until the one at 60 s leaves.
  await failLogins(basic.username, 1);
  expectThrottled(await passwordLogin(), 60);
});

test('a throttled attempt is not checked or counted, so the throttle lifts on time', async () => {
  await failLogins(basic.username, 10);
  for (let i = 0; i < 5; i++) {
    mock.clock.advance(60);
    expectThrottled(await passwordLogin(basic.username, 'Wrong-Password-x'), 900 - 60 * (i + 1));
  }
  mock.clock.advance(600);
  expectToken(await passwordLogin(), 'customer');
});

test('a successful login does not clear earlier wrong passwords', async () => {
  await failLogins(basic.username, 9);
  expectToken(await passwordLogin(), 'customer');
  await failLogins(basic.username, 1);
  expectThrottled(await passwordLogin(), 900);
});

test('the throttle counts per username, case-insensitively; another username is unaffected', async () => {
  const spellings = [basic.username, basic.username.toUpperCase(), 'Basic@Example.COM'];
  for (let i = 0; i < 10; i++) await failLogins(spellings[i % spellings.length]!, 1);
  expectThrottled(await passwordLogin(), 900);
  expectThrottled(await passwordLogin(basic.username.toUpperCase()), 900);
  const other = persona('in-debt');
  expectToken(await passwordLogin(other.username, other.password), 'customer');
});

test('an unknown username is throttled exactly like a known one (no account enumeration)', async () => {
  await failLogins('nobody@example.com', 10);
  await failLogins(basic.username, 10);
  const unknown = await passwordLogin('nobody@example.com', 'Whatever-Password-1');
  const known = await passwordLogin();
  expectThrottled(unknown, 900, ['nobody@example.com', 'Whatever-Password-1']);
  expectThrottled(known, 900);
  expect(withoutInstance(unknown.body)).toEqual(withoutInstance(known.body));
});

test('the throttle leaves the refresh_token grant alone', async () => {
  const first = await login(mock, 'basic');
  await failLogins(basic.username, 10);
  expectThrottled(await passwordLogin(), 900);
  const refreshed = await tokenRequest()
    .type('form')
    .send({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
  expectToken(refreshed, 'customer');
});

test('the throttle keeps at most 10 failures per username and a bounded number of usernames, and a reset clears it', async () => {
  const store = memoryOf(mock);
  for (let i = 0; i < 25; i++) await recordLoginFailure(mock.services, basic.username);
  expect(store.loginFailures.size).toBe(1);
  expect([...store.loginFailures.values()][0]).toHaveLength(LOGIN_FAILURE_LIMIT);
  // No personal data as keys: usernames are hashed.
  expect([...store.loginFailures.keys()].join()).not.toContain('example.com');
  mock.clock.advance(LOGIN_FAILURE_WINDOW_SECONDS);
  for (let i = 0; i < LOGIN_FAILURE_MAX_USERNAMES; i++)
    await recordLoginFailure(mock.services, `u${i}@example.com`);
  // The expired entry was swept first, then nothing else was needed.
  expect(store.loginFailures.size).toBe(LOGIN_FAILURE_MAX_USERNAMES);
  expect(await loginRetryAfterSeconds(mock.services, basic.username)).toBeUndefined();
  await recordLoginFailure(mock.services, 'one-more@example.com');
  expect(store.loginFailures.size).toBe(LOGIN_FAILURE_MAX_USERNAMES);
  // The least recently failed username was forgotten, the newest kept.
  for (let i = 0; i < 9; i++) await recordLoginFailure(mock.services, 'one-more@example.com');
  expect(await loginRetryAfterSeconds(mock.services, 'ONE-MORE@example.com')).toBe(
    LOGIN_FAILURE_WINDOW_SECONDS,
  );
  await mock.services.store.reset();
  expect(store.loginFailures.size).toBe(0);
});

test('covers every status the contract declares for TokenRequest and RefreshToken', () => {
  expect(unexercisedStatuses(mock, 'TokenRequest')).toEqual([]);
  expect(unexercisedStatuses(mock, 'RefreshToken')).toEqual([]);
});
