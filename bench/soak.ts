/**
 * The soak of `npm run bench` (issue 11): a mixed workload against one mock child for a bounded time, to
 * see whether throughput holds and memory stays flat over a long run.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import personas from '../fixtures/personas.json';
import { MockClient, SUBSCRIPTION_KEY, apiHeaders } from './client';
import type { Reply } from './client';
import { memoryAfterGc, round1, startMockWithGc } from './memory';
import type { MemoryAfterGc } from './memory';

/** Concurrent clients of the workload (each waits for its reply before its next request). */
const CONCURRENCY = 8;
/** Requests of the mix before the baseline memory is taken. */
const WARM_UP_REQUESTS = 2_000;
/** Targets: the last window's req/s at least this share of the first's; memory growth at most this. */
export const SOAK_TARGETS = Object.freeze({
  minLastToFirst: 0.9,
  /** RSS after GC may grow by at most the larger of 10% and 20 MiB from the post-warm-up baseline. */
  maxRssGrowthShare: 0.1,
  maxRssGrowthMiB: 20,
});

/** The soak's figures (JSON output). */
export interface SoakResult {
  durationS: number;
  concurrency: number;
  requests: number;
  /** Length of the first and last window, in s (60, or a fifth of a shorter soak). */
  windowS: number;
  firstWindowRps: number;
  lastWindowRps: number;
  lastToFirst: number;
  throughputOk: boolean;
  /** After the warm-up and after the soak, each after a GC. */
  memoryStart: MemoryAfterGc;
  memoryEnd: MemoryAfterGc;
  rssGrowthMiB: number;
  memoryFlat: boolean;
  /** Replies per operation and status, e.g. `{ "MakePayment 201": 1200 }`. */
  statuses: Record<string, number>;
  /** Replies with a status the workload did not expect (see `EXPECTED`). */
  unexpected: number;
  /** Payments in the mock's overlay at the end (each top-up is kept: the store grows by design). */
  paymentsStored: number;
}

/** One step of the mix: an operation and the statuses it may answer. */
interface Step {
  operationId: string;
  expected: readonly number[];
  run(): Promise<Reply>;
}

const basicAuth = `Basic ${Buffer.from(`${personas.clientId}:${personas.clientSecret}`).toString('base64')}`;

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

/** TokenRequest (password grant) for a persona; the token response. */
async function tokenRequest(
  client: MockClient,
  personaId: string,
): Promise<{ access_token: string; refresh_token: string }> {
  const p = personas.personas.find((x) => x.id === personaId)!;
  const reply = await client.send(
    'POST',
    '/api/identity/auth/TokenRequest',
    tokenHeaders(),
    form({ grant_type: 'password', username: p.username, password: p.password }),
  );
  if (reply.status !== 200) throw new Error(`soak: login of ${personaId}: ${reply.status} ${reply.body}`);
  return JSON.parse(reply.body) as { access_token: string; refresh_token: string };
}

function tokenHeaders(): Record<string, string> {
  return {
    'content-type': 'application/x-www-form-urlencoded',
    authorization: basicAuth,
    'ocp-apim-subscription-key': SUBSCRIPTION_KEY,
  };
}

/**
 * The mix, 20 steps, repeated in order by every client: 10 reads (GetBalance, ListPremises, GetCustomer,
 * GetDevice), 3 top-ups (MakePayment with a new Idempotency-Key) and 1 replay of the last one, 2
 * ListPayments pages walking back through the history, 1 login (TokenRequest), 1 RefreshToken, 1 SendOTP
 * (202, or 429 once the two-factor persona's 5 codes per 15 minutes are used), 1 GetPayment.
 */
