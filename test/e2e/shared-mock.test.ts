/**
 * The README's harness command against a mock a developer is using (issue 9, "safe by default"): the
 * run keeps the mock's state, says so in one line, and the developer's session (access token, refresh
 * token, payment) still works afterwards, run after run. `--reset` is the one way to a clean state, and
 * it says what it revokes.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ROOT, startServer } from '../helpers/server';
import type { RunningServer } from '../helpers/server';
import personas from '../../fixtures/personas.json';

const basic = personas.personas.find((p) => p.id === 'basic')!;
const KEY = personas.subscriptionKey;
const CLIENT = 'Basic ' + Buffer.from(`${personas.clientId}:${personas.clientSecret}`).toString('base64');

let server: RunningServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

/** `npx procode-contract --target mock` as the README gives it, pointed at this test's server. */
function harness(...args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(ROOT, 'dist', 'harness', 'cli.js'), '--target', 'mock', '--quiet', ...args],
      { env: { PATH: process.env.PATH ?? '', PROCODE_BASE_URL: server.base } },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

async function call(path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const headers: Record<string, string> = { 'Ocp-Apim-Subscription-Key': KEY, Accept: 'application/json' };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  return fetch(server.base + path, { ...init, headers: { ...headers, ...(init.headers as object) } });
}

async function login(): Promise<{ access_token: string; refresh_token: string }> {
  const res = await call('/api/identity/auth/TokenRequest', {
    method: 'POST',
    headers: { Authorization: CLIENT, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', username: basic.username, password: basic.password }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { access_token: string; refresh_token: string };
}

test("runs against a developer's mock leave the developer's session working, run after run", async () => {
  // The developer logs in and tops up their prepayment meter.
  const session = await login();
  const get = async <T>(path: string): Promise<T> =>
    (await (await call(path, { token: session.access_token })).json()) as T;
  type Page<T> = { items: T[] };
  const [premise] = (await get<Page<{ premiseId: string }>>('/api/energy/premises')).items;
  let deviceId: string | undefined;
  for (const sp of (
    await get<Page<{ servicePointId: string }>>(`/api/energy/premises/${premise!.premiseId}/servicepoints`)
  ).items)
    for (const d of (
      await get<Page<{ deviceId: string; paymentMode?: string }>>(
        `/api/energy/servicepoints/${sp.servicePointId}/devices`,
      )
    ).items)
      if (d.paymentMode === 'PREPAYMENT') deviceId ??= d.deviceId;
  expect(deviceId).toBeDefined();
  const paid = await call('/api/energy/payments', {
    method: 'POST',
    token: session.access_token,
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': randomUUID() },
    body: JSON.stringify({
      deviceId,
      amountPence: 700,
      method: 'CARD',
      paymentToken: personas.paymentTokens.approve,
    }),
  });
  expect(paid.status).toBe(201);
  const { paymentId } = (await paid.json()) as { paymentId: string };

  // Six runs: more than the account's SendOTP window allows (5 in 15 minutes), all green.
  for (let run = 1; run <= 6; run++) {
    const { code, out } = await harness();
    expect({ run, code, out }).toEqual({
      run,
      code: 0,
      out: expect.stringContaining("the mock's state is kept"),
    });
  }

  // The developer's payment, access token and refresh token still work.
  expect((await call(`/api/energy/payments/${paymentId}`, { token: session.access_token })).status).toBe(200);
  const me = await call('/api/identity/customers/me', { token: session.access_token });
  expect(me.status).toBe(200);
  const refreshed = await call('/api/identity/auth/RefreshToken', {
    method: 'POST',
    headers: { Authorization: CLIENT, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ refresh_token: session.refresh_token }),
  });
  expect(refreshed.status).toBe(200);
  // No fault rule left behind, the clock on the system clock.
  const faults = (await (await fetch(`${server.base}/__admin/faults`)).json()) as { items: unknown[] };
  expect(faults.items).toEqual([]);
  // Six harness processes, each starting Node.js and running the whole suite: 30 s is too tight on 2 cores.
}, 180_000);

test('--reset is the way to a clean state, and it says it revokes tokens', async () => {
  const session = await login();
  const { code, out } = await harness('--reset');
  expect(code).toBe(0);
  expect(out).toMatch(/resetting the mock first \(--reset\): every token it issued is revoked/);
  const me = await call('/api/identity/customers/me', { token: session.access_token });
  expect(me.status).toBe(401);
});
