import { ResourceOwnerPassword } from 'simple-oauth2';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { once } from 'node:events';
import personas from '../../fixtures/personas.json';
import { ROOT, startServer } from '../helpers/server';
import type { RunningServer } from '../helpers/server';

/**
 * End to end: the real server (`node dist/mock/main.js`, as `npm start` runs it) on a loopback port,
 * driven over HTTP, including by a standard OAuth2 client library.
 */
let server: RunningServer;
let base = '';

beforeAll(async () => {
  server = await startServer({ SEED: '42', PROCODE_LOG_LEVEL: 'info' });
  base = server.base;
});

afterAll(async () => {
  await server.stop();
});

const key = { 'Ocp-Apim-Subscription-Key': personas.subscriptionKey };
const basic = personas.personas.find((p) => p.id === 'basic')!;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are read field by field
type Json = any;

async function api(
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(base + path, { ...init, headers: { ...key, ...(init.headers as object) } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

test('a standard OAuth2 client library (simple-oauth2) logs in with the password grant', async () => {
  const client = new ResourceOwnerPassword({
    client: { id: personas.clientId, secret: personas.clientSecret },
    auth: {
      tokenHost: base,
      tokenPath: '/api/identity/auth/TokenRequest',
      refreshPath: '/api/identity/auth/RefreshToken',
    },
    http: { headers: key },
  });
  const token = await client.getToken({ username: basic.username, password: basic.password });
  expect(token.token.token_type).toBe('Bearer');
  const me = await api('/api/identity/customers/me', {
    headers: { Authorization: `Bearer ${String(token.token.access_token)}` },
  });
  expect(me.status).toBe(200);
  expect(me.body.accountNumber).toBe(basic.accountNumber);
  const refreshed = await token.refresh();
  expect(refreshed.token.refresh_token).toBe(token.token.refresh_token);
  expect(refreshed.token.access_token).not.toBe(token.token.access_token);
});

test('the whole flow over HTTP: premises, service points, devices, balance, a payment', async () => {
  const login = await api('/api/identity/auth/TokenRequest', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      username: basic.username,
      password: basic.password,
      client_id: personas.clientId,
      client_secret: personas.clientSecret,
    }).toString(),
  });
  expect(login.status).toBe(200);
  expect(login.headers.get('cache-control')).toBe('no-store');
  const auth = { Authorization: `Bearer ${login.body.access_token}` };
  const premises = await api('/api/energy/premises', { headers: auth });
  const premiseId = premises.body.items[0].premiseId;
  const sps = await api(`/api/energy/premises/${premiseId}/servicepoints`, { headers: auth });
  const elec = sps.body.items.find((s: { fuelType: string }) => s.fuelType === 'ELECTRICITY');
  const devices = await api(`/api/energy/servicepoints/${elec.servicePointId}/devices`, { headers: auth });
  const meter = devices.body.items.find((d: { deviceType: string }) => d.deviceType === 'ESME');
  const before = await api(`/api/energy/devices/${meter.deviceId}/balance`, { headers: auth });
  const paid = await api('/api/energy/payments', {
    method: 'POST',
    headers: {
      ...auth,
      'Content-Type': 'application/json',
      'Idempotency-Key': 'c1b8e0a4-1f0e-4b1a-8d9b-5f2b7c3a9e10',
    },
    body: JSON.stringify({
      deviceId: meter.deviceId,
      amountPence: 2000,
      method: 'CARD',
      paymentToken: 'tok_test_approve',
    }),
  });
  expect(paid.status).toBe(201);
  expect(paid.headers.get('location')).toBe(`/api/energy/payments/${paid.body.paymentId}`);
  const after = await api(`/api/energy/devices/${meter.deviceId}/balance`, { headers: auth });
  expect(after.body.creditBalancePence).toBe(before.body.creditBalancePence + 2000);
});

test('the log has one JSON line per request with operationId and status, and no secret', async () => {
  await api('/api/identity/auth/TokenRequest', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'password',
      username: basic.username,
      password: basic.password,
      client_id: personas.clientId,
      client_secret: personas.clientSecret,
    }),
  });
  // Lines are gathered and written at most LOG_FLUSH_MS (100 ms) later: wait for this one.
  const deadline = performance.now() + 5_000;
  while (!server.output().includes('"operationId":"TokenRequest"') && performance.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  const logs = server.output();
  const lines = logs
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(lines.some((l) => l.operationId === 'TokenRequest' && l.status === 200)).toBe(true);
  for (const secret of [basic.password, basic.username, personas.clientSecret, personas.subscriptionKey]) {
    expect(logs).not.toContain(secret);
  }
  expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
});

