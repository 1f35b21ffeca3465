import { randomUUID } from 'node:crypto';
import type { CompiledOperation } from '../contract-kit';
import { mediaTypeOf } from '../contract-kit';
import type { Session } from './session';
import { basicAuthOf, writesAllowed } from './flow';
import personas from '../fixtures/personas.json';
import { walkPages } from './semantic-steps';

type Json = Record<string, unknown>;

/**
 * Stateful cases that reach the statuses a plain negative case cannot: 404 for ids that are not the
 * caller's, 409 for a balance of a device that is not a prepayment meter, 405 with Allow; and, where
 * writes are allowed, 202 (a pending payment), 402/409/410/422/429 and 413. Mock-only where they need the mock's test data
 * (the two-factor persona, the decline token).
 */
export async function scenarios(s: Session): Promise<void> {
  const { ctx } = s;
  const c = s.target.credentials;
  // Valid-looking ids that belong to nobody in the world (the contract's own examples).
  const foreign = {
    premiseId: '1000000001',
    servicePointId: '1200023305967',
    deviceId: '00-DB-12-34-56-78-90-A0',
    paymentId: '9b2e4c61-0f3a-4d7b-8e15-6a2c9d3f7b40',
  };
  const foreignPathParams = (op: CompiledOperation): Record<string, string> =>
    Object.fromEntries(
      op.spec.parameters
        .filter((p) => p.in === 'path')
        .map((p) => [p.name, foreign[p.name as keyof typeof foreign]]),
    );
  // 404 for ids that are not the caller's: every read operation with an id in its path, from the contract.
  for (const op of s.contract.operations.values()) {
    const pathParams = foreignPathParams(op);
    if (op.spec.method !== 'get' || Object.keys(pathParams).length === 0) continue;
    await s.check(
      `${op.spec.operationId}: an id that is not the caller's`,
      'scenario',
      op.spec.operationId,
      { pathParams },
      {
        statuses: [404],
      },
    );
  }
  if (ctx.premiseId) {
    await s.check(
      'GetServicePoint: a service point not under this premise',
      'scenario',
      'GetServicePoint',
      { pathParams: { premiseId: ctx.premiseId, servicePointId: foreign.servicePointId } },
      { statuses: [404] },
    );
  }
  await s.check(
    "ListPayments: a device that is not the caller's",
    'scenario',
    'ListPayments',
    { query: { deviceId: foreign.deviceId } },
    {
      statuses: [404],
    },
  );
  if (ctx.otherDeviceId) {
    await s.check(
      'GetBalance: a device that is not a prepayment meter',
      'scenario',
      'GetBalance',
      { pathParams: { deviceId: ctx.otherDeviceId } },
      { statuses: [409] },
    );
  }
  // 405 is the path's, not an operation's: checked by hand (problem+json and Allow).
  const res = await s.send('ListPremises', { method: 'DELETE' });
  const allow = res.headers.allow ?? '';
  s.record({
    name: 'DELETE on /api/energy/premises: 405 with Allow',
    suite: 'scenario',
    operationId: 'ListPremises',
    status: res.status,
    durationMs: 0,
    violations: [
      ...(res.status === 405
        ? []
        : [
            {
              operationId: 'ListPremises',
              status: res.status,
              pointer: 'status',
              expected: '405',
              actual: String(res.status),
            },
          ]),
      ...(/\bGET\b/.test(allow)
        ? []
        : [
            {
              operationId: 'ListPremises',
              status: res.status,
              pointer: 'header:Allow',
              expected: 'a list with GET',
              actual: allow || 'absent',
            },
          ]),
      ...(mediaTypeOf(res.headers['content-type']) === 'application/problem+json'
        ? []
        : [
            {
              operationId: 'ListPremises',
              status: res.status,
              pointer: 'content-type',
              expected: 'application/problem+json',
              actual: res.headers['content-type'] ?? 'none',
            },
          ]),
    ],
  });

  if (!s.target.isMock) return;
  // Mock-only: the mock's test data makes these outcomes reachable without side effects elsewhere.
  await s.check(
    'TokenRequest: wrong client secret',
    'scenario',
    'TokenRequest',
    {
      raw: new URLSearchParams({
        grant_type: 'password',
        username: c.username ?? 'x',
        password: 'wrong-password-1234',
      }).toString(),
      contentType: 'application/x-www-form-urlencoded',
      headers: { Authorization: basicAuthOf(c.clientId, 'wrong-secret') },
    },
    { statuses: [401], header: 'WWW-Authenticate' },
  );
  await s.check(
    'TokenRequest: wrong password',
    'scenario',
    'TokenRequest',
    {
      raw: new URLSearchParams({
        grant_type: 'password',
        username: c.username ?? 'x',
        password: 'wrong-password-1234',
      }).toString(),
      contentType: 'application/x-www-form-urlencoded',
      headers: { Authorization: basicAuthOf(c.clientId, c.clientSecret) },
    },
    { statuses: [400] },
  );
  await s.check(
    'TokenRequest: body over the size limit',
    'scenario',
    'TokenRequest',
    {
      json: { grant_type: 'password', username: 'x', password: 'y'.repeat(70 * 1024) },
      headers: { Authorization: basicAuthOf(c.clientId, c.clientSecret) },
    },
    { statuses: [413] },
  );
  const twoFactor = personas.personas.find((p) => p.id === 'two-factor')!;
  const login = await s.send('TokenRequest', {
    raw: new URLSearchParams({
      grant_type: 'password',
      username: twoFactor.username,
      password: twoFactor.password,
    }).toString(),
    contentType: 'application/x-www-form-urlencoded',
    headers: { Authorization: basicAuthOf(c.clientId, c.clientSecret) },
  });
  const otpToken = (login.body as Json | undefined)?.access_token as string | undefined;
  if (otpToken) {
    s.redactor.add(otpToken);
    // Every operation an otp-scope token may not call (all but SendOTP and VerifyOTP), from the contract.
    for (const op of s.contract.operations.values()) {
      const { operationId } = op.spec;
      if (!op.spec.requiresBearer || operationId === 'SendOTP' || operationId === 'VerifyOTP') continue;
      const pathParams = foreignPathParams(op);
      const body =
        operationId === 'MakePayment'
          ? {
              json: {
                deviceId: foreign.deviceId,
                amountPence: 500,
                method: 'CARD',
                paymentToken: personas.paymentTokens.approve,
              },
              headers: { 'Idempotency-Key': randomUUID() },
            }
          : {};
      await s.check(
        `${operationId}: an otp-scope token`,
        'scenario',
        operationId,
        { pathParams, ...body, bearer: otpToken },
        {
          statuses: [403],
        },
      );
    }
  }
  if (!writesAllowed(s) || s.target.stateless) return;
  const unknownOtp = '7a0f3b2c-9d4e-4f1a-8b6c-5e2d1a0f9c83';
  await s.check(
    'VerifyOTP: unknown challenge',
    'scenario',
    'VerifyOTP',
    { json: { otpId: unknownOtp, code: '123456' } },
    { statuses: [404] },
  );
  if (ctx.otpId) {
    await s.check(
      'VerifyOTP: a used challenge',
      'scenario',
      'VerifyOTP',
      { json: { otpId: ctx.otpId, code: '000000' } },
      { statuses: [410] },
    );
  }
  if (!s.fresh) {
    s.skip(
      'SendOTP: past the rate limit',
      'scenario',
      'SendOTP',
      "uses up the account's SendOTP window for everyone on this mock: needs --reset",
      [429],
    );
  } else
    for (let i = 0; i < 6; i++) {
      const r = await s.send('SendOTP', { json: { channel: 'email' } });
      if (r.status === 429 || i === 5) {
        await s.check(
          'SendOTP: past the rate limit',
          'scenario',
          'SendOTP',
          { json: { channel: 'email' } },
          { statuses: [429], header: 'Retry-After' },
        );
        break;
      }
    }
  const basic = personas.personas.find((p) => p.id === 'basic')!;
  await s.check(
    'Register: an account that already has online access',
    'scenario',
    'Register',
    {
      json: {
        accountNumber: basic.accountNumber,
        postcode: basic.postcode,
        email: 'someone-new@example.com',
        password: 'Harness-Password-2026',
        mobilePhone: '+447700900555',
      },
      bearer: null,
    },
    { statuses: [409] },
  );
  await s.check(
    'Register: details that match no account',
    'scenario',
    'Register',
    {
      json: {
        accountNumber: 'A-10000000',
        postcode: 'SW1A 1AA',
        email: 'someone-new@example.com',
        password: 'Harness-Password-2026',
        mobilePhone: '+447700900555',
      },
      bearer: null,
    },
    { statuses: [422] },
  );
  if (ctx.deviceId) {
    const key = randomUUID();
    const body = {
      deviceId: ctx.deviceId,
      amountPence: 300,
      method: 'CARD',
      paymentToken: personas.paymentTokens.decline,
    };
    await s.check(
      'MakePayment: a declining payment token',
      'scenario',
      'MakePayment',
      { json: body, headers: { 'Idempotency-Key': key } },
      { statuses: [402] },
    );
    await s.check(
      'MakePayment: a payment token whose payment is pending (202)',
      'scenario',
      'MakePayment',
      {
        json: { ...body, paymentToken: personas.paymentTokens.pending },
        headers: { 'Idempotency-Key': randomUUID() },
      },
      { statuses: [202], header: 'Location' },
    );
    await s.check(
      'MakePayment: the same Idempotency-Key with another body',
      'scenario',
      'MakePayment',
      { json: { ...body, amountPence: 301 }, headers: { 'Idempotency-Key': key } },
      { statuses: [422] },
    );
    await s.check(
      'MakePayment: an unknown payment token',
      'scenario',
      'MakePayment',
      {
        json: { ...body, paymentToken: 'tok_not_a_test_token' },
        headers: { 'Idempotency-Key': randomUUID() },
      },
      { statuses: [422] },
    );
    await s.check(
      'MakePayment: unknown device',
      'scenario',
      'MakePayment',
      { json: { ...body, deviceId: foreign.deviceId }, headers: { 'Idempotency-Key': randomUUID() } },
      { statuses: [404] },
    );
    if (ctx.otherDeviceId) {
      await s.check(
        'MakePayment: a device that is not a prepayment meter',
        'scenario',
        'MakePayment',
        { json: { ...body, deviceId: ctx.otherDeviceId }, headers: { 'Idempotency-Key': randomUUID() } },
        { statuses: [409] },
      );
    }
    // The device now has the flow's payment, a declined and a pending one: newest first, page by page.
    const payments = await s.check(
      "ListPayments: the scenario's payments, newest first",
      'scenario',
      'ListPayments',
      { query: { deviceId: ctx.deviceId } },
      { statuses: [200] },
    );
    if (payments.status === 200)
      await walkPages(s, 'ListPayments', { query: { deviceId: ctx.deviceId } }, 2, payments, 'scenario');
  }
  for (const op of ['SendOTP', 'VerifyOTP', 'Register', 'MakePayment', 'RefreshToken']) {
    await s.check(
      `${op}: body over the size limit`,
      'scenario',
      op,
      {
        json: { padding: 'x'.repeat(70 * 1024) },
        headers:
          op === 'MakePayment'
            ? { 'Idempotency-Key': randomUUID() }
            : op === 'RefreshToken'
              ? { Authorization: basicAuthOf(c.clientId, c.clientSecret) }
              : {},
        bearer: op === 'Register' || op === 'RefreshToken' ? null : undefined,
      },
      { statuses: [413] },
    );
  }
}