async function buildMix(client: MockClient): Promise<Step[]> {
  const session = await client.login('basic');
  // The refresh token of the latest login, as a client keeps it: the mock keeps at most
  // --refresh-tokens-per-account (100) logins per account, so the first login's is revoked soon.
  let refresh = (await tokenRequest(client, 'basic')).refresh_token;
  const otp = (await tokenRequest(client, 'two-factor')).access_token;
  const api = apiHeaders(session.accessToken);
  const json = { ...api, 'content-type': 'application/json' };
  const get = (operationId: string, path: string): Step => ({
    operationId,
    expected: [200],
    run: () => client.send('GET', path, api),
  });
  let lastKey = randomUUID();
  let lastPaymentId: string | undefined;
  let page = 0;
  const topUp = JSON.stringify({
    deviceId: session.deviceId,
    amountPence: 100,
    method: 'CARD',
    paymentToken: personas.paymentTokens.approve,
  });
  const pay = (replay: boolean): Step => ({
    operationId: replay ? 'MakePayment (replay)' : 'MakePayment',
    expected: [201],
    run: async () => {
      if (!replay) lastKey = randomUUID();
      const reply = await client.send(
        'POST',
        '/api/energy/payments',
        { ...json, 'idempotency-key': lastKey },
        topUp,
      );
      if (reply.status === 201) lastPaymentId = (JSON.parse(reply.body) as { paymentId: string }).paymentId;
      return reply;
    },
  });
  const balance = get('GetBalance', `/api/energy/devices/${session.deviceId}/balance`);
  return [
    balance,
    get('ListPremises', '/api/energy/premises'),
    pay(false),
    get('GetCustomer', '/api/identity/customers/me'),
    balance,
    {
      operationId: 'ListPayments',
      expected: [200],
      run: () => client.send('GET', `/api/energy/payments?limit=20&offset=${20 * (page++ % 50)}`, api),
    },
    get('GetDevice', `/api/energy/devices/${session.deviceId}`),
    pay(false),
    pay(true),
    {
      operationId: 'TokenRequest',
      expected: [200],
      run: () => {
        const p = personas.personas.find((x) => x.id === 'basic')!;
        return client
          .send(
            'POST',
            '/api/identity/auth/TokenRequest',
            tokenHeaders(),
            form({ grant_type: 'password', username: p.username, password: p.password }),
          )
          .then((reply) => {
            if (reply.status === 200)
              refresh = (JSON.parse(reply.body) as { refresh_token: string }).refresh_token;
            return reply;
          });
      },
    },
    balance,
    get('ListPremises', '/api/energy/premises'),
    {
      operationId: 'RefreshToken',
      expected: [200],
      run: () =>
        client.send(
          'POST',
          '/api/identity/auth/RefreshToken',
          tokenHeaders(),
          form({ refresh_token: refresh }),
        ),
    },
    pay(false),
    get('GetCustomer', '/api/identity/customers/me'),
    {
      operationId: 'SendOTP',
      expected: [202, 429],
      run: () =>
        client.send(
          'POST',
          '/api/identity/authorisation/SendOTP',
          { ...apiHeaders(otp), 'content-type': 'application/json' },
          '{"channel":"sms"}',
        ),
    },
    balance,
    {
      operationId: 'ListPayments',
      expected: [200],
      run: () => client.send('GET', `/api/energy/payments?limit=20&offset=${20 * (page++ % 50)}`, api),
    },
    {
      operationId: 'GetPayment',
      expected: [200],
      run: () => client.send('GET', `/api/energy/payments/${lastPaymentId ?? randomUUID()}`, api),
    },
    get('GetDevice', `/api/energy/devices/${session.deviceId}`),
  ];
}

/**
 * Runs the soak: starts a mock child (default settings, `--expose-gc` through the preload), warms it up
 * with `WARM_UP_REQUESTS` of the mix, takes RSS after a GC, runs the mix for `durationS` seconds over
 * `CONCURRENCY` clients, takes RSS after a GC again, and compares the first and last windows' req/s.
 * @param durationS length of the measured soak, in s.
 * @returns the figures and the report's lines.
 * @throws when the mock cannot start or log in.
 */
