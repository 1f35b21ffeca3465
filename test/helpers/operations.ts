import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Response, Test } from 'supertest';
import { CLIENT, KEY, persona, personas } from './mock';
import type { PersonaId, TestMock } from './mock';

/** Well-formed ids that belong to nobody (the contract's examples). */
export const SAMPLE = {
  premiseId: '4821093756',
  servicePointId: '1200023305967',
  deviceId: '00-DB-12-34-56-78-90-A0',
  paymentId: '9b2e4c61-0f3a-4d7b-8e15-6a2c9d3f7b40',
} as const;

export const APPROVE = personas.paymentTokens.approve;
export const DECLINE = personas.paymentTokens.decline;

/** One operation of the contract, as a request that is well-formed up to its ids. */
export interface OperationCase {
  operationId: string;
  method: 'get' | 'post';
  path: string;
  /** Needs `Authorization: Bearer`. */
  bearer: boolean;
  /** Declares 403 (an `otp`-scope token is refused). */
  otpForbidden: boolean;
  /** A body of the right shape, for operations that take one. */
  body?: Record<string, unknown>;
  /** Extra headers (Basic client authentication, Idempotency-Key). */
  headers?: Record<string, string>;
}

const basicAuth = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;

/** Every operation of the contract. */
export const OPERATIONS: Record<string, OperationCase> = {
  TokenRequest: {
    operationId: 'TokenRequest',
    method: 'post',
    path: '/api/identity/auth/TokenRequest',
    bearer: false,
    otpForbidden: false,
    body: {
      grant_type: 'password',
      username: persona('basic').username,
      password: persona('basic').password,
    },
    headers: { Authorization: basicAuth },
  },
  RefreshToken: {
    operationId: 'RefreshToken',
    method: 'post',
    path: '/api/identity/auth/RefreshToken',
    bearer: false,
    otpForbidden: false,
    body: { refresh_token: 'not-a-known-refresh-token' },
    headers: { Authorization: basicAuth },
  },
  SendOTP: {
    operationId: 'SendOTP',
    method: 'post',
    path: '/api/identity/authorisation/SendOTP',
    bearer: true,
    otpForbidden: false,
    body: { channel: 'sms' },
  },
  VerifyOTP: {
    operationId: 'VerifyOTP',
    method: 'post',
    path: '/api/identity/authorisation/VerifyOTP',
    bearer: true,
    otpForbidden: false,
    body: { otpId: SAMPLE.paymentId, code: '123456' },
  },
  Register: {
    operationId: 'Register',
    method: 'post',
    path: '/api/identity/registration/Register',
    bearer: false,
    otpForbidden: false,
    body: {
      accountNumber: persona('unregistered').accountNumber,
      postcode: persona('unregistered').postcode,
      email: 'new.customer@example.com',
      password: 'correct-horse-battery-staple',
      mobilePhone: '+447700900123',
    },
  },
  GetCustomer: {
    operationId: 'GetCustomer',
    method: 'get',
    path: '/api/identity/customers/me',
    bearer: true,
    otpForbidden: true,
  },
  ListPremises: {
    operationId: 'ListPremises',
    method: 'get',
    path: '/api/energy/premises',
    bearer: true,
    otpForbidden: true,
  },
  GetPremise: {
    operationId: 'GetPremise',
    method: 'get',
    path: `/api/energy/premises/${SAMPLE.premiseId}`,
    bearer: true,
    otpForbidden: true,
  },
  GetPremiseFeatures: {
    operationId: 'GetPremiseFeatures',
    method: 'get',
    path: `/api/energy/premises/${SAMPLE.premiseId}/features`,
    bearer: true,
    otpForbidden: true,
  },
  ListServicePoints: {
    operationId: 'ListServicePoints',
    method: 'get',
    path: `/api/energy/premises/${SAMPLE.premiseId}/servicepoints`,
    bearer: true,
    otpForbidden: true,
  },
  GetServicePoint: {
    operationId: 'GetServicePoint',
    method: 'get',
    path: `/api/energy/premises/${SAMPLE.premiseId}/servicepoints/${SAMPLE.servicePointId}`,
    bearer: true,
    otpForbidden: true,
  },
  ListDevices: {
    operationId: 'ListDevices',
    method: 'get',
    path: `/api/energy/servicepoints/${SAMPLE.servicePointId}/devices`,
    bearer: true,
    otpForbidden: true,
  },
  GetDevice: {
    operationId: 'GetDevice',
    method: 'get',
    path: `/api/energy/devices/${SAMPLE.deviceId}`,
    bearer: true,
    otpForbidden: true,
  },
  GetBalance: {
    operationId: 'GetBalance',
    method: 'get',
    path: `/api/energy/devices/${SAMPLE.deviceId}/balance`,
    bearer: true,
    otpForbidden: true,
  },
  MakePayment: {
    operationId: 'MakePayment',
    method: 'post',
    path: '/api/energy/payments',
    bearer: true,
    otpForbidden: true,
    body: { deviceId: SAMPLE.deviceId, amountPence: 1000, method: 'CARD', paymentToken: APPROVE },
    headers: { 'Idempotency-Key': '7d1e5f3a-9c2b-4a6d-8e0f-1b3c5d7e9f21' },
  },
  GetPayment: {
    operationId: 'GetPayment',
    method: 'get',
    path: `/api/energy/payments/${SAMPLE.paymentId}`,
    bearer: true,
    otpForbidden: true,
  },
  ListPayments: {
    operationId: 'ListPayments',
    method: 'get',
    path: '/api/energy/payments',
    bearer: true,
    otpForbidden: true,
  },
};

