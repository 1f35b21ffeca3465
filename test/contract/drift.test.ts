/**
 * Proof that the contract harness catches drift (issue: "at least 12 kinds ... The harness must fail on
 * every one and name the operation and pointer"). Each row mounts a fresh in-process mock behind a
 * middleware that rewrites the replies of ONE operation with ONE departure from the contract, runs the
 * whole harness against it, and requires a violation that names that operation and that place.
 */
import { runContract, violationsOf } from '../../harness/runner';
import type { RunOptions } from '../../harness/runner';
import type { Drift, Reply } from './helpers/drift';
import { driftedApp, targetOf } from './helpers/drift';

type Json = Record<string, unknown>;
const json = (reply: Reply): Json => reply.body as Json;

/** The same digit string with its last (check) digit changed, so the check digit no longer holds. */
const breakCheckDigit = (digits: string): string =>
  digits.slice(0, -1) + String((Number(digits.slice(-1)) + 1) % 10);

const DEVICE = /^\/api\/energy\/devices\/[^/]+$/;
const BALANCE = /^\/api\/energy\/devices\/[^/]+\/balance$/;
const PREMISE = /^\/api\/energy\/premises\/[^/]+$/;
const SERVICE_POINT = /^\/api\/energy\/premises\/[^/]+\/servicepoints\/[^/]+$/;
const PAYMENTS = /^\/api\/energy\/payments$/;
const ME = /^\/api\/identity\/customers\/me$/;

interface Row {
  kind: string;
  operationId: string;
  drift: Drift;
  /** The violation must point at one of these places. */
  pointers: string[];
  /** Only these suites (cheap extras); the kinds run the whole harness. */
  suites?: RunOptions['suites'];
}

