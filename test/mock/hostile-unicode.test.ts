import { testMock } from '../helpers/mock';
import { pointer, wellFormed } from '../../contract-kit';

/**
 * Issue 11, item 1: a member name or value that is a lone UTF-16 surrogate (`"\ud800"`, valid JSON,
 * RFC 8259 section 8.2, but with no UTF-8 form) used to make the `errors[]` pointer throw: 500 and a
 * stack trace in the log. Every body operation now answers it as the 4xx its other checks give.
 */
const mock = testMock();

/** Raw JSON text, so the escapes reach the server as the client wrote them. */
const BODIES = [
  '{"\\ud800":0}',
  '{"\\udfff\\ud800":"\\ud800"}',
  '{"a\\ud800b":{"\\udc00":1}}',
  '{"\\ud83d":"\\ude00"}',
];

describe.each([
  ['post', '/api/identity/registration/Register', false],
  ['post', '/api/identity/authorisation/SendOTP', true],
  ['post', '/api/identity/authorisation/VerifyOTP', true],
  ['post', '/api/energy/payments', true],
  ['post', '/api/identity/auth/TokenRequest', false],
])('%s %s', (method, path, bearer) => {
  test.each(BODIES)('body %s is a 4xx problem, never a 500', async (body) => {
    let req = mock.call(method as 'post', path).set('Content-Type', 'application/json');
    if (bearer) req = req.set('Authorization', `Bearer ${await mock.token('basic')}`);
    if (path.endsWith('/payments')) req = req.set('Idempotency-Key', 'harness-unicode-1');
    const res = await req.send(body);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    for (const e of (res.body.errors ?? []) as { pointer: string }[])
      expect(() => decodeURIComponent(e.pointer)).not.toThrow();
  });
});

test('a pointer token with a lone surrogate is percent-encoded as U+FFFD; pairs are kept', () => {
  expect(pointer(['\ud800'])).toBe('#/%EF%BF%BD');
  expect(pointer(['a\udc00b', 'x'])).toBe('#/a%EF%BF%BDb/x');
  expect(pointer(['\ud83d\ude00'])).toBe('#/%F0%9F%98%80');
  expect(wellFormed('ok')).toBe('ok');
});
