import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import personas from '../../fixtures/personas.json';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { containerEnv, loadCompose, onLoopback } from '../helpers/compose';
import { describeWithRedis, startRedis } from '../helpers/redis-server';
import type { RedisServer } from '../helpers/redis-server';
import { startServer } from '../helpers/server';
import type { RunningServer } from '../helpers/server';

/**
 * Issue 12, stage 3: two real mock processes (`node dist/mock/main.js`) on two loopback ports, sharing one
 * real redis-server (started here, with its writes synced to a file so a stop and restart is an outage,
 * not a loss of data). What a team running the mock with two replicas behind a load balancer sees: a
 * client's requests may land on either, and the answers are those of one mock.
 *
 * Each replica runs as the image's entrypoint does (`cli.js serve`) with the environment a container of
 * docker-compose.yml's `shared` profile gets (the image's ENV, then `mock-a`'s or `mock-b`'s
 * `environment`, with no PROCODE_TOKEN_SECRET in the shell), changed only to run here: HOST and PORT on
 * loopback, and PROCODE_STORE's host and port moved from the `valkey` service to this redis-server.
 */
jest.setTimeout(60_000);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are read field by field
type Json = any;

/** An answer: status 0 when the connection failed (the replica died). */
interface Answer {
  status: number;
  body: Json;
  headers: Headers;
}

const KEY = { 'Ocp-Apim-Subscription-Key': personas.subscriptionKey };
const CLIENT = { client_id: personas.clientId, client_secret: personas.clientSecret };
const persona = (id: string): { username: string; password: string } =>
  personas.personas.find((p) => p.id === id)!;

async function api(base: string, path: string, init: RequestInit = {}): Promise<Answer> {
  try {
    const res = await fetch(base + path, { ...init, headers: { ...KEY, ...(init.headers as object) } });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  } catch {
    return { status: 0, body: undefined, headers: new Headers() };
  }
}

const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ ...fields, ...CLIENT }).toString(),
});

const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });

async function login(base: string, id: string): Promise<Answer> {
  const { username, password } = persona(id);
  return api(base, '/api/identity/auth/TokenRequest', form({ grant_type: 'password', username, password }));
}

function topUp(
  base: string,
  token: string,
  deviceId: string,
  amountPence: number,
  key: string,
): Promise<Answer> {
  return api(base, '/api/energy/payments', {
    method: 'POST',
    headers: { ...bearer(token), 'Content-Type': 'application/json', 'Idempotency-Key': key },
    body: JSON.stringify({ deviceId, amountPence, method: 'CARD', paymentToken: 'tok_test_approve' }),
  });
}

async function credit(base: string, token: string, deviceId: string): Promise<number> {
  const res = await api(base, `/api/energy/devices/${deviceId}/balance`, { headers: bearer(token) });
  expect(res.status).toBe(200);
  return res.body.creditBalancePence as number;
}

/** Waits until `probe` is true (at most `ms` milliseconds). */
async function until(probe: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await probe())) {
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The commands clients sent Redis (MONITOR; none from inside scripts) from the snapshot of the request
 * `work` sends until the journal push that follows its answer: each as its name (`script` for EVAL and EVALSHA) and, for
 * a script, the part of its first key after the namespace and generation (`meta`, `journal`,
 * `idem:<account>:<key>`).
 */
async function commandsDuring(port: number, work: () => Promise<unknown>): Promise<string[][]> {
  const monitor = await new Redis({ host: '127.0.0.1', port, lazyConnect: true }).monitor();
  const seen: string[][] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === 'lua') return;
    const command = args[0]!.toLowerCase();
    // EVAL the first time a connection runs a script, EVALSHA after.
    const name = command === 'eval' || command === 'evalsha' ? 'script' : command;
    const key = name === 'script' ? (args[3] ?? '').replace(/^procode:\{[^}]*\}:(g\d+:)?/, '') : '';
    seen.push(key ? [name, key] : [name]);
  });
  try {
    await work();
    // From the request's snapshot on: a journal push of an earlier request may come just before it.
    const start = (): number => seen.findIndex(([name, key]) => name === 'script' && key === 'meta');
    await until(async () => start() >= 0 && seen.slice(start()).some(([, key]) => key === 'journal'), 5000);
    return seen.slice(start());
  } finally {
    monitor.disconnect();
  }
}

/** One top-up a client sends: its key and amount are kept, so a retry is the same payment. */
interface TopUp {
  key: string;
  amountPence: number;
  answer: Answer;
}