const rows: Row[] = [
  {
    kind: 'renamed field (creditBalancePence -> creditBalance)',
    operationId: 'GetBalance',
    drift: {
      method: 'GET',
      path: BALANCE,
      status: 200,
      apply: (r) => {
        const { creditBalancePence, ...rest } = json(r);
        r.body = { ...rest, creditBalance: creditBalancePence };
      },
    },
    pointers: ['#/creditBalancePence', '#/creditBalance'],
  },
  {
    kind: 'changed type (amountPence as a string)',
    operationId: 'MakePayment',
    drift: {
      method: 'POST',
      path: PAYMENTS,
      status: 201,
      apply: (r) => void (json(r).amountPence = String(json(r).amountPence)),
    },
    pointers: ['#/amountPence'],
  },
  {
    kind: 'dropped required field (uprn)',
    operationId: 'GetPremise',
    drift: { method: 'GET', path: PREMISE, status: 200, apply: (r) => void delete json(r).uprn },
    pointers: ['#/uprn'],
  },
  {
    kind: 'extra field (middleName)',
    operationId: 'GetCustomer',
    drift: { method: 'GET', path: ME, status: 200, apply: (r) => void (json(r).middleName = 'Jane') },
    pointers: ['#/middleName'],
  },
  {
    kind: 'wrong status (200 -> 202)',
    operationId: 'GetCustomer',
    drift: { method: 'GET', path: ME, status: 200, apply: (r) => void (r.status = 202) },
    pointers: ['status'],
  },
  {
    kind: 'wrong content type on an error (404 problem as application/json)',
    operationId: 'GetDevice',
    drift: {
      method: 'GET',
      path: DEVICE,
      status: 404,
      apply: (r) => void r.res.setHeader('Content-Type', 'application/json; charset=utf-8'),
    },
    pointers: ['content-type'],
  },
  {
    kind: 'missing WWW-Authenticate on a 401',
    operationId: 'GetCustomer',
    drift: { method: 'GET', path: ME, status: 401, apply: (r) => r.res.removeHeader('WWW-Authenticate') },
    pointers: ['header:WWW-Authenticate'],
  },
  {
    kind: 'token response without Cache-Control: no-store',
    operationId: 'TokenRequest',
    drift: {
      method: 'POST',
      path: /^\/api\/identity\/auth\/TokenRequest$/,
      status: 200,
      apply: (r) => void r.res.setHeader('Cache-Control', 'private'),
    },
    pointers: ['header:Cache-Control'],
  },
  {
    kind: 'wrong enum value (deviceType TOASTER)',
    operationId: 'GetDevice',
    drift: { method: 'GET', path: DEVICE, status: 200, apply: (r) => void (json(r).deviceType = 'TOASTER') },
    pointers: ['#/deviceType'],
  },
  {
    kind: 'date-time without an offset (createdAt)',
    operationId: 'GetCustomer',
    drift: {
      method: 'GET',
      path: ME,
      status: 200,
      apply: (r) => void (json(r).createdAt = '2026-11-29T08:00:00'),
    },
    pointers: ['#/createdAt'],
  },
  {
    kind: 'MPAN core with a bad check digit',
    operationId: 'GetServicePoint',
    drift: {
      method: 'GET',
      path: SERVICE_POINT,
      status: 200,
      apply: (r) => {
        const sp = json(r);
        if (sp.fuelType === 'ELECTRICITY') sp.servicePointId = breakCheckDigit(String(sp.servicePointId));
      },
    },
    pointers: ['#/servicePointId'],
  },
  {
    kind: 'pagination field missing (total)',
    operationId: 'ListPremises',
    drift: {
      method: 'GET',
      path: /^\/api\/energy\/premises$/,
      status: 200,
      apply: (r) => void delete json(r).total,
    },
    pointers: ['#/total'],
  },
  {
    kind: 'UTRN with a bad check digit',
    operationId: 'MakePayment',
    drift: {
      method: 'POST',
      path: PAYMENTS,
      status: 201,
      apply: (r) => {
        const p = json(r);
        if (typeof p.utrn === 'string') p.utrn = breakCheckDigit(p.utrn);
      },
    },
    pointers: ['#/utrn'],
  },
  {
    kind: 'Retry-After missing on a 429',
    operationId: 'SendOTP',
    drift: {
      method: 'POST',
      path: /^\/api\/identity\/authorisation\/SendOTP$/,
      status: 429,
      apply: (r) => r.res.removeHeader('Retry-After'),
    },
    pointers: ['header:Retry-After'],
  },
  {
    kind: 'problem without instance',
    operationId: 'GetPremise',
    drift: { method: 'GET', path: PREMISE, status: 404, apply: (r) => void delete json(r).instance },
    pointers: ['#/instance'],
  },
  // Cheap extras beyond the list: only the suites that reach the drifted reply run.
  {
    kind: 'null for an optional field (paymentMode: null)',
    operationId: 'GetDevice',
    drift: { method: 'GET', path: DEVICE, status: 200, apply: (r) => void (json(r).paymentMode = null) },
    pointers: ['#/paymentMode'],
    suites: ['flow'],
  },
  {
    kind: "403 instead of 404 for another customer's premise",
    operationId: 'GetPremise',
    drift: { method: 'GET', path: PREMISE, status: 404, apply: (r) => void (r.status = 403) },
    pointers: ['status'],
    suites: ['flow', 'scenario'],
  },
  {
    kind: 'Location missing on a 201',
    operationId: 'MakePayment',
    drift: { method: 'POST', path: PAYMENTS, status: 201, apply: (r) => r.res.removeHeader('Location') },
    pointers: ['header:Location'],
    suites: ['flow'],
  },
  {
    kind: 'success with an undeclared content type (text/plain)',
    operationId: 'GetCustomer',
    drift: {
      method: 'GET',
      path: ME,
      status: 200,
      apply: (r) => void r.res.setHeader('Content-Type', 'text/plain; charset=utf-8'),
    },
    pointers: ['content-type'],
    suites: ['flow'],
  },
  {
    kind: 'nested integer out of range (debt.recoveryRatePercent 150)',
    operationId: 'GetBalance',
    drift: {
      method: 'GET',
      path: BALANCE,
      status: 200,
      apply: (r) => void ((json(r).debt as Json).recoveryRatePercent = 150),
    },
    pointers: ['#/debt/recoveryRatePercent'],
    suites: ['flow'],
  },
  {
    // Not the deviceId: the flow takes ids from lists, so a broken id would (rightly) fail later calls too.
    kind: 'list item breaks its pattern (serialNumber "sn-0001")',
    operationId: 'ListDevices',
    drift: {
      method: 'GET',
      path: /^\/api\/energy\/servicepoints\/[^/]+\/devices$/,
      status: 200,
      apply: (r) => {
        const first = (json(r).items as Json[])[0];
        if (first) first.serialNumber = 'sn-0001';
      },
    },
    pointers: ['#/items/0/serialNumber'],
    suites: ['flow'],
  },
  {
    kind: 'X-Request-ID not echoed',
    operationId: 'ListPayments',
    drift: {
      method: 'GET',
      path: PAYMENTS,
      status: 200,
      apply: (r) => r.res.setHeader('X-Request-ID', 'another-id'),
    },
    pointers: ['header:X-Request-ID'],
    suites: ['flow'],
  },
  {
    kind: 'problem status member differs from the HTTP status',
    operationId: 'GetPremise',
    drift: { method: 'GET', path: PREMISE, status: 404, apply: (r) => void (json(r).status = 400) },
    pointers: ['#/status'],
    suites: ['flow', 'scenario'],
  },
  {
    kind: 'problem instance names another request',
    operationId: 'GetPremise',
    drift: {
      method: 'GET',
      path: PREMISE,
      status: 404,
      apply: (r) => void (json(r).instance = 'urn:procode:request:someone-else'),
    },
    pointers: ['#/instance'],
    suites: ['flow', 'scenario'],
  },
  {
    kind: 'WWW-Authenticate with the wrong scheme for a missing bearer token',
    operationId: 'GetCustomer',
    drift: {
      method: 'GET',
      path: ME,
      status: 401,
      apply: (r) => r.res.setHeader('WWW-Authenticate', 'Basic realm="x"'),
    },
    pointers: ['header:WWW-Authenticate'],
    suites: ['flow', 'negative'],
  },
  {
    kind: 'a timestamp without milliseconds',
    operationId: 'GetCustomer',
    drift: {
      method: 'GET',
      path: ME,
      status: 200,
      apply: (r) => void (json(r).createdAt = String(json(r).createdAt).replace(/\.\d{3}Z$/, 'Z')),
    },
    pointers: ['#/createdAt'],
    suites: ['flow'],
  },
  {
    kind: 'X-Request-ID missing',
    operationId: 'ListPayments',
    drift: { method: 'GET', path: PAYMENTS, status: 200, apply: (r) => r.res.removeHeader('X-Request-ID') },
    pointers: ['header:X-Request-ID'],
    suites: ['flow'],
  },
  {
    kind: 'const broken (token_type "bearer")',
    operationId: 'RefreshToken',
    drift: {
      method: 'POST',
      path: /^\/api\/identity\/auth\/RefreshToken$/,
      status: 200,
      apply: (r) => void (json(r).token_type = 'bearer'),
    },
    pointers: ['#/token_type'],
    suites: ['flow'],
  },
  {
    kind: 'problem type not an absolute URI',
    operationId: 'GetPayment',
    drift: {
      method: 'GET',
      path: /^\/api\/energy\/payments\/[^/]+$/,
      status: 404,
      apply: (r) => void (json(r).type = 'not-found'),
    },
    pointers: ['#/type'],
    suites: ['flow', 'scenario'],
  },
  {
    kind: 'JSON declared in another charset (RFC 8259 section 8.1: JSON is UTF-8)',
    operationId: 'GetCustomer',
    drift: {
      method: 'GET',
      path: ME,
      status: 200,
      apply: (r) => void r.res.setHeader('Content-Type', 'application/json; charset=iso-8859-1'),
    },
    pointers: ['content-type'],
    suites: ['flow'],
  },
  // Statuses reached only by asking the mock for them (Prefer: code=, RFC 7240).
  {
    kind: 'Preference-Applied missing on a forced 503',
    operationId: 'GetPremise',
    drift: {
      method: 'GET',
      path: PREMISE,
      status: 503,
      apply: (r) => r.res.removeHeader('Preference-Applied'),
    },
    pointers: ['header:Preference-Applied'],
    suites: ['flow', 'prefer'],
  },
  {
    kind: 'Retry-After missing on a forced 503',
    operationId: 'GetBalance',
    drift: { method: 'GET', path: BALANCE, status: 503, apply: (r) => r.res.removeHeader('Retry-After') },
    pointers: ['header:Retry-After'],
    suites: ['flow', 'prefer'],
  },
  {
    kind: "the gateway's 403 quota JSON as application/problem+json",
    operationId: 'TokenRequest',
    drift: {
      method: 'POST',
      path: /^\/api\/identity\/auth\/TokenRequest$/,
      status: 403,
      apply: (r) => void r.res.setHeader('Content-Type', 'application/problem+json; charset=utf-8'),
    },
    pointers: ['content-type', '#'],
    suites: ['flow', 'prefer'],
  },
];