async function raw(request: string): Promise<string> {
  const { port } = new URL(base);
  const socket = connect(Number(port), '127.0.0.1');
  await once(socket, 'connect');
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString()));
  socket.write(request);
  await once(socket, 'close');
  return answer;
}

test.each([
  [
    'both Content-Length and Transfer-Encoding',
    'POST /api/energy/payments HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    400,
    'malformed-request',
  ],
  [
    'headers over 16 KiB',
    `GET /api/energy/premises HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    431,
    'headers-too-large',
  ],
])('a request Node cannot parse (%s) still gets problem+json', async (_name, request, status, slug) => {
  const answer = await raw(request as string);
  expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
  expect(answer).toMatch(/content-type: application\/problem\+json/i);
  const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
  expect(body.type).toBe(`https://procode.example/problems/${slug}`);
  expect(body.status).toBe(status);
});

test('SIGTERM stops the server cleanly with exit code 0, writing every log line it gathered first', async () => {
  const answered = await api('/api/energy/premises', { headers: { 'X-Request-ID': 'last-before-sigterm' } });
  expect(answered.status).toBe(401);
  expect(await server.stop()).toBe(0);
  const lines = server
    .output()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { requestId?: string; msg?: string });
  expect(lines.some((l) => l.requestId === 'last-before-sigterm')).toBe(true);
  expect(lines.at(-1)?.msg).toBe('shutting down');
});

test('a mock whose stdout nobody reads keeps answering (log lines wait or drop; the event loop never blocks)', async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  // stdout is a pipe this test never reads: it fills after 64 KiB of log lines.
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'mock', 'main.js')], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    const url = `http://127.0.0.1:${port}`;
    for (let tries = 0; ; tries++) {
      const up = await fetch(`${url}/__admin/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (tries > 600) throw new Error('the mock did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    // About 2,000 request lines (over 400 KiB): far more than the pipe holds.
    let answered = 0;
    const worker = async (): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`${url}/api/energy/premises`, { headers: key });
        await res.arrayBuffer();
        if (res.status === 401) answered += 1;
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    expect(answered).toBe(2000);
  } finally {
    child.kill('SIGKILL');
  }
}, 90_000);

/**
 * What the built mock loaded once `startMock` settled for `store`: whether any ioredis module is in
 * Node's module cache, and the start-up error, if any (one child process per call).
 */
function storeStart(store: string): { ioredisLoaded: boolean; error?: string } {
  const dist = (file: string): string => JSON.stringify(join(ROOT, 'dist', 'mock', file));
  const script = `
    const { loadConfig } = require(${dist('config.js')});
    const { startMock } = require(${dist('server.js')});
    const loaded = () => Object.keys(require.cache).some((k) => k.includes('/node_modules/ioredis/'));
    startMock(loadConfig({ port: 0, host: '127.0.0.1', logLevel: 'silent', store: ${JSON.stringify(store)} })).then(
      async (mock) => { const ioredisLoaded = loaded(); await mock.close(0); console.log(JSON.stringify({ ioredisLoaded })); },
      (err) => console.log(JSON.stringify({ ioredisLoaded: loaded(), error: err.message })),
    );`;
  const run = spawnSync(process.execPath, ['-e', script], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as {
    ioredisLoaded: boolean;
    error?: string;
  };
}

test('a memory store never loads the Redis client; a Redis URL loads it and still says in one line what is wrong', async () => {
  expect(storeStart('memory')).toEqual({ ioredisLoaded: false });
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as AddressInfo).port;
  probe.close();
  await once(probe, 'close');
  expect(storeStart(`redis://127.0.0.1:${port}/0`)).toEqual({
    ioredisLoaded: true,
    error: `--store (PROCODE_STORE)="redis://127.0.0.1:${port}/0": nothing listens on 127.0.0.1:${port}: start redis-server, or fix the URL`,
  });
}, 90_000);
