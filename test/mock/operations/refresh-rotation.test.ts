import type { Response } from 'supertest';
import { CLIENT, memoryOf, testMock } from '../../helpers/mock';
import { bearer, login } from '../../helpers/operations';
import { expectNotLogged, expectOAuthProblem } from '../../helpers/problems';
import { REFRESH_RETIRED_PER_FAMILY } from '../../../mock/store';

// RFC 9700 section 4.14.2: refresh token rotation with reuse detection (the `--refresh-rotation` setting).
const mock = testMock({ refreshRotation: true });

const TOKEN = '/api/identity/auth/TokenRequest';
const REFRESH = '/api/identity/auth/RefreshToken';

/** RefreshToken, or TokenRequest with grant_type=refresh_token. */
const refresh = (refreshToken: string, via: 'RefreshToken' | 'TokenRequest' = 'RefreshToken') =>
  via === 'RefreshToken'
    ? mock.call('post', REFRESH).auth(CLIENT.id, CLIENT.secret).send({ refresh_token: refreshToken })
    : mock
        .call('post', TOKEN)
        .auth(CLIENT.id, CLIENT.secret)
        .type('form')
        .send({ grant_type: 'refresh_token', refresh_token: refreshToken });

function expectRefreshed(res: Response): string {
  expect(`${res.status} ${res.text}`).toMatch(/^200 /);
  expect(res.body).toMatchObject({ token_type: 'Bearer', scope: 'customer' });
  expect(res.headers['cache-control']).toBe('no-store');
  return res.body.refresh_token as string;
}

async function works(accessToken: string): Promise<boolean> {
  return (await mock.call('get', '/api/identity/customers/me').set(bearer(accessToken))).status === 200;
}

test.each(['RefreshToken', 'TokenRequest'] as const)(
  'with rotation on, each %s returns a new refresh token and a working access token',
  async (via) => {
    const first = await login(mock, 'basic');
    const seen = new Set<string>([first.body.refresh_token]);
    let current: string = first.body.refresh_token;
    for (let i = 0; i < 3; i++) {
      const res = await refresh(current, via);
      const next = expectRefreshed(res);
      expect(seen.has(next)).toBe(false);
      seen.add(next);
      expect(await works(res.body.access_token)).toBe(true);
      current = next;
    }
  },
);

test.each(['RefreshToken', 'TokenRequest'] as const)(
  'with rotation on, a rotated refresh token presented to %s is invalid_grant and revokes the newest one too',
  async (via) => {
    const first = await login(mock, 'basic');
    const rt0: string = first.body.refresh_token;
    const rt1 = expectRefreshed(await refresh(rt0));
    const rt2 = expectRefreshed(await refresh(rt1));
    const reused = await refresh(rt0, via);
    expectOAuthProblem(reused, 'invalid-grant', { detail: /already used/ });
    expect(reused.body.error).toBe('invalid_grant');
    // The whole family is revoked: the newest token, and the retired ones.
    for (const token of [rt2, rt1, rt0]) expectOAuthProblem(await refresh(token), 'invalid-grant');
  },
);

test('reuse revokes only that login\u2019s family, not another login of the same customer', async () => {
  const a = await login(mock, 'basic');
  const b = await login(mock, 'basic');
  const a1 = expectRefreshed(await refresh(a.body.refresh_token));
  expectOAuthProblem(await refresh(a.body.refresh_token), 'invalid-grant');
  expectOAuthProblem(await refresh(a1), 'invalid-grant');
  expectRefreshed(await refresh(b.body.refresh_token));
});

test('rotated refresh tokens keep the family\u2019s 30-day lifetime from login', async () => {
  const first = await login(mock, 'basic');
  mock.clock.advance(29 * 24 * 3600);
  const rt1 = expectRefreshed(await refresh(first.body.refresh_token));
  mock.clock.advance(24 * 3600 - 1);
  const rt2 = expectRefreshed(await refresh(rt1));
  mock.clock.advance(1);
  expectOAuthProblem(await refresh(rt2), 'invalid-grant', { detail: /expired/ });
});

test('a family remembers a bounded number of retired tokens', async () => {
  const first = await login(mock, 'basic');
  let current: string = first.body.refresh_token;
  for (let i = 0; i < REFRESH_RETIRED_PER_FAMILY + 5; i++) current = expectRefreshed(await refresh(current));
  const store = memoryOf(mock);
  expect(store.refreshFamilies.size).toBe(1);
  expect([...store.refreshFamilies.values()][0]!.tokens).toHaveLength(REFRESH_RETIRED_PER_FAMILY + 1);
  expect(store.refreshTokens.size).toBe(REFRESH_RETIRED_PER_FAMILY + 1);
  // The oldest, forgotten token is merely unknown: the family lives on.
  expectOAuthProblem(await refresh(first.body.refresh_token), 'invalid-grant', { detail: /unknown/ });
  expectRefreshed(await refresh(current));
});

test('rotated refresh tokens never reach the logs', async () => {
  const first = await login(mock, 'basic');
  const rt1 = expectRefreshed(await refresh(first.body.refresh_token));
  await refresh(first.body.refresh_token);
  expectNotLogged(mock, [first.body.refresh_token, rt1]);
});

test('with rotation off (the default) the same refresh token keeps working', async () => {
  const plain = testMock({}, { hooks: false });
  const first = await login(plain, 'basic');
  for (let i = 0; i < 3; i++) {
    const res = await plain
      .call('post', REFRESH)
      .auth(CLIENT.id, CLIENT.secret)
      .send({ refresh_token: first.body.refresh_token });
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).toBe(first.body.refresh_token);
  }
  expect(plain.violations).toEqual([]);
});
