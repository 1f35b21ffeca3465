import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startServer } from '../helpers/server';
import type { RunningServer } from '../helpers/server';

/**
 * The README's "Testing unhappy paths" recipes, run as written against the real server: the section's
 * first ```bash block is the preamble, and each later one is a recipe run on its own after it.
 */
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const section = /^## Testing unhappy paths\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
const [preamble = '', ...recipes] = [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** curl's own message for the dropped connection of the connection-reset recipe. */
const CONNECTION_RESET = /^curl: \(56\) Recv failure: Connection reset by peer\n/m;

/** What each recipe must print, in the README's order, keyed by a line the recipe contains. */
const EXPECTED: { name: string; has: string; stderr?: RegExp; check(out: string): void }[] = [
  {
    name: 'a token that expires mid-flow: 401 invalid_token, then a refreshed token works',
    has: '/__admin/clock/advance',
    check: (out) => {
      expect(out).toContain('"mode":"frozen"');
      expectInOrder(out, [
        /^HTTP\/1\.1 401 /m,
        /^WWW-Authenticate: Bearer realm="procode", error="invalid_token"/m,
        /"accountNumber":"A-0BA51C01"/,
        /"mode":"system"/,
      ]);
    },
  },
  {
    name: 'a 503 from MakePayment, by a fault rule (called once) and by Prefer: code=503',
    has: '"status":503',
    check: (out) => {
      expectInOrder(out, [
        /^HTTP\/1\.1 503 /m,
        /^Retry-After: \d+/m,
        /"type":"https:\/\/procode\.example\/problems\/service-unavailable".*fault rule f-1/,
        /\{"count":1\}/,
        /^HTTP\/1\.1 503 /m,
        /^Preference-Applied: code=503/m,
        /problems\/service-unavailable/,
      ]);
      expect(out).not.toContain('"status":"APPLIED"');
    },
  },
  {
    name: 'two seconds of latency on GetBalance, by a fault rule and by Prefer: delay=2000',
    has: '"delayMs":2000',
    check: (out) => {
      const times = [...out.matchAll(/^200 (\d+(?:\.\d+)?)$/gm)].map((m) => Number(m[1]));
      expect(times).toHaveLength(2);
      for (const t of times) expect(t).toBeGreaterThanOrEqual(2);
    },
  },
  {
    name: 'a dropped connection once, then 200 on the retry',
    has: 'connection-reset',
    stderr: CONNECTION_RESET,
    check: (out) => expectInOrder(out, [/^connection dropped$/m, /^200$/m]),
  },
  {
    name: 'a one-time code too late is 410 otp-expired; the 6th code in 15 minutes is 429, and 202 after',
    has: 'SendOTP',
    check: (out) =>
      expectInOrder(out, [
        /"offsetSeconds":301/,
        /"type":"https:\/\/procode\.example\/problems\/otp-expired".*"status":410/,
        /^202 202 202 202 429 $/m,
        /"offsetSeconds":1201/,
        /^202$/m,
        /"mode":"system"/,
      ]),
  },
  {
    name: 'ten wrong passwords: even the right one is 429 with Retry-After 900, and 200 15 minutes later',
    has: 'Wrong-Password',
    check: (out) =>
      expectInOrder(out, [
        /^(400 ){10}$/m,
        /^HTTP\/1\.1 429 /m,
        /^Retry-After: 900/m,
        /problems\/too-many-requests/,
        /^200$/m,
        /"mode":"system"/,
      ]),
  },
  {
    name: 'a pending payment: PENDING, then APPLIED 30 s later, and the balance 1000 pence higher',
    has: 'tok_test_pending',
    check: (out) => {
      const credits = [...out.matchAll(/"creditBalancePence":(\d+)/g)].map((m) => Number(m[1]));
      expect(credits).toHaveLength(2);
      expect(credits[1]! - credits[0]!).toBe(1000);
      expectInOrder(out, [/"status":"PENDING"/, /"offsetSeconds":30/, /"status":"APPLIED","utrn":"\d{20}"/]);
    },
  },
  {
    name: 'product keys: APIM 401 outside the product, and the limited key’s 6th call is 429 with Retry-After',
    has: 'LIMITED_KEY',
    check: (out) => {
      expect(
        out.match(/\{"statusCode":401,"message":"Access denied due to invalid subscription key/g),
      ).toHaveLength(2);
      expectInOrder(out, [
        /^200 200 200 200 200 $/m,
        /^HTTP\/1\.1 429 /m,
        /^Retry-After: \d+/m,
        /^Content-Type: application\/json/m,
        /\{"statusCode":429,"message":"Rate limit is exceeded\. Try again in \d+ seconds\."\}/,
      ]);
    },
  },
  {
    name: 'the gateway’s own 429 from a fault rule, with Retry-After and the APIM JSON body',
    has: '"gateway":"429"',
    check: (out) =>
      expectInOrder(out, [
        /^HTTP\/1\.1 429 /m,
        /^Retry-After: \d+/m,
        /^Content-Type: application\/json/m,
        /\{"statusCode":429,"message":"Rate limit is exceeded\. Try again in \d+ seconds\."\}/,
      ]),
  },
  {
    name: 'the request journal shows the calls redacted, and the state comes back after a reset',
    has: '/__admin/requests',
    check: (out) => {
      const journal = out.split('\n').find((line) => line.startsWith('{"items":'));
      expect(journal).toBeDefined();
      const { items } = JSON.parse(journal!) as { items: { operationId: string; request: unknown }[] };
      expect(items.map((e) => e.operationId)).toEqual(['MakePayment', 'TokenRequest']);
      const requests = JSON.stringify(items.map((e) => e.request));
      expect(requests).toContain('"paymentToken":"[redacted]"');
      expect(requests).toContain('"password":"[redacted]"');
      expect(requests).toContain('"authorization":"Bearer [redacted]"');
      expect(requests).toContain('"b****@example.com"');
      for (const secret of ['tok_test_approve', 'Procode-Basic-2026', '5f0c0de0c0de4d0c8a5e5a4db0c0de01'])
        expect(requests).not.toContain(secret);
      expect(out).toContain('{"registrations":0,"payments":1,"balances":1}');
    },
  },
];

/** Each pattern matches `text` after where the previous one matched. */
function expectInOrder(text: string, patterns: RegExp[]): void {
  let rest = text;
  for (const pattern of patterns) {
    const m = pattern.exec(rest);
    expect({ pattern: String(pattern), found: m !== null }).toEqual({
      pattern: String(pattern),
      found: true,
    });
    rest = rest.slice(m!.index + m![0].length);
  }
}

let server: RunningServer;
let cwd: string;
beforeAll(async () => {
  server = await startServer();
  cwd = mkdtempSync(join(tmpdir(), 'procode-unhappy-'));
});
afterAll(async () => {
  await server?.stop();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

test('the section has the preamble and one recipe per expectation, in order', () => {
  expect(preamble).toContain('json() {');
  expect(recipes).toHaveLength(EXPECTED.length);
  recipes.forEach((recipe, i) =>
    expect({ i, has: recipe.includes(EXPECTED[i]!.has) }).toEqual({ i, has: true }),
  );
});

describe.each(EXPECTED.map((e, i) => [e.name, i] as const))('recipe: %s', (_name, i) => {
  test('runs as written, prints no error, and shows what it says', () => {
    const expected = EXPECTED[i]!;
    const run = spawnSync(
      'bash',
      ['--norc', '--noprofile', '-euo', 'pipefail', '-c', `${preamble}\n${recipes[i] ?? 'exit 99'}`],
      {
        cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH ?? '', BASE: server.base, TMPDIR: cwd },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    const stderr = expected.stderr ? run.stderr.replace(expected.stderr, '') : run.stderr;
    if (expected.stderr) expect(run.stderr).toMatch(expected.stderr);
    expect(stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).not.toContain('undefined');
    expected.check(run.stdout);
  }, 70_000);
});
