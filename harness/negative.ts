import type { ParameterSpec } from '../contract-kit';
import type { RequestSpec, Session } from './session';
import { basicAuthOf, writesAllowed } from './flow';
import { bodyMutations, valueMutations } from './mutations';
import type { Schema } from '../contract-kit';
import personas from '../fixtures/personas.json';

/** Operations whose requests change something (or send an SMS): negative cases only where writes are allowed. */
export const WRITE_OPERATIONS: ReadonlySet<string> = new Set(['Register', 'MakePayment', 'SendOTP']);

type Json = Record<string, unknown>;

/** A valid request for an operation, from the flow's ids and the contract's examples. */
export function validRequest(s: Session, operationId: string): RequestSpec | undefined {
  const op = s.op(operationId);
  const { ctx } = s;
  const c = s.target.credentials;
  const pathParams: Record<string, string> = {};
  const known: Record<string, string | undefined> = {
    premiseId: ctx.premiseId,
    servicePointId: ctx.servicePointId,
    deviceId: ctx.deviceId,
    paymentId: ctx.paymentId,
  };
  for (const p of op.spec.parameters.filter((x) => x.in === 'path')) {
    const value = known[p.name];
    if (value === undefined) return undefined;
    pathParams[p.name] = value;
  }
  const headers: Record<string, string> = {};
  if (op.spec.parameters.some((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key')) {
    headers['Idempotency-Key'] = '6f1c2a9e-3b7d-4e8a-9c5f-0d2e4b6a8c10';
  }
  if (!op.spec.requestBody) return { pathParams, headers };
  const bodies: Record<string, Json | undefined> = {
    TokenRequest:
      c.username && c.password
        ? { grant_type: 'password', username: c.username, password: c.password }
        : undefined,
    RefreshToken: ctx.refreshToken
      ? { refresh_token: ctx.refreshToken }
      : { refresh_token: 'not-a-known-refresh-token' },
    SendOTP: { channel: 'sms' },
    VerifyOTP: { otpId: '7a0f3b2c-9d4e-4f1a-8b6c-5e2d1a0f9c83', code: '123456' },
    Register: {
      accountNumber: 'A-10000000',
      postcode: 'SW1A 1AA',
      email: 'harness@example.com',
      password: 'Harness-Password-2026',
      mobilePhone: '+447700900555',
    },
    MakePayment: ctx.deviceId
      ? {
          deviceId: ctx.deviceId,
          amountPence: 500,
          method: 'CARD',
          paymentToken: personas.paymentTokens.approve,
        }
      : undefined,
  };
  const json = bodies[operationId];
  if (!json) return undefined;
  if (operationId === 'TokenRequest' || operationId === 'RefreshToken') {
    headers.Authorization = basicAuthOf(c.clientId, c.clientSecret);
  }
  return { pathParams, headers, json };
}

function jsonSchemaOf(s: Session, operationId: string): Schema | undefined {
  return s.op(operationId).spec.requestBody?.content.get('application/json')?.schema;
}

/**
 * Negative cases generated from the contract for every operation the run may touch: security (missing
 * subscription key; missing, malformed and expired bearer), every body mutation of `bodyMutations`,
 * every parameter bound, wrong content type, malformed JSON, and an Accept that excludes JSON. Each must
 * get a documented 4xx problem whose `errors[]` points at the field where one is named.
 */
export async function negativeCases(s: Session): Promise<void> {
  const expired = await expiredToken(s);
  for (const op of s.contract.operations.values()) {
    const { operationId } = op.spec;
    if (WRITE_OPERATIONS.has(operationId) && !writesAllowed(s)) {
      s.skip(
        `${operationId}: negative cases`,
        'negative',
        operationId,
        'a write operation: needs --allow-writes',
      );
      continue;
    }
    const valid = validRequest(s, operationId);
    if (!valid) {
      s.skip(
        `${operationId}: negative cases`,
        'negative',
        operationId,
        'no valid request to start from (the flow found no ids)',
      );
      continue;
    }
    const count = (): number => s.negativeCases++;

    // Security.
    count();
    await s.check(
      `${operationId}: no subscription key`,
      'security',
      operationId,
      { ...valid, key: false },
      { statuses: [401], header: 'WWW-Authenticate' },
    );
    if (op.spec.requiresBearer) {
      count();
      await s.check(
        `${operationId}: no bearer token`,
        'security',
        operationId,
        { ...valid, bearer: null },
        { statuses: [401], header: 'WWW-Authenticate' },
      );
      count();
      await s.check(
        `${operationId}: malformed bearer token`,
        'security',
        operationId,
        { ...valid, bearer: 'not.a.token' },
        { statuses: [401], header: 'WWW-Authenticate' },
      );
      if (expired) {
        count();
        await s.check(
          `${operationId}: expired bearer token`,
          'security',
          operationId,
          { ...valid, bearer: expired },
          { statuses: [401], header: 'WWW-Authenticate' },
        );
      } else {
        s.skip(
          `${operationId}: expired bearer token`,
          'security',
          operationId,
          'needs PROCODE_EXPIRED_ACCESS_TOKEN (an expired token of this environment)',
          [401],
        );
      }
    }

    // Accept that excludes JSON.
    count();
    await s.check(
      `${operationId}: Accept text/html`,
      'negative',
      operationId,
      { ...valid, headers: { ...valid.headers, Accept: 'text/html' } },
      { statuses: [406] },
    );

    // Parameters: every bound of every declared path/query/header parameter.
    for (const p of op.spec.parameters) {
      for (const m of parameterMutations(p)) {
        count();
        const spec = m.apply(valid);
        await s.check(`${operationId}: ${p.in} ${p.name} ${m.label}`, 'negative', operationId, spec, {
          anyDeclared4xx: true,
          pointer: {
            in: p.in as 'path' | 'query' | 'header',
            pointer: `#/${p.in === 'header' ? p.name.toLowerCase() : p.name}`,
          },
        });
      }
    }

    // Body.
    const schema = jsonSchemaOf(s, operationId);
    if (schema && valid.json && typeof valid.json === 'object') {
      for (const m of bodyMutations(s.contract.contract, schema, valid.json as Json)) {
        count();
        await s.check(
          `${operationId}: body ${m.label}`,
          'negative',
          operationId,
          { ...valid, json: m.apply(valid.json as Json) },
          {
            anyDeclared4xx: true,
            pointer: { in: 'body', pointer: m.pointer },
          },
        );
      }
      count();
      await s.check(
        `${operationId}: Content-Type text/plain`,
        'negative',
        operationId,
        { ...valid, json: undefined, raw: JSON.stringify(valid.json), contentType: 'text/plain' },
        { statuses: [415] },
      );
      count();
      await s.check(
        `${operationId}: malformed JSON`,
        'negative',
        operationId,
        { ...valid, json: undefined, raw: '{"truncated": ', contentType: 'application/json' },
        { statuses: [400] },
      );
    }
  }
}

/** Mutations of one parameter, as request builders. */
function parameterMutations(
  p: ParameterSpec,
): { label: string; apply: (valid: RequestSpec) => RequestSpec }[] {
  const out: { label: string; apply: (valid: RequestSpec) => RequestSpec }[] = [];
  const set =
    (value: string | undefined) =>
    (valid: RequestSpec): RequestSpec => {
      if (p.in === 'path') return { ...valid, pathParams: { ...valid.pathParams, [p.name]: value ?? '' } };
      if (p.in === 'query') {
        const query = { ...(valid.query ?? {}) };
        if (value === undefined) delete query[p.name];
        else query[p.name] = value;
        return { ...valid, query };
      }
      const headers = Object.fromEntries(
        Object.entries(valid.headers ?? {}).filter(([k]) => k.toLowerCase() !== p.name.toLowerCase()),
      );
      if (value !== undefined) headers[p.name] = value;
      return { ...valid, headers };
    };
  if (p.in === 'header' && p.required) out.push({ label: 'missing (required)', apply: set(undefined) });
  const numeric = p.schema.type === 'integer' || p.schema.type === 'number';
  if (numeric) out.push({ label: 'not a number', apply: set('abc') });
  for (const m of valueMutations(p.schema, [p.name])) {
    // Parameters travel as text: a "wrong type" value would read as valid text, so it is left out.
    if (/wrong type/.test(m.label)) continue;
    const value = m.apply({})[p.name];
    if (value === undefined || typeof value === 'object' || (p.in === 'path' && String(value) === ''))
      continue;
    out.push({ label: m.label.replace(/^#\/\S+ /, ''), apply: set(String(value)) });
  }
  return out;
}

/**
 * An access token that has expired: PROCODE_EXPIRED_ACCESS_TOKEN, or, from our own mock, one its dev
 * endpoint `GET /__admin/tokens/expired` issues for the caller's account.
 */
async function expiredToken(s: Session): Promise<string | undefined> {
  if (s.target.credentials.expiredAccessToken) return s.target.credentials.expiredAccessToken;
  if (!s.target.isMock || s.target.stateless || !s.ctx.accountNumber) return undefined;
  const res = await s.admin(
    'GET',
    `/__admin/tokens/expired?accountNumber=${encodeURIComponent(s.ctx.accountNumber)}`,
  );
  const token = (res.body as { access_token?: unknown } | undefined)?.access_token;
  if (res.status !== 200 || typeof token !== 'string') return undefined;
  s.redactor.add(token);
  return token;
}