/** The operations with these ids, as `[operationId, case]` rows for `test.each`. */
export function rows(...ids: string[]): [string, OperationCase][] {
  return ids.map((id) => {
    const op = OPERATIONS[id];
    if (!op) throw new Error(`no operation ${id}`);
    return [id, op];
  });
}

/** Options of `send`. */
export interface SendOptions {
  /** Bearer token to send. */
  token?: string;
  /** Send the subscription key (default true). */
  key?: boolean;
  /** Replaces the case's headers. */
  headers?: Record<string, string>;
  /** Replaces the case's body (a string is sent as is). */
  body?: unknown;
}

/** Sends an operation case. */
export function send(mock: TestMock, op: OperationCase, options: SendOptions = {}): Test {
  let req = request(mock.app)[op.method](op.path);
  if (options.key !== false) req = req.set('Ocp-Apim-Subscription-Key', KEY);
  for (const [name, value] of Object.entries(options.headers ?? op.headers ?? {})) req = req.set(name, value);
  if (options.token !== undefined) req = req.set('Authorization', `Bearer ${options.token}`);
  const body = options.body ?? op.body;
  if (body !== undefined) req = req.send(body as object);
  return req;
}

/** `Authorization` header value for a bearer token. */
export function bearer(token: string): { Authorization: string } {
  return { Authorization: `Bearer ${token}` };
}

/** A fresh Idempotency-Key. */
export function newKey(): string {
  return randomUUID();
}

/** Logs a persona in with the password grant and returns the token response (no OTP step). */
export async function login(mock: TestMock, id: PersonaId): Promise<Response> {
  const p = persona(id);
  const res = await mock
    .call('post', '/api/identity/auth/TokenRequest')
    .auth(CLIENT.id, CLIENT.secret)
    .type('form')
    .send({ grant_type: 'password', username: p.username, password: p.password });
  if (res.status !== 200) throw new Error(`login of ${id} failed: ${res.status} ${res.text}`);
  return res;
}

/** An `otp`-scope access token of the two-factor persona (before two-step authentication). */
export async function otpToken(mock: TestMock): Promise<string> {
  const res = await login(mock, 'two-factor');
  expect(res.body.scope).toBe('otp');
  return res.body.access_token as string;
}

/** A one-time code challenge and its code (read from the dev outbox, never from a response). */
export async function challenge(
  mock: TestMock,
  token: string,
  channel: 'sms' | 'email' = 'sms',
): Promise<{ otpId: string; code: string; response: Response }> {
  const response = await mock
    .call('post', '/api/identity/authorisation/SendOTP')
    .set(bearer(token))
    .send({ channel });
  if (response.status !== 202) throw new Error(`SendOTP failed: ${response.status} ${response.text}`);
  const outbox = await request(mock.app).get('/__admin/outbox').query({ otpId: response.body.otpId });
  return { otpId: response.body.otpId, code: outbox.body[0].code, response };
}

/** A 6-digit code that is not `code`. */
export function wrongCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0');
}

export interface Premise {
  premiseId: string;
  [k: string]: unknown;
}
export interface ServicePoint {
  servicePointId: string;
  premiseId: string;
  fuelType: 'ELECTRICITY' | 'GAS';
  [k: string]: unknown;
}
export interface Device {
  deviceId: string;
  servicePointId: string;
  deviceType: 'ESME' | 'GSME' | 'CHF' | 'IHD' | 'PPMID';
  paymentMode?: 'CREDIT' | 'PREPAYMENT';
  [k: string]: unknown;
}

/** What a customer can see of their supply, discovered through the API (never hard-coded ids). */
export interface Estate {
  token: string;
  premises: Premise[];
  servicePoints: ServicePoint[];
  devices: Device[];
  /** The first device of this type, or throws. */
  device(type: Device['deviceType']): Device;
  /** The first service point of this fuel, or throws. */
  servicePoint(fuel: ServicePoint['fuelType']): ServicePoint;
}

/** Walks ListPremises -> ListServicePoints -> ListDevices for a persona (full-scope token). */
export async function discover(mock: TestMock, id: PersonaId): Promise<Estate> {
  const token = await mock.token(id);
  const auth = bearer(token);
  const get = async (path: string): Promise<{ items: unknown[] }> => {
    const res = await mock.call('get', path).query({ limit: 100 }).set(auth);
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
    return res.body;
  };
  const premises = (await get('/api/energy/premises')).items as Premise[];
  const servicePoints: ServicePoint[] = [];
  const devices: Device[] = [];
  for (const p of premises) {
    const sps = (await get(`/api/energy/premises/${p.premiseId}/servicepoints`)).items as ServicePoint[];
    servicePoints.push(...sps);
    for (const sp of sps) {
      devices.push(
        ...((await get(`/api/energy/servicepoints/${sp.servicePointId}/devices`)).items as Device[]),
      );
    }
  }
  return {
    token,
    premises,
    servicePoints,
    devices,
    device(type) {
      const d = devices.find((x) => x.deviceType === type);
      if (!d) throw new Error(`${id} has no ${type}`);
      return d;
    },
    servicePoint(fuel) {
      const sp = servicePoints.find((x) => x.fuelType === fuel);
      if (!sp) throw new Error(`${id} has no ${fuel} service point`);
      return sp;
    },
  };
}

/** A body of `bytes` bytes that is valid JSON (an object with one long string). */
export function hugeJson(bytes: number): string {
  const overhead = '{"padding":""}'.length;
  return `{"padding":"${'x'.repeat(bytes - overhead)}"}`;
}
