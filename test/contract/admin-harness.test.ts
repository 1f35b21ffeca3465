/**
 * The harness checks a procode-mock's control plane against its own contract,
 * `contracts/admin.openapi.yaml`: in-process, over HTTP and with an admin token, with zero violations and
 * its own coverage line; it leaves the mock as it found it; it catches a drifted admin reply; and it
 * never touches `/__admin` of a target that has none.
 */
import { readFileSync } from 'node:fs';
import { tempDir } from '../helpers/temp';
import { join } from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { createApp, defaultAdminContract } from '../../mock/app';
import { loadConfig } from '../../mock/config';
import type { ConfigInput } from '../../mock/config';
import type { Violation } from '../../contract-kit';
import { adminCoverageLine, coverageRatio, runContract, violationsOf } from '../../harness/runner';
import { junitXml, writeReports } from '../../harness/reports';
import type { RunResult, Target } from '../../harness/types';
import { startServer } from '../helpers/server';
import type { RunningServer } from '../helpers/server';
import type { Drift, Reply } from './helpers/drift';
import { credentials, driftedApp, targetOf } from './helpers/drift';

const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

/** An in-process mock whose own reply check reports into `violations`. */
function mockApp(overrides: ConfigInput = {}) {
  const violations: Violation[] = [];
  const mock = createApp({
    config: loadConfig({ logLevel: 'silent', ...overrides }, {}),
    logger: pino({ level: 'silent' }),
    onViolation: (v) => violations.push(...v),
  });
  return { ...mock, violations };
}

/**
 * What a run must reach of the admin contract: every declared status (2xx, 400, 404, 406, 413, 415) but
 * 401 (only a mock with an admin token answers it), the certificate's 200 (only over TLS) and 503 (only a
 * mock whose Redis store is down: test/e2e/replicas.test.ts provokes it).
 */
function expectAdminCoverage(result: RunResult, { with401 }: { with401: boolean }): void {
  expect(result.admin?.skipped).toBeUndefined();
  const missing: string[] = [];
  for (const op of defaultAdminContract().operations.values()) {
    for (const status of op.spec.responses.keys()) {
      if (status === 401 && !with401) continue;
      if (op.spec.operationId === 'GetCertificate' && status === 200) continue;
      // internal-error is a bug in the mock: declared so a client knows it can happen, never provoked.
      if (status === 500) continue;
      if (status === 503) continue;
      if (!result.admin!.coverage[op.spec.operationId]?.[String(status)])
        missing.push(`${op.spec.operationId} ${status}`);
    }
  }
  expect(missing).toEqual([]);
  expect(result.admin!.router).toEqual({ '404': true, '405': true });
}

test('in-process: every admin operation conforms, the admin contract has its own coverage line', async () => {
  const { app, violations } = mockApp();
  const lines: string[] = [];
  const result = await runContract(targetOf('in-process', app), { log: (l) => lines.push(l) });
  expect(violationsOf(result)).toEqual([]);
  expect(violations).toEqual([]);
  expect(result.cases.filter((c) => c.skipped)).toEqual([]);
  // The API figure keeps its meaning: only the API contract's pairs, all of them.
  expect(coverageRatio(result)).toBe(1);
  expect(Object.keys(result.coverage)).not.toContain('GetClock');
  expectAdminCoverage(result, { with401: false });
  const operations = defaultAdminContract().operations.size;
  expect(adminCoverageLine(result)).toMatch(
    new RegExp(`^admin contract: ${operations}/${operations} operations, \\d+/\\d+ operation x status pairs`),
  );
  // Every admin case is its own suite, checked against the admin contract.
  const adminCases = result.cases.filter((c) => c.contract === 'admin');
  expect(adminCases.length).toBeGreaterThan(40);
  expect(adminCases.every((c) => c.suite === 'admin')).toBe(true);
  expect(lines.some((l) => l.startsWith('ok   [admin] GetClock'))).toBe(true);
});

test('with an admin token (PROCODE_ADMIN_TOKEN) every admin operation also answers its 401', async () => {
  const { app, violations } = mockApp({ adminToken: ADMIN_TOKEN });
  const target: Target = {
    ...targetOf('guarded', app),
    credentials: { ...credentials, adminToken: ADMIN_TOKEN },
  };
  const lines: string[] = [];
  const result = await runContract(target, { log: (l) => lines.push(l) });
  expect(violationsOf(result)).toEqual([]);
  expect(violations).toEqual([]);
  expect(coverageRatio(result)).toBe(1);
  expectAdminCoverage(result, { with401: true });
  expect(lines.join('\n')).not.toContain(ADMIN_TOKEN);
});

test('without the admin token a guarded mock is named, not failed', async () => {
  const { app } = mockApp({ adminToken: ADMIN_TOKEN });
  const result = await runContract(targetOf('guarded-no-token', app), { suites: ['admin'] });
  expect(violationsOf(result)).toEqual([]);
  expect(result.admin?.skipped).toMatch(/set PROCODE_ADMIN_TOKEN/);
  expect(adminCoverageLine(result)).toMatch(/^admin contract: not checked \(.*PROCODE_ADMIN_TOKEN\)$/);
});

test('a mock with --admin off: the admin contract is skipped with the reason, nothing fails', async () => {
  const { app } = mockApp({ admin: false });
  const result = await runContract(targetOf('admin-off', app), { suites: ['admin'] });
  expect(violationsOf(result)).toEqual([]);
  expect(result.admin?.skipped).toMatch(/\/__admin answers 404/);
});

