import { spawnSync } from 'node:child_process';
import { tempDir } from '../helpers/temp';
import { writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeCertificate } from '../../mock/server';
import personas from '../../fixtures/personas.json';
import { ROOT, startServer } from '../helpers/server';

const CLI = join(ROOT, 'dist', 'mock', 'cli.js');
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });

function get(
  url: string,
  options: { ca?: string; rejectUnauthorized?: boolean },
): Promise<{ status: number; body: string; cert: PeerCertificate }> {
  return new Promise((resolve, reject) => {
    const headers = { 'Ocp-Apim-Subscription-Key': personas.subscriptionKey };
    const req = httpsRequest(url, { ...options, headers }, (res) => {
      // The peer certificate is read while the socket is still attached to the response.
      const cert = (res.socket as TLSSocket).getPeerCertificate();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cert }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('--help on each command', () => {
  for (const args of [['--help'], ['serve', '--help'], ['fixtures', 'export', '--help']]) {
    const r = run(args);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: procode-mock/);
  }
  expect(run(['serve', '--help']).stdout).toMatch(/--gateway-errors <shape>/);
});

test.each([
  [['serve', '--port', 'abc'], /^procode-mock: --port="abc": port must be a whole number from 0 to 65535\n$/],
  [
    ['serve', '--accounts', '3'],
    /^procode-mock: --accounts="3": accounts must be a whole number from 5 to 10000000/,
  ],
  [
    ['serve', '--gateway-errors', 'nginx'],
    /^error: option '--gateway-errors <shape>' argument 'nginx' is invalid/,
  ],
  [
    ['serve', '--cert', '/nonexistent.pem'],
    /^procode-mock: --cert="\/nonexistent.pem": give both a TLS certificate/,
  ],
  [['serve', '--bogus'], /^error: unknown option '--bogus'\n$/],
  [
    ['serve', '--payments-per-account', '0'],
    /^procode-mock: --payments-per-account="0": payments per account must be a whole number from 1 to 1000000\n$/,
  ],
  [
    ['serve', '--refresh-tokens-max', '10'],
    /^procode-mock: --refresh-tokens-max="10": refresh tokens max must be a whole number from 1000 to 10000000\n$/,
  ],
])('an invalid setting %j prints one clear line and exits 2', (args, message) => {
  const r = run(args as string[]);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(message as RegExp);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
});

test.each([
  [{ PROCODE_PORT: 'abc' }, 'PROCODE_PORT="abc": port must be a whole number from 0 to 65535'],
  [{ PORT: '70000' }, 'PORT="70000": port must be a whole number from 0 to 65535'],
  [
    { PROCODE_TOKEN_TTL: 'soon' },
    'PROCODE_TOKEN_TTL="soon": token TTL (seconds) must be a whole number from 1 to 2678400',
  ],
  [
    { LOG_LEVEL: 'loud' },
    'LOG_LEVEL="loud": log level must be one of fatal, error, warn, info, debug, trace, silent',
  ],
  [
    { PROCODE_IDEMPOTENCY_TTL: '1d' },
    'PROCODE_IDEMPOTENCY_TTL="1d": Idempotency-Key TTL (seconds) must be a whole number from 60 to 2592000',
  ],
  [
    { PROCODE_REFRESH_TOKEN_TTL: '10' },
    'PROCODE_REFRESH_TOKEN_TTL="10": refresh token TTL (seconds) must be a whole number from 60 to 31536000',
  ],
  [
    { PROCODE_OTP_CHALLENGES_MAX: '-1' },
    'PROCODE_OTP_CHALLENGES_MAX="-1": OTP challenges max must be a whole number from 100 to 10000000',
  ],
  [
    { PROCODE_SELF_CHECK: 'maybe' },
    'PROCODE_SELF_CHECK="maybe": self check must be true or false (or on/off, yes/no, 1/0)',
  ],
])('an invalid environment setting %j names the variable and its value (exit 2)', (env, message) => {
  const r = run(['serve'], env);
  expect(r.status).toBe(2);
  expect(r.stderr).toBe(`procode-mock: ${message}\n`);
});

test('a flag wins over the environment, so the flag is the one named', () => {
  const r = run(['serve', '--port', 'x'], { PROCODE_PORT: '4999' });
  expect(r.stderr).toBe('procode-mock: --port="x": port must be a whole number from 0 to 65535\n');
});

test('a secret setting is named by its variable, never shown', () => {
  const r = run(['serve'], { PROCODE_TOKEN_SECRET: 'too-short-secret' });
  expect(r.status).toBe(2);
  expect(r.stderr).toBe(
    'procode-mock: PROCODE_TOKEN_SECRET: the token secret must be at least 32 characters\n',
  );
  expect(r.stderr).not.toContain('too-short-secret');
});

test.each([
  ['procode-mock serve --port <busy>', (port: number) => run(['serve', '--port', String(port)])],
  [
    'the plain entry point with PORT=<busy>',
    (port: number) =>
      spawnSync(process.execPath, [join(ROOT, 'dist', 'mock', 'main.js')], {
        env: { PATH: process.env.PATH ?? '', PORT: String(port) },
        encoding: 'utf8',
        timeout: 60_000,
      }),
  ],
])('%s: a port in use is one line that suggests --port, exit 2', async (_name, start) => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const { port } = busy.address() as AddressInfo;
  try {
    const r = start(port);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `procode-mock: port ${port} is in use on 127.0.0.1 (another procode-mock?): start with --port <n> (npm start -- --port <n>) or PROCODE_PORT=<n> (0 picks a free port)\n`,
    );
    expect(r.stdout).toBe('');
  } finally {
    busy.close();
  }
});

test('fixtures export: the same seed gives the same bytes, another seed another world', () => {
  const a = run(['fixtures', 'export', '--seed', '7', '--accounts', '1000', '--from', '10', '--count', '25']);
  const b = run(['fixtures', 'export', '--seed', '7', '--accounts', '1000', '--from', '10', '--count', '25']);
  const c = run(['fixtures', 'export', '--seed', '8', '--accounts', '1000', '--from', '10', '--count', '25']);
  expect(a.status).toBe(0);
  expect(a.stdout).toBe(b.stdout);
  expect(c.stdout).not.toBe(a.stdout);
  const world = JSON.parse(a.stdout);
  expect(world).toMatchObject({ seed: 7, accounts: 1000, from: 10, count: 25 });
  expect(world.items[0].index).toBe(10);
  expect(world.items[0].premises[0].servicePoints.length).toBeGreaterThan(0);
  expect(run(['fixtures', 'export', '--from', '5000']).status).toBe(2);
});

test('serves HTTPS with the given certificate, which a client can verify', async () => {
  const dir = tempDir('procode-tls-');
  const { cert, key } = await makeCertificate();
  writeFileSync(join(dir, 'cert.pem'), cert);
  writeFileSync(join(dir, 'key.pem'), key);
  const server = await startServer({}, [
    'serve',
    '--port',
    '0',
    '--cert',
    join(dir, 'cert.pem'),
    '--key',
    join(dir, 'key.pem'),
  ]);
  try {
    expect(server.base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await get(`${server.base}/__admin/health`, { ca: cert });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).status).toBe('ok');
  } finally {
    await server.stop();
  }
});