describeWithRedis('two mock replicas sharing one Redis', () => {
  let redis: RedisServer;
  const compose = loadCompose();
  /** A container of `replica` (docker-compose.yml), on loopback. */
  const env = (replica: 'mock-a' | 'mock-b'): Record<string, string> => {
    const container = containerEnv(compose.services[replica]!);
    return {
      ...container,
      HOST: '127.0.0.1',
      PORT: '0',
      PROCODE_STORE: onLoopback(container.PROCODE_STORE!, redis.port),
    };
  };
  const startReplica = (replica: 'mock-a' | 'mock-b'): Promise<RunningServer> =>
    startServer(env(replica), ['serve']);
  let a: RunningServer;
  let b: RunningServer;
  let meterId = '';
  let seeded = 0;

  beforeAll(async () => {
    redis = await startRedis({ persist: true });
    // No token secret (compose passes an empty one): the replicas sign with the key the first of them
    // stored in Redis (SET NX).
    [a, b] = await Promise.all([startReplica('mock-a'), startReplica('mock-b')]);
  }, 90_000);

  afterAll(async () => {
    // Only those still running (one was killed by the last test): stop() waits for an exit to come.
    for (const server of [a, b])
      if (server && server.process.exitCode === null && server.process.signalCode === null)
        await server.stop();
    await redis?.close();
  });

  test('the README flow alternating between the replicas: login on A, premises on B, balance on A, payment on B, the payment on A, refresh on B', async () => {
    const token = await login(a.base, 'basic');
    expect(token.status).toBe(200);
    const auth = bearer(token.body.access_token);
    const premises = await api(b.base, '/api/energy/premises', { headers: auth });
    expect(premises.status).toBe(200);
    const sps = await api(a.base, `/api/energy/premises/${premises.body.items[0].premiseId}/servicepoints`, {
      headers: auth,
    });
    const elec = sps.body.items.find((s: Json) => s.fuelType === 'ELECTRICITY');
    const devices = await api(b.base, `/api/energy/servicepoints/${elec.servicePointId}/devices`, {
      headers: auth,
    });
    meterId = devices.body.items.find((d: Json) => d.deviceType === 'ESME').deviceId;
    seeded = await credit(a.base, token.body.access_token, meterId);
    const paid = await topUp(b.base, token.body.access_token, meterId, 1000, randomUUID());
    expect(paid.status).toBe(201);
    const got = await api(a.base, `/api/energy/payments/${paid.body.paymentId}`, { headers: auth });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(paid.body);
    expect(await credit(a.base, token.body.access_token, meterId)).toBe(seeded + 1000);
    expect(await credit(b.base, token.body.access_token, meterId)).toBe(seeded + 1000);
    const refreshed = await api(
      b.base,
      '/api/identity/auth/RefreshToken',
      form({ grant_type: 'refresh_token', refresh_token: token.body.refresh_token }),
    );
    expect(refreshed.status).toBe(200);
    const me = await api(a.base, '/api/identity/customers/me', {
      headers: bearer(refreshed.body.access_token),
    });
    expect(me.status).toBe(200);
    expect(me.body.accountNumber).toBe(personas.personas.find((p) => p.id === 'basic')!.accountNumber);
  });

  test('a GetBalance is one Redis command before its answer (the journal pushed after it), a MakePayment two; a top-up through B is seen by the next GetBalance on A', async () => {
    const token = (await login(a.base, 'basic')).body.access_token as string;
    const balance = async (base: string): Promise<number> => credit(base, token, meterId);
    const requestId = randomUUID();
    const read = await commandsDuring(redis.port, async () => {
      const res = await api(a.base, `/api/energy/devices/${meterId}/balance`, {
        headers: { ...bearer(token), 'X-Request-ID': requestId },
      });
      expect(res.status).toBe(200);
    });
    expect(read).toEqual([
      ['script', 'meta'],
      ['script', 'journal'],
    ]);
    // The journal pushed after the answer is shared: B lists the request A answered, redacted.
    const journal = await api(b.base, '/__admin/requests?operationId=GetBalance&limit=1');
    expect(journal.body.items[0]).toMatchObject({
      requestId,
      status: 200,
      request: { headers: { authorization: 'Bearer [redacted]' } },
    });
    const before = await balance(a.base);
    const paid = await commandsDuring(redis.port, async () => {
      expect((await topUp(a.base, token, meterId, 100, randomUUID())).status).toBe(201);
    });
    // Ids are reserved 16 at a time (INCRBY of the payment and UTRN sequences), so now and then.
    expect(paid.filter(([command]) => command !== 'incrby')).toEqual([
      ['script', 'meta'],
      ['script', expect.stringMatching(/^idem:/)],
      ['script', 'journal'],
    ]);
    expect(await balance(a.base)).toBe(before + 100);
    expect((await topUp(b.base, token, meterId, 250, randomUUID())).status).toBe(201);
    expect(await balance(a.base)).toBe(before + 350);
    // A's own view of the meter is out of date now: its next top-up still adds to the current balance.
    expect((await topUp(a.base, token, meterId, 150, randomUUID())).status).toBe(201);
    expect(await balance(b.base)).toBe(before + 500);
    expect(await balance(a.base)).toBe(before + 500);
  });

  test('a code sent through A (read from either outbox) verifies through B', async () => {
    const first = await login(a.base, 'two-factor');
    expect(first.body.scope).toBe('otp');
    const sent = await api(a.base, '/api/identity/authorisation/SendOTP', {
      method: 'POST',
      headers: { ...bearer(first.body.access_token), 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel: 'sms' }),
    });
    expect(sent.status).toBe(202);
    const onB = await api(b.base, `/__admin/outbox?otpId=${sent.body.otpId}`);
    const onA = await api(a.base, `/__admin/outbox?otpId=${sent.body.otpId}`);
    expect(onB.body).toHaveLength(1);
    expect(onA.body).toEqual(onB.body);
    const verified = await api(b.base, '/api/identity/authorisation/VerifyOTP', {
      method: 'POST',
      headers: { ...bearer(first.body.access_token), 'Content-Type': 'application/json' },
      body: JSON.stringify({ otpId: sent.body.otpId, code: onB.body[0].code }),
    });
    expect(verified.status).toBe(200);
    expect(verified.body.scope).toBe('customer');
    const me = await api(a.base, '/api/identity/customers/me', {
      headers: bearer(verified.body.access_token),
    });
    expect(me.status).toBe(200);
  });

  test('200 concurrent top-ups split across both replicas: the balance is the seeded one plus exactly the 201s', async () => {
    const token = (await login(b.base, 'basic')).body.access_token as string;
    const before = await credit(a.base, token, meterId);
    const sent: TopUp[] = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const key = randomUUID();
        const amountPence = 100 + i;
        return {
          key,
          amountPence,
          answer: await topUp(i % 2 ? a.base : b.base, token, meterId, amountPence, key),
        };
      }),
    );
    const statuses = sent.map((t) => t.answer.status);
    const paid = sent.filter((t) => t.answer.status === 201);
    expect(statuses.filter((s) => s !== 201)).toEqual([]);
    expect(new Set(paid.map((t) => t.answer.body.paymentId)).size).toBe(paid.length);
    const sum = paid.reduce((n, t) => n + t.amountPence, 0);
    expect(await credit(a.base, token, meterId)).toBe(before + sum);
    expect(await credit(b.base, token, meterId)).toBe(before + sum);
  });

  test('50 concurrent requests with one Idempotency-Key across both replicas make exactly one payment', async () => {
    const token = (await login(a.base, 'basic')).body.access_token as string;
    const before = await credit(b.base, token, meterId);
    const key = randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => topUp(i % 2 ? a.base : b.base, token, meterId, 777, key)),
    );
    expect(answers.map((r) => r.status)).toEqual(answers.map(() => 201));
    expect(new Set(answers.map((r) => r.body.paymentId)).size).toBe(1);
    expect(answers.filter((r) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    expect(await credit(a.base, token, meterId)).toBe(before + 777);
  });

  test('a reset through B is seen by A: the old token is refused and the payments are gone', async () => {
    const old = (await login(a.base, 'basic')).body.access_token as string;
    const paid = await topUp(a.base, old, meterId, 500, randomUUID());
    expect(paid.status).toBe(201);
    const reset = await api(b.base, '/__admin/reset', { method: 'POST' });
    expect(reset.status).toBeLessThan(300);
    for (const base of [a.base, b.base]) {
      const refused = await api(base, '/api/identity/customers/me', { headers: bearer(old) });
      expect(refused.status).toBe(401);
    }
    const token = (await login(a.base, 'basic')).body.access_token as string;
    const gone = await api(a.base, `/api/energy/payments/${paid.body.paymentId}`, { headers: bearer(token) });
    expect(gone.status).toBe(404);
    const list = await api(b.base, '/api/energy/payments', { headers: bearer(token) });
    expect(list.body.total).toBe(0);
    expect(await credit(a.base, token, meterId)).toBe(seeded);
    expect(await credit(b.base, token, meterId)).toBe(seeded);
  });

  test('Redis stopped mid-run: 503 problem+json with Retry-After on both; after its restart both recover with nothing half-applied', async () => {
    const token = (await login(a.base, 'basic')).body.access_token as string;
    const before = await credit(a.base, token, meterId);
    const send = (i: number, key: string = randomUUID()): Promise<TopUp> =>
      topUp(i % 2 ? a.base : b.base, token, meterId, 200 + i, key).then((answer) => ({
        key,
        amountPence: 200 + i,
        answer,
      }));
    const inFlight = Promise.all(Array.from({ length: 60 }, (_, i) => send(i)));
    await new Promise((r) => setTimeout(r, 20));
    await redis.stop();
    const sent = await inFlight;
    for (const answer of sent.map((t) => t.answer)) {
      expect([201, 503]).toContain(answer.status);
      if (answer.status === 503) {
        expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(answer.body.type).toBe('https://procode.example/problems/service-unavailable');
        expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
      }
    }
    for (const base of [a.base, b.base]) {
      const down = await api(base, `/api/energy/devices/${meterId}/balance`, { headers: bearer(token) });
      expect(down.status).toBe(503);
      expect(down.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(down.body.status).toBe(503);
      expect(Number(down.headers.get('retry-after'))).toBeGreaterThan(0);
      const health = await api(base, '/__admin/health');
      expect(health.status).toBe(200);
      expect(health.body.store).toMatchObject({ kind: 'redis', status: 'down' });
      const paying = await topUp(base, token, meterId, 999, randomUUID());
      expect(paying.status).toBe(503);
      expect(paying.headers.get('retry-after')).not.toBeNull();
    }
    await redis.restart();
    for (const base of [a.base, b.base]) {
      await until(async () => {
        const res = await api(base, `/api/energy/devices/${meterId}/balance`, { headers: bearer(token) });
        return res.status === 200;
      }, 15_000);
    }
    // A client retries a 503 with the same Idempotency-Key: each payment is made once, never twice.
    for (const [i, t] of sent.entries()) {
      if (t.answer.status === 503) sent[i] = await send(i, t.key);
    }
    expect(sent.map((t) => t.answer.status)).toEqual(sent.map(() => 201));
    expect(new Set(sent.map((t) => t.answer.body.paymentId)).size).toBe(sent.length);
    const sum = sent.reduce((n, t) => n + t.amountPence, 0);
    expect(await credit(a.base, token, meterId)).toBe(before + sum);
    expect(await credit(b.base, token, meterId)).toBe(before + sum);
  });

  test('Redis restarted without its data: both replicas recover as after a reset, and a replica started later signs alike', async () => {
    const old = (await login(a.base, 'basic')).body.access_token as string;
    expect((await topUp(b.base, old, meterId, 400, randomUUID())).status).toBe(201);
    await redis.stop();
    rmSync(join(redis.dir, 'appendonlydir'), { recursive: true, force: true });
    await redis.restart();
    for (const base of [a.base, b.base]) {
      await until(
        async () => (await api(base, '/api/energy/premises', { headers: bearer(old) })).status !== 503,
        15_000,
      );
      // What the old token stood for is gone: it is refused, as after a reset, on both.
      expect((await api(base, '/api/identity/customers/me', { headers: bearer(old) })).status).toBe(401);
    }
    const token = (await login(a.base, 'basic')).body.access_token as string;
    expect(await credit(b.base, token, meterId)).toBe(seeded);
    const c = await startReplica('mock-b');
    try {
      const me = await api(c.base, '/api/identity/customers/me', { headers: bearer(token) });
      expect(me.status).toBe(200);
      const fromC = (await login(c.base, 'basic')).body.access_token as string;
      expect((await api(a.base, '/api/identity/customers/me', { headers: bearer(fromC) })).status).toBe(200);
    } finally {
      await c.stop();
    }
  });

  test('SIGKILL of one replica during concurrent top-ups: the balance is the sum of the payments answered 201', async () => {
    const token = (await login(a.base, 'basic')).body.access_token as string;
    const before = await credit(a.base, token, meterId);
    let answeredByB = 0;
    const sent: TopUp[] = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const key = randomUUID();
        const amountPence = 300 + i;
        const onB = i % 2 === 0;
        const answer = await topUp(onB ? b.base : a.base, token, meterId, amountPence, key);
        if (onB && answer.status !== 0 && (answeredByB += 1) === 5) b.process.kill('SIGKILL');
        return { key, amountPence, answer };
      }),
    );
    await new Promise((r) =>
      b.process.exitCode !== null || b.process.signalCode !== null ? r(undefined) : b.process.once('exit', r),
    );
    const answered = sent.filter((t) => t.answer.status === 201);
    const lost = sent.filter((t) => t.answer.status === 0);
    expect(sent.filter((t) => t.answer.status !== 201 && t.answer.status !== 0)).toEqual([]);
    expect(lost.length).toBeGreaterThan(0);
    const after = await credit(a.base, token, meterId);
    // A request B never answered was applied whole or not at all: its retry on A replays it or makes it.
    let applied = 0;
    for (const t of lost) {
      const retry = await topUp(a.base, token, meterId, t.amountPence, t.key);
      expect(retry.status).toBe(201);
      if (retry.headers.get('idempotent-replayed') === 'true') applied += t.amountPence;
      t.answer = retry;
    }
    expect(after).toBe(before + answered.reduce((n, t) => n + t.amountPence, 0) + applied);
    expect(await credit(a.base, token, meterId)).toBe(before + sent.reduce((n, t) => n + t.amountPence, 0));
  });
});
