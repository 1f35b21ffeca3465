/**
 * An independent referee (issue): the positive flow runs through `prism proxy <contract> <the mock>
 * --errors`, so Prism's validator, not ours, must agree that the mock conforms; and the stateless checks
 * run against `prism mock` of the contract, so the contract's own examples are known to be consistent.
 * Everything listens on loopback only; every child is stopped in afterAll.
 */
import { coverageRatio, runContract, violationsOf } from '../../harness/runner';
import type { Target } from '../../harness/types';
import { startServer } from '../helpers/server';
import type { RunningServer } from '../helpers/server';
import { credentials, driftedApp } from './helpers/drift';
import { listen, recording, startPrism } from './helpers/prism';
import type { Running } from './helpers/prism';

jest.setTimeout(60_000);

let mock: RunningServer | undefined;
let proxy: Running | undefined;
let prismMock: Running | undefined;
let canaryUpstream: { base: string; stop(): Promise<void> } | undefined;
let canary: Running | undefined;

beforeAll(async () => {
  // Starting the drifted upstream first lets all three Prism instances start at once (~1 s each).
  [mock, canaryUpstream] = await Promise.all([
    startServer(),
    listen(
      driftedApp({
        method: 'GET',
        path: /^\/api\/identity\/customers\/me$/,
        status: 200,
        apply: (r) => void ((r.body as Record<string, unknown>).middleName = 'Jane'),
      }),
    ),
  ]);
  [proxy, prismMock, canary] = await Promise.all([
    startPrism('proxy', [mock.base, '--errors']),
    startPrism('mock', []),
    startPrism('proxy', [canaryUpstream.base, '--errors']),
  ]);
});

afterAll(async () => {
  await Promise.all([proxy?.stop(), prismMock?.stop(), canary?.stop(), canaryUpstream?.stop(), mock?.stop()]);
});

/**
 * The one-time code comes from the mock's dev outbox, read from the mock itself: `/__admin/outbox` is
 * not in the contract, so Prism proxy answers it 404 NO_PATH_MATCHED_ERROR. The harness falls back to
 * `promptOtp` (it is only handed the masked destination), and the harness is the mock's only client, so
 * the newest message is this run's.
 */
function outboxOf(mockBase: string): Target['promptOtp'] {
  return async () => {
    const messages = (await (await fetch(`${mockBase}/__admin/outbox`)).json()) as { code: string }[];
    const last = messages[messages.length - 1];
    if (!last) throw new Error('the mock outbox is empty');
    return last.code;
  };
}

