import { CLIENT, memoryOf, persona, testMock } from '../helpers/mock';
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

/** Register's body for the `unregistered` persona, as JSON text with `password` written raw. */
function registerText(passwordJson: string): string {
  const who = persona('unregistered');
  return (
    `{"accountNumber":"${who.accountNumber}","postcode":"${who.postcode}",` +
    `"email":"unicode.customer@example.com","mobilePhone":"+447700900123","password":${passwordJson}}`
  );
}

const REGISTER = '/api/identity/registration/Register';

/** Sends a Buffer's bytes as they are (superagent would write a Buffer as JSON). */
const raw = (body: unknown): string => body as string;

test('a password with a lone surrogate escape is refused (400 malformed-json), not stored as another password', async () => {
  const res = await mock
    .call('post', REGISTER)
    .set('Content-Type', 'application/json')
    .send(registerText('"Procode-Unregistered-2026\\ud800"'));
  expect(res.status).toBe(400);
  expect(res.body.type).toBe('https://procode.example/problems/malformed-json');
  expect(res.body.detail).toMatch(/unpaired surrogate/);
  expect(memoryOf(mock).registrations.size).toBe(0);
});

test('a surrogate pair written as escapes is a character like any other: Register accepts it', async () => {
  const res = await mock
    .call('post', REGISTER)
    .set('Content-Type', 'application/json')
    .send(registerText('"Procode-Unregistered-2026-\\ud83d\\ude00"'));
  expect(res.status).toBe(201);
});

test('a JSON body that is not valid UTF-8 is refused (400 malformed-json), not read with U+FFFD in place of its bytes', async () => {
  const text = registerText('"Procode-Unregistered-2026-XX"');
  const bytes = Buffer.from(text, 'utf8');
  const at = bytes.indexOf('-XX"');
  bytes[at + 1] = 0xff;
  bytes[at + 2] = 0xfe;
  const res = await mock
    .call('post', REGISTER)
    .set('Content-Type', 'application/json')
    .serialize(raw)
    .send(bytes);
  expect(res.status).toBe(400);
  expect(res.body.type).toBe('https://procode.example/problems/malformed-json');
  expect(res.body.detail).toMatch(/not valid UTF-8/);
  expect(memoryOf(mock).registrations.size).toBe(0);
});

test('a form that is not valid UTF-8 is 400 invalid_request; the same bytes declared ISO-8859-1 are read', async () => {
  const basic = persona('basic');
  const form = (password: Buffer): Buffer =>
    Buffer.concat([
      Buffer.from(`grant_type=password&username=${encodeURIComponent(basic.username)}&password=`),
      password,
    ]);
  const latin1 = Buffer.from('caf\u00e9', 'latin1');
  const asUtf8 = await mock
    .call('post', '/api/identity/auth/TokenRequest')
    .auth(CLIENT.id, CLIENT.secret)
    .set('Content-Type', 'application/x-www-form-urlencoded')
    .serialize(raw)
    .send(form(latin1));
  expect(asUtf8.status).toBe(400);
  expect(asUtf8.body.error).toBe('invalid_request');
  expect(asUtf8.body.detail).toMatch(/not valid UTF-8/);
  const declared = await mock
    .call('post', '/api/identity/auth/TokenRequest')
    .auth(CLIENT.id, CLIENT.secret)
    .set('Content-Type', 'application/x-www-form-urlencoded; charset=iso-8859-1')
    .serialize(raw)
    .send(form(latin1));
  // Read, and a wrong password for the persona: the grant is refused, not the encoding.
  expect(declared.status).toBe(400);
  expect(declared.body.error).toBe('invalid_grant');
});