test("a certificate file that is no PEM, or a key that is not the certificate's, is one line naming --cert, exit 2", async () => {
  const dir = tempDir('procode-tls-bad-');
  const [a, b] = [await makeCertificate(), await makeCertificate()];
  writeFileSync(join(dir, 'garbage.pem'), 'not a certificate\n');
  writeFileSync(join(dir, 'cert.pem'), a.cert);
  writeFileSync(join(dir, 'other-key.pem'), b.key);
  const garbage = join(dir, 'garbage.pem');
  const cases: [string[], RegExp][] = [
    [
      ['--cert', garbage, '--key', garbage],
      /^procode-mock: --cert="[^"]+garbage\.pem": not a PEM certificate/,
    ],
    [
      ['--cert', join(dir, 'cert.pem'), '--key', join(dir, 'other-key.pem')],
      /^procode-mock: --cert="[^"]+cert\.pem": the key is not this certificate's key \(key: --key="[^"]+other-key\.pem"\)\n$/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = run(['serve', '--port', '0', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }
});

test('--tls makes a certificate for localhost and 127.0.0.1 at start-up', async () => {
  const server = await startServer({}, ['serve', '--port', '0', '--tls']);
  try {
    const res = await get(`${server.base}/api/energy/premises`, { rejectUnauthorized: false });
    expect(res.status).toBe(401);
    expect(res.cert.subjectaltname).toContain('IP Address:127.0.0.1');
    expect(res.cert.subjectaltname).toContain('DNS:localhost');
    // The certificate made at start-up is offered to clients, which can then verify the server with it.
    const pem = await get(`${server.base}/__admin/certificate`, { rejectUnauthorized: false });
    expect(pem.body).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const verified = await get(`${server.base}/__admin/health`, { ca: pem.body });
    expect(verified.status).toBe(200);
  } finally {
    await server.stop();
  }
});

test('SIGTERM lets a request in flight finish, then exits 0', async () => {
  const server = await startServer({}, ['serve', '--port', '0']);
  const { port } = new URL(server.base);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const body = JSON.stringify({ grant_type: 'password', username: 'basic@example.com', password: 'x' });
  socket.write(
    `POST /api/identity/auth/TokenRequest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Ocp-Apim-Subscription-Key: ${personas.subscriptionKey}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n` +
      body.slice(0, 10),
  );
  await new Promise((r) => setTimeout(r, 200));
  const exited = once(server.process, 'exit');
  server.process.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString()));
  socket.write(body.slice(10));
  await new Promise((r) => socket.once('close', r));
  expect(answer).toMatch(/^HTTP\/1\.1 401 /);
  const [code] = await exited;
  expect(code).toBe(0);
});
