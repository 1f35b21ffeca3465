import { spawnSync } from 'node:child_process';
import { tempDir } from '../helpers/temp';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { createApp } from '../../mock/app';
import { loadConfig } from '../../mock/config';
import { coverageRatio, runContract, violationsOf } from '../../harness/runner';
import { writeReports } from '../../harness/reports';
import type { Target } from '../../harness/types';
import personas from '../../fixtures/personas.json';
import { ROOT, startServer } from '../helpers/server';
import type { RunningServer } from '../helpers/server';

const basic = personas.personas.find((p) => p.id === 'basic')!;
const credentials = {
  subscriptionKey: personas.subscriptionKey,
  clientId: personas.clientId,
  clientSecret: personas.clientSecret,
  username: basic.username,
  password: basic.password,
};
const SECRETS = [personas.subscriptionKey, personas.clientSecret, basic.password, basic.username];

function inProcess(): Target {
  const { app } = createApp({
    config: loadConfig({ logLevel: 'silent' }, {}),
    logger: pino({ level: 'silent' }),
  });
  return {
    name: 'in-process',
    app,
    isMock: true,
    canWrite: true,
    stateless: false,
    credentials,
    rate: 0,
  };
}

test('the in-process mock conforms: no violation, every declared operation x status exercised', async () => {
  const lines: string[] = [];
  const result = await runContract(inProcess(), { log: (l) => lines.push(l) });
  expect(violationsOf(result)).toEqual([]);
  expect(coverageRatio(result)).toBe(1);
  expect(result.negativeCases).toBeGreaterThan(150);
  expect(result.cases.filter((c) => c.skipped)).toEqual([]);
  // The mock's control plane is checked too, against its own contract, and counted apart.
  expect(result.admin?.skipped).toBeUndefined();
  expect(Object.values(result.admin!.coverage).every((row) => Object.values(row).some(Boolean))).toBe(true);
  const console = lines.join('\n');
  for (const secret of SECRETS) expect(console).not.toContain(secret);
  expect(console).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
});

test('the reports (JUnit, coverage, drift) are written and hold no secret', async () => {
  const result = await runContract(inProcess());
  const dir = tempDir('procode-reports-');
  writeReports(result, dir);
  expect(readdirSync(dir).sort()).toEqual([
    'coverage.json',
    'coverage.md',
    'drift.json',
    'drift.md',
    'junit.xml',
  ]);
  const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
  expect(junit).toMatch(/^<\?xml/);
  expect(junit).toContain(`tests="${result.cases.length}" failures="0"`);
  expect(JSON.parse(readFileSync(join(dir, 'coverage.json'), 'utf8')).ratio).toBe(1);
  expect(JSON.parse(readFileSync(join(dir, 'drift.json'), 'utf8')).violations).toEqual([]);
  for (const f of readdirSync(dir)) {
    const text = readFileSync(join(dir, f), 'utf8');
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  }
});

