import type { TestMock } from './mock';
import { KEY, testMock } from './mock';
import { hugeJson, login, otpToken, rows, send } from './operations';
import {
  GATEWAY_INVALID_KEY,
  GATEWAY_MISSING_KEY,
  expectGatewayError,
  expectInvalidToken,
  expectMissingToken,
  expectOtpRequired,
  expectProblem,
} from './problems';

let otherSeed: TestMock | undefined;
/** A mock of another seed: its tokens are signed with another key. */
function otherSeedMock(): TestMock {
  otherSeed ??= testMock({ seed: 7 }, { hooks: false });
  return otherSeed;
}

/** Flips one character in the middle of a JWT's payload, keeping it well-formed base64url. */
export function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const i = Math.floor(payload.length / 2);
  const flipped = payload[i] === 'A' ? 'B' : 'A';
  return [header, payload.slice(0, i) + flipped + payload.slice(i + 1), signature].join('.');
}

/**
 * Declares, for each of these operations, the tests of the statuses every operation of its kind shares:
 * the gateway's 401 (no key, unknown key), 406, and for bearer operations 401 (no token, Basic, expired,
 * another seed's, tampered) and 403 otp-required where declared; for body operations 413, 415 and
 * malformed JSON. The operation-specific statuses are in the operation's own test file.
 */
export function commonErrorTests(mock: TestMock, operationIds: string[]): void {
  const all = rows(...operationIds);
  const bearerOps = all.filter(([, op]) => op.bearer);
  const otpForbidden = all.filter(([, op]) => op.otpForbidden);
  const bodyOps = all.filter(([, op]) => op.body !== undefined);
  const tokenFor = async (op: { bearer: boolean }): Promise<string | undefined> =>
    op.bearer ? mock.token('basic') : undefined;

  test.each(all)('%s rejects a request without a subscription key with the gateway 401', async (_id, op) => {
    const res = await send(mock, op, { key: false, token: await tokenFor(op) });
    expectGatewayError(res, GATEWAY_MISSING_KEY);
  });

  test.each(all)('%s rejects an unknown subscription key with the gateway 401', async (_id, op) => {
    const res = await send(mock, op, {
      key: false,
      headers: { ...op.headers, 'Ocp-Apim-Subscription-Key': `${KEY.slice(0, -1)}0` },
      token: await tokenFor(op),
    });
    expectGatewayError(res, GATEWAY_INVALID_KEY);
  });

  test.each(all)('%s answers Accept: text/html with 406 not-acceptable', async (_id, op) => {
    const res = await send(mock, op, {
      headers: { ...op.headers, Accept: 'text/html' },
      token: await tokenFor(op),
    });
    expectProblem(res, 'not-acceptable', { detail: /Accept/ });
  });

  test.each(all)(
    '%s answers each declared error status when asked with Prefer: code= (RFC 7240) and says so in Preference-Applied',
    async (_id, op) => {
      const token = await tokenFor(op);
      const statuses = [...mock.contract.get(op.operationId).spec.responses.keys()].filter((s) => s >= 400);
      for (const status of statuses) {
        const res = await send(mock, op, {
          headers: { ...op.headers, Prefer: `code=${status}` },
          token,
        });
        expect({ status, got: res.status }).toEqual({ status, got: status });
        expect(res.headers['preference-applied']).toBe(`code=${status}`);
        if (/problem\+json/.test(res.headers['content-type'] ?? '')) expect(res.body.status).toBe(status);
        else expect(res.body.statusCode).toBe(status);
        if (status === 429 || status === 503) expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
        if (status === 401) expect(res.headers['www-authenticate']).toBeDefined();
      }
    },
  );

  if (bearerOps.length > 0) {
    test.each(bearerOps)(
      '%s rejects a request without an access token with 401 and WWW-Authenticate: Bearer realm="procode"',
      async (_id, op) => {
        expectMissingToken(await send(mock, op));
      },
    );

    test.each(bearerOps)(
      '%s rejects Authorization: Basic with 401 unauthorized and no error code',
      async (_id, op) => {
        const res = await send(mock, op, {
          headers: { ...op.headers, Authorization: 'Basic YmFzaWNAZXhhbXBsZS5jb206c2VjcmV0' },
        });
        expectMissingToken(res);
      },
    );

    test.each(bearerOps)('%s rejects an expired token with 401 invalid_token', async (_id, op) => {
      const { body } = await login(mock, 'basic');
      mock.clock.advance(body.expires_in);
      expectInvalidToken(await send(mock, op, { token: body.access_token }));
    });

    test.each(bearerOps)(
      '%s rejects a token signed by a mock of another seed with 401 invalid_token',
      async (_id, op) => {
        const foreign = await otherSeedMock().token('basic');
        expectInvalidToken(await send(mock, op, { token: foreign }));
      },
    );

    test.each(bearerOps)('%s rejects a tampered token with 401 invalid_token', async (_id, op) => {
      const token = await mock.token('basic');
      expectInvalidToken(await send(mock, op, { token: tamper(token) }));
    });
  }

  if (otpForbidden.length > 0) {
    test.each(otpForbidden)('%s refuses an otp-scope token with 403 otp-required', async (_id, op) => {
      expectOtpRequired(await send(mock, op, { token: await otpToken(mock) }));
    });
  }

  if (bodyOps.length > 0) {
    test.each(bodyOps)('%s rejects a text/plain body with 415 unsupported-media-type', async (_id, op) => {
      const res = await send(mock, op, {
        headers: { ...op.headers, 'Content-Type': 'text/plain' },
        body: JSON.stringify(op.body),
        token: await tokenFor(op),
      });
      expectProblem(res, 'unsupported-media-type', { detail: /application\/json/ });
    });

    test.each(bodyOps)('%s rejects a body over 64 KiB with 413 payload-too-large', async (_id, op) => {
      const res = await send(mock, op, {
        headers: { ...op.headers, 'Content-Type': 'application/json' },
        body: hugeJson(64 * 1024 + 1),
        token: await tokenFor(op),
      });
      expectProblem(res, 'payload-too-large', { detail: /smaller|limit|large/i });
    });

    test.each(bodyOps)('%s rejects malformed JSON with 400 malformed-json', async (_id, op) => {
      const res = await send(mock, op, {
        headers: { ...op.headers, 'Content-Type': 'application/json' },
        body: '{"channel": sms',
        token: await tokenFor(op),
      });
      expectProblem(res, 'malformed-json', { detail: /JSON/ });
    });
  }
}
