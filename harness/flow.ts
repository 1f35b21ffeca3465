import { randomUUID } from 'node:crypto';
import type { Session } from './session';
import type { HttpResponse } from './types';
import personas from '../fixtures/personas.json';
import { afterPayment, refreshFindings, walkPages } from './semantic-steps';

type Json = Record<string, unknown>;
const asJson = (res: HttpResponse): Json =>
  res.body && typeof res.body === 'object' ? (res.body as Json) : {};
const items = (res: HttpResponse): Json[] =>
  Array.isArray(asJson(res).items) ? (asJson(res).items as Json[]) : [];

/** Reads a one-time code: from the mock's dev outbox, or from a person at a terminal. */
async function readOtp(s: Session, otpId: string, destination: string): Promise<string | undefined> {
  if (s.target.isMock) {
    const res = await s.admin('GET', `/__admin/outbox?otpId=${encodeURIComponent(otpId)}`);
    const messages = Array.isArray(res.body) ? (res.body as Json[]) : [];
    const code = messages.find((m) => m.otpId === otpId)?.code;
    if (typeof code === 'string') {
      s.redactor.add(code);
      return code;
    }
  }
  if (s.target.promptOtp) {
    const code = (await s.target.promptOtp(destination)).trim();
    s.redactor.add(code);
    return code;
  }
  return undefined;
}

/** The target refused the run's own credentials: a setting to fix, not contract drift. */
export class CredentialsRefused extends Error {
  override readonly name = 'CredentialsRefused';
}

/** The writes a run may make: everything on a mock or with --allow-writes. */
export function writesAllowed(s: Session): boolean {
  return s.target.canWrite;
}

/**
 * The positive flow (api.md "Typical flow"): log in, two-step authentication when the token asks for
 * it, customer, premises and features, service points, devices and balance, a payment, refresh, and
 * registration; ids come from earlier responses. Writes are skipped unless the target allows them.
 */