test('control: the undrifted mock gives zero violations', async () => {
  const result = await runContract(targetOf('undrifted', driftedApp()));
  expect(violationsOf(result)).toEqual([]);
  expect(result.cases.filter((c) => c.skipped)).toEqual([]);
});

test.each([
  ['GetCustomer', ME, 200, 'Application/JSON;charset=UTF-8'],
  ['GetPremise', PREMISE, 404, 'application/problem+json;Charset="utf-8"'],
  ['GetDevice', DEVICE, 200, 'application/json'],
] as const)(
  'not drift: %s %s answering %s as %s (media types read as RFC 9110 section 8.3.1 says)',
  async (_operationId, path, status, contentType) => {
    const drift = {
      method: 'GET',
      path,
      status,
      apply: (r: Reply) => void r.res.setHeader('Content-Type', contentType),
    };
    const result = await runContract(targetOf('java-style content type', driftedApp(drift)), {
      suites: ['flow', 'scenario'],
    });
    expect(violationsOf(result)).toEqual([]);
  },
);

test.each(rows)(
  '$kind: caught at $operationId $pointers',
  async ({ kind, operationId, drift, pointers, suites }) => {
    const result = await runContract(targetOf(`drift: ${kind}`, driftedApp(drift)), { suites });
    const found = violationsOf(result);
    expect(found.length).toBeGreaterThan(0);
    // Only the drifted operation is blamed by the schema checks (a semantic rule may also see the
    // drifted value where another answer repeats it, e.g. a detail that no longer matches its list)...
    expect([...new Set(found.filter((v) => !v.rule).map((v) => v.operationId))]).toEqual([operationId]);
    // ...at the drifted place.
    const place = new RegExp(
      `^(${pointers.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`,
    );
    expect(found).toContainEqual(
      expect.objectContaining({ operationId, pointer: expect.stringMatching(place) }),
    );
  },
);