describe('over HTTP', () => {
  let server: RunningServer;
  let standIn: RunningServer;
  beforeAll(async () => {
    server = await startServer();
    // A stand-in for a real environment: the mock on another port with another subscription key.
    standIn = await startServer({ PROCODE_MOCK_SUBSCRIPTION_KEYS: 'stand-in-subscription-key-0001' });
  });
  afterAll(async () => {
    await server?.stop();
    await standIn?.stop();
  });

  test('the real server over loopback conforms with full coverage', async () => {
    const target: Target = {
      name: 'http',
      baseUrl: server.base,
      isMock: true,
      canWrite: true,
      stateless: false,
      credentials,
      rate: 0,
    };
    const result = await runContract(target);
    expect(violationsOf(result)).toEqual([]);
    expect(coverageRatio(result)).toBe(1);
  });

  const cli = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, [join(ROOT, 'dist', 'harness', 'cli.js'), ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
      timeout: 120_000,
    });

  const standInEnv = (overrides: Record<string, string> = {}) => ({
    PROCODE_BASE_URL: standIn.base,
    PROCODE_SUBSCRIPTION_KEY: 'stand-in-subscription-key-0001',
    PROCODE_CLIENT_ID: personas.clientId,
    PROCODE_CLIENT_SECRET: personas.clientSecret,
    PROCODE_USERNAME: basic.username,
    PROCODE_PASSWORD: basic.password,
    ...overrides,
  });

  test('against a "real" environment (README section) it runs read-only, writes the reports, and exits 0', () => {
    const dir = tempDir('procode-dev1-');
    const run = cli(['--target', 'dev1', '--report', dir, '--rate', '50'], standInEnv());
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('read-only');
    // A real environment is never asked for a status (Prefer) nor looked at under /__admin.
    expect(run.stdout).not.toMatch(/\[prefer\]|\[admin\]|admin contract/);
    expect(JSON.parse(readFileSync(join(dir, 'coverage.json'), 'utf8')).admin).toBeUndefined();
    expect(run.stdout).toMatch(/skip \[flow\] MakePayment .*needs --allow-writes/);
    expect(readdirSync(dir).sort()).toEqual([
      'coverage.json',
      'coverage.md',
      'drift.json',
      'drift.md',
      'junit.xml',
    ]);
    for (const secret of [...SECRETS, 'stand-in-subscription-key-0001']) {
      expect(run.stdout).not.toContain(secret);
      for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f), 'utf8')).not.toContain(secret);
    }
    // Read-only: the stand-in received no write (no code sent, no payment made).
    const outbox = spawnSync('curl', ['-s', `${standIn.base}/__admin/outbox`], { encoding: 'utf8' });
    expect(JSON.parse(outbox.stdout)).toEqual([]);
    const journal = spawnSync('curl', ['-s', `${standIn.base}/__admin/requests?limit=1000`], {
      encoding: 'utf8',
    });
    const entries = (JSON.parse(journal.stdout) as { items: { request: { headers: object } }[] }).items;
    expect(entries.length).toBeGreaterThan(50);
    expect(entries.filter((e) => 'prefer' in e.request.headers)).toEqual([]);
  });

  test.each([
    [
      'subscription key',
      { PROCODE_SUBSCRIPTION_KEY: 'not-the-key-of-this-environment' },
      /PROCODE_SUBSCRIPTION_KEY/,
    ],
    [
      'client secret',
      { PROCODE_CLIENT_SECRET: 'not-the-secret' },
      /PROCODE_CLIENT_ID\/PROCODE_CLIENT_SECRET/,
    ],
    ['password', { PROCODE_PASSWORD: 'not-the-password-1234' }, /PROCODE_USERNAME\/PROCODE_PASSWORD/],
  ])('a wrong %s is a bad setting (exit 2, named), not contract drift', (_name, overrides, named) => {
    const run = cli(['--target', 'dev1', '--quiet', '--rate', '50'], standInEnv(overrides));
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^procode-contract: the target refused the credentials/);
    expect(run.stderr).toMatch(named);
    expect(run.stderr).not.toContain('not-the');
  });

  test('coverage under --min-coverage exits 1 and is recorded as a failed case in JUnit', () => {
    const dir = tempDir('procode-min-');
    const run = cli(
      ['--target', 'dev1', '--quiet', '--rate', '50', '--min-coverage', '90', '--report', dir],
      standInEnv(),
    );
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/coverage \d+\.\d% is under --min-coverage 90%/);
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toMatch(/failures="1"/);
  });

  test('against a procode-mock (--mock) the summary has a line of its own for the admin contract', () => {
    const dir = tempDir('procode-mock-');
    // --reset: earlier runs against this server used up the account's SendOTP window.
    const run = cli(['--target', server.base, '--mock', '--reset', '--quiet', '--report', dir], {});
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/resetting the mock first \(--reset\)/);
    expect(run.stdout).toMatch(/coverage 100\.0%/);
    expect(run.stdout).toMatch(/^admin contract: (\d+)\/\1 operations, \d+\/\d+ operation x status pairs/m);
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).toContain('<testsuite name="admin"');
  });

  test('an unreachable target says why (exit 2)', () => {
    const run = cli(['--target', 'http://127.0.0.1:59999'], { ...standInEnv(), PROCODE_BASE_URL: '' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^procode-contract: fetch failed: ECONNREFUSED/);
  });

  test('exits 2 with one clear line for an unknown target or missing credentials', () => {
    const unknown = cli(['--target', 'nowhere'], {});
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^procode-contract: unknown target "nowhere"/);
    const noCreds = cli(['--target', 'dev2'], {});
    expect(noCreds.status).toBe(2);
    expect(noCreds.stderr).toMatch(/PROCODE_SUBSCRIPTION_KEY/);
  });
});