export async function positiveFlow(s: Session): Promise<void> {
  const c = s.target.credentials;
  const basicAuth = basicAuthOf(c.clientId, c.clientSecret);
  if (c.username && c.password) {
    const res = await s.check(
      'TokenRequest: password grant (form, HTTP Basic client)',
      'flow',
      'TokenRequest',
      {
        raw: new URLSearchParams({
          grant_type: 'password',
          username: c.username,
          password: c.password,
        }).toString(),
        contentType: 'application/x-www-form-urlencoded',
        headers: { Authorization: basicAuth },
      },
      { statuses: [200], header: 'Cache-Control' },
      (r) =>
        /no-store/.test(r.headers['cache-control'] ?? '')
          ? []
          : [
              {
                operationId: 'TokenRequest',
                status: r.status,
                pointer: 'header:Cache-Control',
                expected: 'no-store',
                actual: r.headers['cache-control'] ?? 'absent',
              },
            ],
    );
    const token = asJson(res);
    const refused =
      (res.status === 400 && token.error === 'invalid_grant') ||
      (res.status === 401 && (token.error === 'invalid_client' || 'statusCode' in token));
    if (refused) {
      const which =
        res.status === 400
          ? 'PROCODE_USERNAME/PROCODE_PASSWORD'
          : token.error === 'invalid_client'
            ? 'PROCODE_CLIENT_ID/PROCODE_CLIENT_SECRET'
            : 'PROCODE_SUBSCRIPTION_KEY';
      throw new CredentialsRefused(
        `the target refused the credentials (check ${which}); nothing else was checked`,
      );
    }
    s.memory.username = c.username;
    s.ctx.accessToken = token.access_token as string | undefined;
    s.ctx.refreshToken = token.refresh_token as string | undefined;
    s.ctx.scope = token.scope as string | undefined;
  } else {
    s.skip('TokenRequest: password grant', 'flow', 'TokenRequest', 'no PROCODE_USERNAME/PROCODE_PASSWORD');
  }
  if (c.accessToken && (!s.ctx.accessToken || s.ctx.scope === 'otp')) {
    s.ctx.accessToken = c.accessToken;
    s.ctx.scope = 'customer';
  }
  if (!s.ctx.accessToken) return;

  // Two-step authentication: SendOTP sends a real SMS, so it is a write.
  if (writesAllowed(s)) {
    const sent = await s.check(
      'SendOTP: a code by SMS',
      'flow',
      'SendOTP',
      { json: { channel: 'sms' } },
      // A mock kept as it was may have had this account's SendOTP window used up by earlier runs.
      { statuses: s.fresh ? [202] : [202, 429] },
    );
    const challenge = asJson(sent);
    const otpId = challenge.otpId as string | undefined;
    const code = otpId ? await readOtp(s, otpId, String(challenge.destination ?? '')) : undefined;
    if (sent.status === 429) {
      s.skip(
        'VerifyOTP: the right code',
        'flow',
        'VerifyOTP',
        `the account's SendOTP window is used up (Retry-After ${sent.headers['retry-after'] ?? '?'} s): --reset for a clean state`,
      );
    } else if (otpId && code) {
      const verified = await s.check(
        'VerifyOTP: the right code',
        'flow',
        'VerifyOTP',
        { json: { otpId, code } },
        { statuses: [200] },
        (r) =>
          r.status === 200 && asJson(r).scope === 'otp'
            ? [
                {
                  operationId: 'VerifyOTP',
                  status: 200,
                  pointer: '#/scope',
                  expected: 'a full-scope token',
                  actual: '"otp"',
                },
              ]
            : [],
      );
      s.ctx.otpId = otpId;
      const token = asJson(verified);
      if (typeof token.access_token === 'string') {
        s.ctx.accessToken = token.access_token;
        s.ctx.scope = token.scope as string;
        if (typeof token.refresh_token === 'string') s.ctx.refreshToken = token.refresh_token;
      }
    } else {
      s.skip(
        'VerifyOTP: the right code',
        'flow',
        'VerifyOTP',
        s.target.isMock
          ? 'the outbox had no code for this challenge'
          : 'no code: not a mock and no terminal to ask',
      );
    }
  } else {
    s.skip('SendOTP: a code by SMS', 'flow', 'SendOTP', 'a write (sends an SMS): needs --allow-writes');
    s.skip('VerifyOTP: the right code', 'flow', 'VerifyOTP', 'needs SendOTP');
  }
  if (s.ctx.scope === 'otp') {
    s.skip(
      'the rest of the flow',
      'flow',
      'GetCustomer',
      'the token has scope otp: set PROCODE_ACCESS_TOKEN or allow writes for SendOTP',
    );
    return;
  }

  const me = asJson(await s.check('GetCustomer: me', 'flow', 'GetCustomer', {}, { statuses: [200] }));
  s.ctx.customerId = me.customerId as string | undefined;
  s.ctx.accountNumber = me.accountNumber as string | undefined;
  const premises = await s.check(
    'ListPremises',
    'flow',
    'ListPremises',
    { query: { limit: '100' } },
    { statuses: [200] },
  );
  await walkPages(s, 'ListPremises', {}, 1, premises);
  for (const premise of items(premises)) {
    const premiseId = String(premise.premiseId);
    s.ctx.premiseId ??= premiseId;
    const sps = await s.check(
      'ListServicePoints',
      'flow',
      'ListServicePoints',
      { pathParams: { premiseId } },
      { statuses: [200] },
    );
    if (!s.ctx.premiseId || s.ctx.premiseId === premiseId)
      await walkPages(s, 'ListServicePoints', { pathParams: { premiseId } }, 1, sps);
    for (const sp of items(sps)) {
      const servicePointId = String(sp.servicePointId);
      const devices = await s.check(
        'ListDevices',
        'flow',
        'ListDevices',
        { pathParams: { servicePointId } },
        { statuses: [200] },
      );
      if (!s.ctx.walkedDevices) {
        s.ctx.walkedDevices = true;
        await walkPages(s, 'ListDevices', { pathParams: { servicePointId } }, 1, devices);
      }
      for (const d of items(devices)) {
        if (d.paymentMode === 'PREPAYMENT' && !s.ctx.deviceId) {
          s.ctx.deviceId = String(d.deviceId);
          s.ctx.servicePointId = servicePointId;
          s.ctx.premiseId = premiseId;
        } else if (d.paymentMode !== 'PREPAYMENT') {
          s.ctx.otherDeviceId ??= String(d.deviceId);
        }
      }
    }
    if (s.ctx.deviceId) break;
  }
  const { premiseId, servicePointId, deviceId } = s.ctx;
  if (premiseId) {
    await s.check('GetPremise', 'flow', 'GetPremise', { pathParams: { premiseId } }, { statuses: [200] });
    await s.check(
      'GetPremiseFeatures',
      'flow',
      'GetPremiseFeatures',
      { pathParams: { premiseId } },
      { statuses: [200] },
    );
  }
  if (premiseId && servicePointId) {
    await s.check(
      'GetServicePoint',
      'flow',
      'GetServicePoint',
      { pathParams: { premiseId, servicePointId } },
      { statuses: [200] },
    );
  }
  let balance: HttpResponse | undefined;
  if (deviceId) {
    await s.check('GetDevice', 'flow', 'GetDevice', { pathParams: { deviceId } }, { statuses: [200] });
    balance = await s.check(
      'GetBalance',
      'flow',
      'GetBalance',
      { pathParams: { deviceId } },
      { statuses: [200] },
    );
  } else {
    s.skip('GetBalance', 'flow', 'GetBalance', 'the account has no prepayment meter');
  }
  const approve =
    process.env.PROCODE_PAYMENT_TOKEN ?? (s.target.isMock ? personas.paymentTokens.approve : undefined);
  if (deviceId && writesAllowed(s) && approve) {
    const body = { deviceId, amountPence: 500, method: 'CARD', paymentToken: approve };
    const idempotencyKey = randomUUID();
    const paid = await s.check(
      'MakePayment: a top-up of 500 pence',
      'flow',
      'MakePayment',
      { json: body, headers: { 'Idempotency-Key': idempotencyKey } },
      { statuses: [201], header: 'Location' },
    );
    s.ctx.paymentId = asJson(paid).paymentId as string | undefined;
    if (paid.status === 201) await afterPayment(s, paid, { body, idempotencyKey }, balance);
  } else {
    s.skip(
      'MakePayment',
      'flow',
      'MakePayment',
      writesAllowed(s)
        ? 'no prepayment meter or payment token (PROCODE_PAYMENT_TOKEN)'
        : 'a write: needs --allow-writes',
    );
  }
  const payments = await s.check(
    'ListPayments',
    'flow',
    'ListPayments',
    deviceId ? { query: { deviceId } } : {},
    { statuses: [200] },
  );
  s.ctx.paymentId ??= items(payments)[0]?.paymentId as string | undefined;
  if (payments.status === 200)
    await walkPages(s, 'ListPayments', deviceId ? { query: { deviceId } } : {}, 2, payments);
  if (s.ctx.paymentId) {
    await s.check(
      'GetPayment',
      'flow',
      'GetPayment',
      { pathParams: { paymentId: s.ctx.paymentId } },
      { statuses: [200] },
    );
  } else {
    s.skip('GetPayment', 'flow', 'GetPayment', 'no payment to read');
  }
  if (s.ctx.refreshToken) {
    const before = s.ctx.accessToken;
    const refreshed = await s.check(
      'RefreshToken: a new access token',
      'flow',
      'RefreshToken',
      {
        raw: new URLSearchParams({ refresh_token: s.ctx.refreshToken }).toString(),
        contentType: 'application/x-www-form-urlencoded',
        headers: { Authorization: basicAuth },
      },
      { statuses: [200], header: 'Cache-Control' },
      (r) => refreshFindings(r, before),
    );
    if (typeof asJson(refreshed).access_token === 'string')
      s.ctx.accessToken = asJson(refreshed).access_token as string;
    // With rotation (RFC 9700 section 4.14.2) the old refresh token is spent: keep the new one.
    if (typeof asJson(refreshed).refresh_token === 'string')
      s.ctx.refreshToken = asJson(refreshed).refresh_token as string;
  } else {
    s.skip('RefreshToken', 'flow', 'RefreshToken', 'no refresh token (a pre-obtained access token was used)');
  }
  const unregistered = personas.personas.find((p) => p.id === 'unregistered');
  if (s.target.isMock && !s.target.stateless && unregistered) {
    await s.check(
      'Register: the unregistered persona',
      'flow',
      'Register',
      {
        json: {
          accountNumber: unregistered.accountNumber,
          postcode: unregistered.postcode,
          email: `harness-${randomUUID().slice(0, 8)}@example.com`,
          password: 'Harness-Password-2026',
          mobilePhone: '+447700900555',
        },
        bearer: null,
      },
      { statuses: [201, 409] },
    );
  } else {
    s.skip('Register', 'flow', 'Register', 'a write that needs a real unregistered supply account');
  }
}

/** HTTP Basic client credentials (RFC 6749 section 2.3.1: form-encoded, then base64). */
export function basicAuthOf(clientId: string, clientSecret: string): string {
  return (
    'Basic ' +
    Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')
  );
}
