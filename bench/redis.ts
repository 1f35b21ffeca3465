/**
 * The Redis part of `npm run bench` (issue 12; `--only redis`): GetBalance and MakePayment on a mock whose
 * store is Redis, against the same on a mock with the memory store, in one run on 127.0.0.1. Its own
 * redis-server (bench/redis-server.ts: a free loopback port, a temporary folder, nothing persisted) is
 * started first and stopped at the end; without redis-server the part says it is skipped.
 *
 * Both mocks run at the default settings (log level info, a JSON line per request to a pipe that `cat`
 * reads, the journal on) with scenario control on, as in the throughput part: a fault rule the pipeline
 * checks on every call (it names ListPremises, which is not loaded) and `Prefer: delay=0`. GetBalance
 * reads the `basic` persona's ESME, which no client changes (the read of an untouched entity). MakePayment
 * is 50 customers topping up at once, one per connection, each its own prepayment meter (the world's
 * first registered accounts with one, tokens from `POST /__admin/tokens`), a new Idempotency-Key per
 * request (`tok_test_approve`, 100p).
 *
 * Each round loads the memory and the Redis mock in turn (the first alternating from round to round), for
 * each operation; the figures are the medians of the rounds' ratios Redis / memory (target for GetBalance:
 * req/s at least 0.8). The machine's other load, shared cores and the load generator in this process hit
 * both alike; redis-server's own CPU per request is reported beside the mock's.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import type { ServerProcess } from './children';
import { MockClient, apiHeaders } from './client';
import {
  CONNECTIONS,
  LOAD_WARM_UP_S,
  clean,
  int,
  load,
  median,
  medianRun,
  round,
  startMock,
  stopServer,
  table,
  verdict,
} from './load';
import type { LoadFigures, LoadTarget } from './load';
import { redisAvailable, startRedis } from './redis-server';
import { World } from '../fixtures/world';

/** The target: GetBalance with Redis at least this share of the memory store's req/s. */
export const MIN_GET_BALANCE_RATIO = 0.8;
/** Accounts and seed of the mocks' world (the defaults). */
const ACCOUNTS = 1000;
const SEED = 42;
/** Why the part is skipped where redis-server is missing. */
export const REDIS_BENCH_SKIPPED = 'skipped: redis-server not installed (apt-get install -y redis-server)';

/** One operation's figures, memory against Redis. */
export interface StoreComparison {
  /** Each store's figures: the round with the median req/s. */
  memory: LoadFigures;
  redis: LoadFigures;
  /** Median over the rounds of Redis / memory req/s. */
  rpsRatio: number;
  /** Each round's ratio, in order. */
  rpsRatioRounds: number[];
  /** Median over the rounds of Redis / memory p99 latency. */
  p99Ratio: number;
  /** redis-server's CPU time per request of the Redis mock, in µs (median over the rounds). */
  redisServerCpuUsPerRequest: number;
}

/** The Redis part's figures (JSON output). */
export interface RedisBenchResult {
  /** Set when the part did not run, saying why. */
  skipped?: string;
  connections?: number;
  durationS?: number;
  rounds?: number;
  getBalance?: StoreComparison;
  makePayment?: StoreComparison;
  minGetBalanceRatio?: number;
  getBalanceOk?: boolean;
  /** Whether every reply under load (every run, both stores) was a 2xx without socket errors. */
  all2xx?: boolean;
  /** 1-minute load average before and after the load runs. */
  loadAverage1m?: { start: number; end: number };
}