export async function runSoak(durationS: number): Promise<{ result: SoakResult; lines: string[] }> {
  const server = await startMockWithGc('mock (soak)');
  const client = new MockClient(server.port);
  try {
    const mix = await buildMix(client);
    const statuses: Record<string, number> = {};
    let unexpected = 0;
    let firstUnexpected = '';
    /** Completions per whole second since the soak started. */
    const perSecond: number[] = [];
    let measuring = false;
    let started = 0;
    let stopAt = Infinity;
    let warmUpLeft = WARM_UP_REQUESTS;
    const worker = async (offset: number): Promise<void> => {
      for (let i = offset; ; i++) {
        if (measuring ? performance.now() >= stopAt : warmUpLeft-- <= 0) return;
        const step = mix[i % mix.length]!;
        const reply = await step.run();
        if (!measuring) continue;
        const key = `${step.operationId} ${reply.status}`;
        statuses[key] = (statuses[key] ?? 0) + 1;
        if (!step.expected.includes(reply.status)) {
          unexpected += 1;
          firstUnexpected ||= `${key}: ${reply.body.slice(0, 300)}`;
        }
        const second = Math.floor((performance.now() - started) / 1000);
        perSecond[second] = (perSecond[second] ?? 0) + 1;
      }
    };
    const offsets = Array.from({ length: CONCURRENCY }, (_, c) => Math.floor((c * mix.length) / CONCURRENCY));
    await Promise.all(offsets.map(worker));
    const memoryStart = await memoryAfterGc(server);
    measuring = true;
    started = performance.now();
    stopAt = started + durationS * 1000;
    await Promise.all(offsets.map(worker));
    const memoryEnd = await memoryAfterGc(server);
    const state = await client.send('GET', '/__admin/state');
    const paymentsStored = (JSON.parse(state.body) as { payments: unknown[] }).payments.length;

    const windowS = durationS >= 300 ? 60 : Math.max(1, Math.floor(durationS / 5));
    const seconds = Array.from({ length: durationS }, (_, s) => perSecond[s] ?? 0);
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    const firstWindowRps = sum(seconds.slice(0, windowS)) / windowS;
    const lastWindowRps = sum(seconds.slice(durationS - windowS)) / windowS;
    const lastToFirst = firstWindowRps > 0 ? lastWindowRps / firstWindowRps : 0;
    const rssGrowthMiB = round1(memoryEnd.rssMiB - memoryStart.rssMiB);
    const allowedGrowth = Math.max(
      memoryStart.rssMiB * SOAK_TARGETS.maxRssGrowthShare,
      SOAK_TARGETS.maxRssGrowthMiB,
    );
    const result: SoakResult = {
      durationS,
      concurrency: CONCURRENCY,
      requests: sum(seconds),
      windowS,
      firstWindowRps: round1(firstWindowRps),
      lastWindowRps: round1(lastWindowRps),
      lastToFirst: Math.round(lastToFirst * 100) / 100,
      throughputOk: lastToFirst >= SOAK_TARGETS.minLastToFirst,
      memoryStart,
      memoryEnd,
      rssGrowthMiB,
      memoryFlat: rssGrowthMiB <= allowedGrowth,
      statuses,
      unexpected,
      paymentsStored,
    };
    const ok = (b: boolean): string => (b ? 'ok' : 'MISSED');
    const lines = [
      `Soak: ${durationS} s of a mixed workload (reads, logins, RefreshToken, MakePayment with Idempotency-Keys and a replay, ListPayments pages, SendOTP) over ${CONCURRENCY} clients, after ${WARM_UP_REQUESTS} warm-up requests`,
      `  requests ${result.requests} (${round1(result.requests / durationS)} req/s); first ${windowS} s ${result.firstWindowRps} req/s, last ${windowS} s ${result.lastWindowRps} req/s: ratio ${result.lastToFirst} (target >= ${SOAK_TARGETS.minLastToFirst}) ${ok(result.throughputOk)}`,
      `  RSS after GC: ${memoryStart.rssMiB} MiB after warm-up -> ${memoryEnd.rssMiB} MiB at the end (${rssGrowthMiB >= 0 ? '+' : ''}${rssGrowthMiB} MiB; flat: at most +${round1(allowedGrowth)} MiB, the larger of +10% and +20 MiB) ${ok(result.memoryFlat)}; V8 heap used ${memoryStart.heapUsedMiB} -> ${memoryEnd.heapUsedMiB} MiB`,
      `  payments stored at the end: ${paymentsStored}; unexpected statuses: ${unexpected}${firstUnexpected ? ` (first: ${firstUnexpected})` : ''}`,
      `  replies: ${Object.entries(statuses)
        .sort()
        .map(([k, n]) => `${k}: ${n}`)
        .join(', ')}`,
    ];
    return { result, lines };
  } finally {
    client.close();
    await server.stop();
  }
}