test('prism proxy --errors: the positive flow through Prism has zero violations, by Prism and by us', async () => {
  const target: Target = {
    name: 'prism-proxy',
    baseUrl: proxy!.base,
    isMock: true,
    canWrite: true,
    stateless: false,
    credentials,
    rate: 0,

    promptOtp: outboxOf(mock!.base),
  };
  const { result, seen } = await recording(proxy!.base, () => runContract(target, { suites: ['flow'] }));
  expect(violationsOf(result)).toEqual([]);
  // Nothing skipped: the whole flow (VerifyOTP included) went through Prism.
  expect(result.cases.filter((c) => c.skipped)).toEqual([]);
  const operations = new Set(result.cases.map((c) => c.operationId));
  expect(operations.size).toBe(17);
  // Prism's own verdict on the wire: no 500 VIOLATIONS, no sl-violations header on any operation call.
  const calls = seen.filter((s) => !s.url.startsWith('/__admin/'));
  expect(calls.length + seen.filter((s) => s.url.startsWith('/__admin/')).length).toBe(result.requests);
  expect(calls.filter((s) => s.slViolations !== undefined || s.status >= 500)).toEqual([]);
  expect(calls.filter((s) => /#VIOLATIONS$/.test(s.problemType ?? ''))).toEqual([]);
  // The only things Prism refused are the harness's calls to the mock's admin (its clock and fault
  // rules read before the run, the dev outbox; a URL target is not reset unless asked), which the
  // contract does not have.
  const admin = seen.filter((s) => s.url.startsWith('/__admin/'));
  expect(admin.map((s) => s.url.split('?')[0]).sort()).toEqual([
    '/__admin/clock',
    '/__admin/faults',
    '/__admin/outbox',
  ]);
  for (const call of admin) {
    expect(call).toEqual(
      expect.objectContaining({
        status: 404,
        problemType: 'https://stoplight.io/prism/errors#NO_PATH_MATCHED_ERROR',
      }),
    );
  }
});

test('prism proxy --errors is awake: a drifted upstream gets 500 VIOLATIONS naming the drift', async () => {
  const target: Target = {
    name: 'prism-proxy-canary',
    baseUrl: canary!.base,
    isMock: true,
    canWrite: false,
    stateless: false,
    credentials,
    rate: 0,
  };
  const { result, seen } = await recording(canary!.base, () => runContract(target, { suites: ['flow'] }));
  const me = seen.find((s) => s.url === '/api/identity/customers/me');
  expect(me).toMatchObject({ status: 500, problemType: 'https://stoplight.io/prism/errors#VIOLATIONS' });
  expect(me?.slViolations).toContain("found 'middleName'");
  expect(violationsOf(result)).toContainEqual(
    expect.objectContaining({ operationId: 'GetCustomer', status: 500, pointer: 'status' }),
  );
});

test('prism mock: the stateless checks pass, so the contract examples agree with its schemas', async () => {
  const target: Target = {
    name: 'prism-mock',
    baseUrl: prismMock!.base,
    isMock: true,
    canWrite: true,
    stateless: true,
    credentials,
    rate: 0,
  };
  const { result, seen } = await recording(prismMock!.base, () =>
    runContract(target, { suites: ['stateless'] }),
  );
  expect(violationsOf(result)).toEqual([]);
  expect(result.cases.filter((c) => c.skipped)).toEqual([]);
  expect(result.cases).toHaveLength(34);
  // The requests built from the contract's own examples are valid requests to Prism too...
  expect(seen).toHaveLength(result.cases.length);
  const answered = result.cases.map((c, i) => ({ name: c.name, ...seen[i]! }));
  expect(answered.filter((a) => /examples$/.test(a.name) && a.slViolations !== undefined)).toEqual([]);
  // ...and the keyless ones are refused for the request only (Prism's 401 "Invalid security scheme").
  for (const a of answered.filter((x) => /no subscription key$/.test(x.name))) {
    expect(a.status).toBe(401);
    const findings = JSON.parse(a.slViolations ?? '[]') as { location: string[] }[];
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.every((f) => f.location[0] === 'request')).toBe(true);
  }
});

test('prism mock: Prefer code= (since Prism 5.14) reaches every other declared status, and each conforms', async () => {
  const target: Target = {
    name: 'prism-mock-prefer',
    baseUrl: prismMock!.base,
    isMock: true,
    canWrite: true,
    stateless: true,
    credentials,
    rate: 0,
  };
  const { result, seen } = await recording(prismMock!.base, () =>
    runContract(target, { suites: ['stateless', 'prefer'] }),
  );
  expect(violationsOf(result)).toEqual([]);
  expect(result.cases.filter((c) => c.skipped)).toEqual([]);
  expect(coverageRatio(result)).toBe(1);
  const prefer = result.cases.filter((c) => c.suite === 'prefer');
  expect(prefer.length).toBeGreaterThan(100);
  // Prism answered what was asked for, from the contract, without findings of its own on the request.
  const asked = seen.slice(seen.length - prefer.length);
  expect(asked.map((a) => a.status)).toEqual(prefer.map((c) => Number(/code=(\d+)$/.exec(c.name)![1])));
  expect(asked.filter((a) => a.slViolations !== undefined)).toEqual([]);
  // No stateful mock's admin was looked for.
  expect(seen.filter((s) => s.url.startsWith('/__admin'))).toEqual([]);
});