/** A mock with `store` ready for load: the GetBalance and MakePayment it is loaded with. */
interface Ready {
  server: ServerProcess;
  getBalance: LoadTarget;
  makePayment: LoadTarget;
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** A customer of the MakePayment load: its account and its prepayment meter. */
interface Payer {
  accountNumber: string;
  deviceId: string;
}

/**
 * The world's first `count` registered accounts with a prepayment electricity meter, the `basic` persona
 * left out (its meter is the one GetBalance reads, untouched).
 */
function payers(count: number): Payer[] {
  const world = new World({ seed: SEED, accounts: ACCOUNTS });
  const found: Payer[] = [];
  for (let i = 0; i < world.accounts && found.length < count; i++) {
    const account = world.account(i);
    if (!account.registered || account.persona === 'basic') continue;
    const meter = account.premises
      .flatMap((p) => p.servicePoints)
      .flatMap((sp) => sp.devices)
      .find((d) => d.device.deviceType === 'ESME' && d.balance);
    if (meter) found.push({ accountNumber: account.accountNumber, deviceId: meter.device.deviceId });
  }
  if (found.length < count) throw new Error(`only ${found.length} accounts with a prepayment meter`);
  return found;
}

/** Starts a mock with `store` (`memory` or a Redis URL) and prepares its two loads. */
async function readyMock(store: string, name: string): Promise<Ready> {
  const { server } = await startMock(
    ACCOUNTS,
    'info',
    'pipe',
    { PROCODE_STORE: store, SEED: String(SEED) },
    name,
  );
  const client = new MockClient(server.port);
  try {
    const reader = await client.login('basic');
    const base = `http://127.0.0.1:${server.port}`;
    const customers = await Promise.all(
      payers(CONNECTIONS).map(async (payer) => {
        const issued = await fetch(`${base}/__admin/tokens`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ accountNumber: payer.accountNumber }),
        });
        if (issued.status !== 201) throw new Error(`no token for ${payer.accountNumber}: ${issued.status}`);
        const token = ((await issued.json()) as { access_token: string }).access_token;
        const body = JSON.stringify({
          deviceId: payer.deviceId,
          amountPence: 100,
          method: 'CARD',
          paymentToken: 'tok_test_approve',
        });
        return { authorization: `Bearer ${token}`, body };
      }),
    );
    let next = 0;
    const fault = await fetch(`http://127.0.0.1:${server.port}/__admin/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ operationId: 'ListPremises', status: 503 }),
    });
    if (fault.status !== 201) throw new Error(`could not add the bench's fault rule: ${fault.status}`);
    return {
      server,
      getBalance: {
        url: `${base}/api/energy/devices/${reader.deviceId}/balance`,
        headers: { ...apiHeaders(reader.accessToken), Prefer: 'delay=0' },
      },
      makePayment: {
        url: `${base}/api/energy/payments`,
        method: 'POST',
        headers: { ...apiHeaders(''), 'content-type': 'application/json', Prefer: 'delay=0' },
        // Each connection is one customer: its token and meter, a new Idempotency-Key per top-up.
        each: (connection) => {
          const customer = (connection.customer ??= customers[next++ % customers.length]!) as {
            authorization: string;
            body: string;
          };
          return {
            headers: { authorization: customer.authorization, 'idempotency-key': randomUUID() },
            body: customer.body,
          };
        },
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  } finally {
    client.close();
  }
}

/** Runs the part: `rounds` rounds of `durationS` s per load run (plus a 1 s warm-up each). */
export async function runRedisBench(
  durationS: number,
  rounds: number,
  notes: string[],
): Promise<{ lines: string[]; result: RedisBenchResult }> {
  if (!redisAvailable())
    return { lines: [`Redis store: ${REDIS_BENCH_SKIPPED}`], result: { skipped: REDIS_BENCH_SKIPPED } };
  const loadStart = loadavg()[0] ?? 0;
  const redis = await startRedis();
  const mocks: Ready[] = [];
  try {
    mocks.push(await readyMock('memory', 'mock (memory store)'));
    mocks.push(await readyMock(redis.url, 'mock (Redis store)'));
    const [memory, shared] = mocks as [Ready, Ready];
    const operations = ['getBalance', 'makePayment'] as const;
    const runs = {
      getBalance: { memory: [] as LoadFigures[], redis: [] as LoadFigures[] },
      makePayment: { memory: [] as LoadFigures[], redis: [] as LoadFigures[] },
    };
    for (let r = 1; r <= rounds; r++) {
      for (const op of operations) {
        // The store loaded first alternates from round to round.
        const order = r % 2 === 1 ? (['memory', 'redis'] as const) : (['redis', 'memory'] as const);
        for (const store of order) {
          const mock = store === 'memory' ? memory : shared;
          const figures = await load(
            mock.server,
            mock[op],
            durationS,
            store === 'redis' ? redis.pid() : undefined,
          );
          if (mock.server.exitStatus())
            throw new Error(`${mock.server.name} died under load:\n${mock.server.output()}`);
          runs[op][store].push(figures);
          log(`redis round ${r}/${rounds}: ${op} ${store} ${figures.rps} req/s, p99 ${figures.p99Ms} ms`);
        }
      }
    }
    const compare = (op: (typeof operations)[number]): StoreComparison => {
      const { memory: m, redis: x } = runs[op];
      const rpsRatioRounds = x.map((f, i) => round(f.rps / m[i]!.rps, 3));
      const p99Rounds = x.map((f, i) => f.p99Ms / Math.max(m[i]!.p99Ms, 1));
      return {
        memory: medianRun(m),
        redis: medianRun(x),
        rpsRatio: round(median(rpsRatioRounds), 3),
        rpsRatioRounds,
        p99Ratio: round(median(p99Rounds), 3),
        redisServerCpuUsPerRequest: round(median(x.map((f) => f.otherCpuUsPerRequest ?? 0)), 1),
      };
    };
    const getBalance = compare('getBalance');
    const makePayment = compare('makePayment');
    const all2xx = operations.every((op) => [...runs[op].memory, ...runs[op].redis].every(clean));
    const result: RedisBenchResult = {
      connections: CONNECTIONS,
      durationS,
      rounds,
      getBalance,
      makePayment,
      minGetBalanceRatio: MIN_GET_BALANCE_RATIO,
      getBalanceOk: getBalance.rpsRatio >= MIN_GET_BALANCE_RATIO,
      all2xx,
      loadAverage1m: { start: round(loadStart, 2), end: round(loadavg()[0] ?? 0, 2) },
    };
    return { lines: report(result), result };
  } finally {
    for (const mock of mocks) await stopServer(mock.server, notes);
    await redis.close();
  }
}

/** The human-readable table of the part. */
function report(r: RedisBenchResult): string[] {
  const gb = r.getBalance!;
  const mp = r.makePayment!;
  const row = (name: string, f: LoadFigures, redisCpu?: number): string[] => [
    name,
    int(f.rps),
    String(f.p50Ms),
    String(f.p99Ms),
    int(f.requests),
    f.cpuUsPerRequest.toFixed(0),
    redisCpu === undefined ? '' : redisCpu.toFixed(0),
    String(f.non2xx),
    String(f.errors + f.timeouts),
  ];
  return [
    `Redis store: ${r.connections} connections, ${r.durationS} s per run (after a ${LOAD_WARM_UP_S} s warm-up), ` +
      `${r.rounds} rounds of memory and Redis in turn (each row: its median round); ` +
      `load average ${r.loadAverage1m!.start} -> ${r.loadAverage1m!.end}`,
    table([
      [
        'mock (info > pipe, journal on)',
        'req/s',
        'p50 ms',
        'p99 ms',
        'requests',
        'mock CPU µs/req',
        'redis CPU µs/req',
        'non-2xx',
        'errors',
      ],
      row('GetBalance, memory store', gb.memory),
      row('GetBalance, Redis store', gb.redis, gb.redisServerCpuUsPerRequest),
      row('MakePayment, memory store', mp.memory),
      row('MakePayment, Redis store', mp.redis, mp.redisServerCpuUsPerRequest),
    ]),
    '',
    table([
      ['ratio (Redis / memory), median of rounds', 'value', 'rounds', 'target', ''],
      [
        'GetBalance req/s',
        gb.rpsRatio.toFixed(2),
        gb.rpsRatioRounds.map((v) => v.toFixed(2)).join('/'),
        `>= ${MIN_GET_BALANCE_RATIO.toFixed(2)}`,
        verdict(r.getBalanceOk!),
      ],
      ['GetBalance p99', gb.p99Ratio.toFixed(2), '', '', ''],
      [
        'MakePayment req/s',
        mp.rpsRatio.toFixed(2),
        mp.rpsRatioRounds.map((v) => v.toFixed(2)).join('/'),
        '',
        '',
      ],
      ['MakePayment p99', mp.p99Ratio.toFixed(2), '', '', ''],
      ['all replies 2xx', r.all2xx ? 'yes' : 'NO', '', 'yes', verdict(r.all2xx!)],
    ]),
  ];
}