test('the mock is left as it was found: the clock, the fault rules, the state', async () => {
  const { app } = mockApp();
  const admin = () => request(app);
  const frozen = (await admin().put('/__admin/clock').send({ now: '2027-01-01T00:00:00.000Z' })).body;
  // A rule of the developer's own, on a path the harness never calls.
  const rule = (
    await admin()
      .post('/__admin/faults')
      .send({ method: 'GET', path: '/api/energy/premises/0000000000', status: 404 })
  ).body;
  const result = await runContract(targetOf('no-reset', app), { reset: false, suites: ['admin'] });
  expect(violationsOf(result)).toEqual([]);
  expect((await admin().get('/__admin/clock')).body).toMatchObject({ now: frozen.now, mode: 'frozen' });
  expect((await admin().get('/__admin/faults')).body.items).toEqual([rule]);
  // --no-reset and rules of its own: nothing is cleared, and the report says why.
  expect(result.cases.filter((c) => c.skipped).map((c) => c.operationId)).toEqual([
    'ResetMock',
    'ClearRequests',
    'ClearFaults',
  ]);
});

test('reports: coverage.json and coverage.md carry the admin contract apart, JUnit has an admin suite', async () => {
  const { app } = mockApp();
  const result = await runContract(targetOf('reports', app));
  const dir = tempDir('procode-admin-reports-');
  writeReports(result, dir);
  const json = JSON.parse(readFileSync(join(dir, 'coverage.json'), 'utf8'));
  expect(json.ratio).toBe(1);
  expect(json.coverage.GetClock).toBeUndefined();
  expect(json.admin).toMatchObject({
    contract: 'admin.openapi.yaml',
    operations: defaultAdminContract().operations.size,
    operationsExercised: defaultAdminContract().operations.size,
    router: { '404': true, '405': true },
  });
  expect(json.admin.coverage.GetClock).toEqual({
    '200': true,
    '401': false,
    '406': true,
    '500': false,
    '503': false,
  });
  // What only Prefer reached is said, so 100% is not mistaken for 100% provoked.
  expect(json.preferOnly.GetPremise).toEqual(['429', '431', '500', '503']);
  const md = readFileSync(join(dir, 'coverage.md'), 'utf8');
  expect(md).toContain('## Admin contract (`contracts/admin.openapi.yaml`)');
  expect(md).toMatch(/\| GetClock \| 200 406 \| 401 500 503 \|/);
  expect(md).toMatch(/\| GetPremise \| 200 400 401 403 404 406 429\* 431\* 500\* 503\* \| - \|/);
  expect(junitXml(result)).toMatch(/<testsuite name="admin" tests="\d+" failures="0"/);
});

describe('over HTTP', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  test('the real server: the admin contract with zero violations, the API still at full coverage', async () => {
    const target: Target = {
      name: 'http',
      baseUrl: server.base,
      isMock: true,
      canWrite: true,
      stateless: false,
      credentials,
      rate: 0,
    };
    // --reset: the run owns this server, so the reset and the state round trip are checked too.
    const result = await runContract(target, { reset: true });
    expect(violationsOf(result)).toEqual([]);
    expect(coverageRatio(result)).toBe(1);
    expectAdminCoverage(result, { with401: false });
    // The run leaves no fault rule and the clock on the system clock.
    const faults = (await (await fetch(`${server.base}/__admin/faults`)).json()) as { items: unknown[] };
    expect(faults.items).toEqual([]);
    const clock = (await (await fetch(`${server.base}/__admin/clock`)).json()) as { mode: string };
    expect(clock.mode).toBe('system');
  });
});

type Json = Record<string, unknown>;
const json = (reply: Reply): Json => reply.body as Json;

/** Drifted admin replies the harness must catch, naming the admin operation and the place. */
const drifts: { kind: string; operationId: string; drift: Drift; pointers: string[] }[] = [
  {
    kind: 'GetClock without mode',
    operationId: 'GetClock',
    drift: { method: 'GET', path: /^\/__admin\/clock$/, status: 200, apply: (r) => void delete json(r).mode },
    pointers: ['#/mode'],
  },
  {
    kind: 'AddFault 201 without Location',
    operationId: 'AddFault',
    drift: {
      method: 'POST',
      path: /^\/__admin\/faults$/,
      status: 201,
      apply: (r) => r.res.removeHeader('Location'),
    },
    pointers: ['header:Location'],
  },
  {
    kind: 'ListRequests entry with an unknown field',
    operationId: 'ListRequests',
    drift: {
      method: 'GET',
      path: /^\/__admin\/requests$/,
      status: 200,
      apply: (r) => void ((json(r).items as Json[])[0]!.extra = true),
    },
    pointers: ['#/items/0/extra'],
  },
  {
    kind: "the router's 404 as application/json",
    operationId: '(router)',
    drift: {
      method: 'GET',
      path: /^\/__admin\/harness-no-such-operation$/,
      status: 404,
      apply: (r) => void r.res.setHeader('Content-Type', 'application/json; charset=utf-8'),
    },
    pointers: ['content-type'],
  },
];

test.each(drifts)(
  'admin drift, $kind: caught at $operationId $pointers',
  async ({ kind, operationId, drift, pointers }) => {
    // The flow runs first so the journal has entries to drift.
    const result = await runContract(targetOf(`admin drift: ${kind}`, driftedApp(drift)), {
      suites: ['flow', 'admin'],
    });
    const found = violationsOf(result);
    expect([...new Set(found.map((v) => v.operationId))]).toEqual([operationId]);
    expect(found).toContainEqual(
      expect.objectContaining({
        operationId,
        pointer: expect.stringMatching(new RegExp(`^(${pointers.join('|')})$`)),
      }),
    );
    // The drift is the admin contract's, in the admin suite.
    expect(result.cases.filter((c) => c.violations.length).every((c) => c.contract === 'admin')).toBe(true);
  },
);
