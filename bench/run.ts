/**
 * `npm run bench`: the mock's scale and throughput figures, measured in one run on 127.0.0.1.
 *
 * 1. Scale: the real mock (`dist/mock/main.js`) with 1,000 and with 1,000,000 accounts, three times each,
 *    alternating: ms from spawn to the first answered `GET /__admin/health`, and the child's RSS after a
 *    warm-up with the `basic` persona's read flow. Medians and their ratio (target: within 20%).
 * 2. Throughput: autocannon (this process) against children: Express 5's hello world, then an
 *    authenticated GetBalance on the mock at the default settings (log level info, a JSON line per
 *    request to stdout, here a pipe that another process, `cat > /dev/null`, reads as a container
 *    runtime's log driver or a log shipper would), at info with stdout to /dev/null, and at warn (no
 *    request lines), with scenario control on: a fault rule (on another operation), `Prefer: delay=0`,
 *    the journal. The four servers run side by side, each warmed up once; then ROUNDS rounds of short
 *    runs: the hello world, then the three mocks (a different one first each round), and the hello world
 *    again after the last. Each mock run is compared with the hello world interpolated between the hello
 *    runs before and after it, so the shared machine's drift in speed (which moved a 5 s run of the same
 *    server by up to 60%) cancels out; the figures are the medians of those per-run ratios (targets, at
 *    the default info: req/s >= 0.7, p99 <= 2). Every mock reply must be 200.
 * 3. Redis store (bench/redis.ts): GetBalance and MakePayment on a mock with the Redis store (its own
 *    redis-server on a free loopback port) against a mock with the memory store, REDIS_ROUNDS rounds in turn;
 *    medians of the rounds' ratios Redis / memory (target: GetBalance req/s >= 0.8). Skipped, saying so,
 *    where redis-server is not installed.
 *
 * 4. Soak (bench/soak.ts): a mixed workload for `--soak <s>` (default 300); throughput of the first and
 *    last minute (fifth, when shorter) and RSS after a GC at start and end.
 * 5. Slow clients (bench/slow-clients.ts): slowloris, never-reading pipeliners and idle connections for
 *    `--slow <s>` (default 20) while a probe calls GetBalance; the probe's p50/p99, RSS and fds.
 *
 * Prints a table, then one JSON line `{"scale": ..., "throughput": ..., "redis": ..., "soak": ...,
 * "slowClients": ...}`, also written to `bench/results/latest.json`. Flags: `--duration <s>` (or env
 * `BENCH_DURATION`) per load run, default 3; `--only scale,throughput,redis,soak,slow` (or `BENCH_ONLY`)
 * runs those parts;
 * `--soak <s>` (`BENCH_SOAK_S`) and `--slow <s>` (`BENCH_SLOW_S`) set the lengths (bench/parts.ts).
 * Exit code 1 when a measurement fails or the mock answered anything but 200 (201 for MakePayment) under
 * load; a missed
 * performance target is reported, not an error.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { ServerProcess, freePort, killAllChildren } from './children';
import type { StdoutMode } from './children';
import { MockClient, apiHeaders } from './client';
import {
  CONNECTIONS,
  HEALTH_POLL_MS,
  LOAD_WARM_UP_S,
  ROOT,
  childEnv,
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
import { benchParts } from './parts';
import { runRedisBench } from './redis';
import { runSoak } from './soak';
import { runSlowClients } from './slow-clients';

const HELLO_MAIN = join(__dirname, 'hello.js');
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'latest.json');

const SMALL_WORLD = 1_000;
const LARGE_WORLD = 1_000_000;
const SCALE_REPEATS = 3;
const WARM_UP_REQUESTS = 3_000;
/** Seconds per measured load run: short runs, many rounds, so the machine's drift splits evenly. */
const DEFAULT_DURATION_S = 3;
/** Length of the discarded load run of each server of the throughput part before its first round, in s. */
const THROUGHPUT_WARM_UP_S = 2;
/** Rounds of the throughput runs: the hello world, then each mock, loaded in turn. */
const ROUNDS = 8;
/** Rounds of the Redis part (two operations on two mocks per round). */
const REDIS_ROUNDS = 5;

/** Targets of docs (ratios from the same run). */
const TARGETS = Object.freeze({
  /** Largest large-world / small-world ratio of start-up time and of RSS. */
  maxScaleRatio: 1.2,
  /** Smallest mock / hello-world ratio of req/s. */
  minRpsRatio: 0.7,
  /** Largest mock / hello-world ratio of p99 latency. */
  maxP99Ratio: 2,
});

/** One scale sample of one mock process. */
interface ScaleSample {
  /** From spawn to the first answered health check, in ms. */
  startupMs: number;
  /** RSS when the first health check answered, in KiB. */
  rssReadyKiB: number;
  /** RSS after the warm-up, in KiB. */
  rssKiB: number;
}

/** Medians of one world size. */
interface ScaleFigures {
  accounts: number;
  startupMs: number;
  rssMiB: number;
  rssReadyMiB: number;
  startupMsRuns: number[];
  rssMiBRuns: number[];
}

/** The scale section of the results. */
interface ScaleResult {
  repeats: number;
  warmUpRequests: number;
  small: ScaleFigures;
  large: ScaleFigures;
  startupRatio: number;
  rssRatio: number;
  maxRatio: number;
  ok: boolean;
}

/** The throughput section of the results. */
interface ThroughputResult {
  connections: number;
  durationS: number;
  rounds: number;
  /** Each server's figures: the round with the median req/s. */
  hello: LoadFigures;
  /** The default settings: log level info, JSON lines to stdout (a pipe). */
  mock: LoadFigures;
  /** Log level info, stdout to /dev/null. */
  mockInfoDevNull: LoadFigures;
  /** Log level warn: no request lines. */
  mockWarn: LoadFigures;
  /** Median over the rounds of mock / hello req/s: at info (the default; the target), to /dev/null, at warn. */
  rpsRatio: number;
  rpsRatioInfoDevNull: number;
  rpsRatioWarn: number;
  /** The ratio of each round, in order (info > pipe, info > /dev/null, warn). */
  rpsRatioRounds: { info: number[]; infoDevNull: number[]; warn: number[] };
  /** Median over the rounds of mock (info > pipe) / hello p99. */
  p99Ratio: number;
  /** Median over the rounds of mock (info > pipe) / hello server CPU per request (no target). */
  cpuRatio: number;
  /** 1-minute load average before and after the load runs (other work on the shared cores). */
  loadAverage1m: { start: number; end: number };
  minRpsRatio: number;
  maxP99Ratio: number;
  rpsOk: boolean;
  p99Ok: boolean;
  /** Whether every reply of the mock under load (every run) was a 200 without socket errors. */
  all200: boolean;
}

/** Seconds per load run from `--duration <s>`, `--duration=<s>` or `BENCH_DURATION`; default `DEFAULT_DURATION_S`. */
function durationSeconds(argv: readonly string[], env: NodeJS.ProcessEnv): number {
  let raw: string | undefined = env.BENCH_DURATION;
  argv.forEach((arg, i) => {
    if (arg === '--duration') raw = argv[i + 1];
    else if (arg.startsWith('--duration=')) raw = arg.slice('--duration='.length);
  });
  if (raw === undefined || raw === '') return DEFAULT_DURATION_S;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 60) {
    throw new Error(`--duration must be a whole number of seconds from 1 to 60, got "${raw}"`);
  }
  return n;
}

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** One scale sample: start-up time, then RSS after the persona's warm-up. */
async function scaleSample(accounts: number, notes: string[]): Promise<ScaleSample> {
  const { server, startupMs } = await startMock(accounts, 'warn', 'capture');
  const client = new MockClient(server.port);
  try {
    const rssReadyKiB = server.rssKiB();
    const session = await client.login('basic');
    await client.warmUp(session, WARM_UP_REQUESTS);
    return { startupMs, rssReadyKiB, rssKiB: server.rssKiB() };
  } finally {
    client.close();
    await stopServer(server, notes);
  }
}

function scaleFigures(accounts: number, samples: readonly ScaleSample[]): ScaleFigures {
  const mib = (kib: number): number => round(kib / 1024, 1);
  return {
    accounts,
    startupMs: round(median(samples.map((s) => s.startupMs)), 1),
    rssMiB: mib(median(samples.map((s) => s.rssKiB))),
    rssReadyMiB: mib(median(samples.map((s) => s.rssReadyKiB))),
    startupMsRuns: samples.map((s) => round(s.startupMs, 1)),
    rssMiBRuns: samples.map((s) => mib(s.rssKiB)),
  };
}

/** Scale: both world sizes, alternating, SCALE_REPEATS times each. */
async function measureScale(notes: string[]): Promise<ScaleResult> {
  const small: ScaleSample[] = [];
  const large: ScaleSample[] = [];
  for (let i = 1; i <= SCALE_REPEATS; i++) {
    for (const [accounts, samples] of [
      [SMALL_WORLD, small],
      [LARGE_WORLD, large],
    ] as const) {
      const sample = await scaleSample(accounts, notes);
      samples.push(sample);
      log(
        `scale ${i}/${SCALE_REPEATS}: ${accounts} accounts: start-up ${sample.startupMs.toFixed(0)} ms, ` +
          `RSS ${(sample.rssKiB / 1024).toFixed(1)} MiB`,
      );
    }
  }
  const s = scaleFigures(SMALL_WORLD, small);
  const l = scaleFigures(LARGE_WORLD, large);
  const startupRatio = round(l.startupMs / s.startupMs, 3);
  const rssRatio = round(l.rssMiB / s.rssMiB, 3);
  return {
    repeats: SCALE_REPEATS,
    warmUpRequests: WARM_UP_REQUESTS,
    small: s,
    large: l,
    startupRatio,
    rssRatio,
    maxRatio: TARGETS.maxScaleRatio,
    ok: startupRatio <= TARGETS.maxScaleRatio && rssRatio <= TARGETS.maxScaleRatio,
  };
}

/** A server under test and the request it is loaded with. */
interface Loaded {
  server: ServerProcess;
  target: LoadTarget;
}

/**
 * A mock ready for load on an authenticated GetBalance of the `basic` persona's ESME, with scenario
 * control on, as a test suite would have it: a fault rule the pipeline must check on every call (it
 * names another operation, so GetBalance still answers 200), `Prefer` parsed on every request, and the
 * request journal recording (default size).
 */
async function readyMock(logLevel: 'warn' | 'info', stdout: StdoutMode): Promise<Loaded> {
  const { server } = await startMock(SMALL_WORLD, logLevel, stdout);
  const client = new MockClient(server.port);
  try {
    const session = await client.login('basic');
    const fault = await fetch(`http://127.0.0.1:${server.port}/__admin/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ operationId: 'MakePayment', status: 503 }),
    });
    if (fault.status !== 201) throw new Error(`could not add the bench's fault rule: ${fault.status}`);
    const url = `http://127.0.0.1:${server.port}/api/energy/devices/${session.deviceId}/balance`;
    return { server, target: { url, headers: { ...apiHeaders(session.accessToken), Prefer: 'delay=0' } } };
  } catch (err) {
    await server.stop();
    throw err;
  } finally {
    client.close();
  }
}

/**
 * The hello world's figures a fraction `at` (0 to 1) of the way from run `a` to run `b`, linearly: what
 * it would have done while a mock was loaded between them, as the machine's speed drifted.
 */
function interpolate(a: LoadFigures, b: LoadFigures, at: number): LoadFigures {
  const mix = (x: number, y: number): number => x + (y - x) * at;
  return {
    ...a,
    rps: mix(a.rps, b.rps),
    p50Ms: mix(a.p50Ms, b.p50Ms),
    p99Ms: mix(a.p99Ms, b.p99Ms),
    cpuUsPerRequest: mix(a.cpuUsPerRequest, b.cpuUsPerRequest),
  };
}

/**
 * Throughput: hello world and the mock at its default settings (info, JSON lines to a pipe), at info
 * with stdout to /dev/null, and at warn, side by side, loaded in turn for ROUNDS rounds.
 */
async function measureThroughput(durationS: number, notes: string[]): Promise<ThroughputResult> {
  const loadStart = loadavg()[0] ?? 0;
  const port = await freePort();
  const helloServer = new ServerProcess(
    'express hello world',
    HELLO_MAIN,
    port,
    childEnv({ PORT: String(port) }),
    'capture',
    ROOT,
  );
  const servers: Loaded[] = [];
  try {
    await helloServer.waitReady('/', HEALTH_POLL_MS);
    servers.push({ server: helloServer, target: { url: `http://127.0.0.1:${port}/`, headers: {} } });
    servers.push(await readyMock('info', 'pipe'));
    servers.push(await readyMock('info', 'devnull'));
    servers.push(await readyMock('warn', 'capture'));
    const names = [
      'hello world',
      'mock (info, stdout a pipe)',
      'mock (info, stdout /dev/null)',
      'mock (warn)',
    ];
    for (const { server, target } of servers) await load(server, target, THROUGHPUT_WARM_UP_S, undefined, 0);
    const runs: LoadFigures[][] = servers.map(() => []);
    /** Per mock run, the hello world's figures at that moment: interpolated between the two hello runs around it. */
    const helloAt: LoadFigures[][] = servers.map(() => []);
    const mocks = servers.length - 1;
    const loadOne = async (i: number, round: number): Promise<LoadFigures> => {
      const { server, target } = servers[i]!;
      const figures = await load(server, target, durationS, undefined, 0);
      log(`throughput round ${round}/${ROUNDS}: ${names[i]} ${figures.rps} req/s, p99 ${figures.p99Ms} ms`);
      return figures;
    };
    let helloBefore = await loadOne(0, 1);
    runs[0]!.push(helloBefore);
    for (let round = 1; round <= ROUNDS; round++) {
      // The hello world starts every round and ends the last; the mocks run in between, a different one
      // first each round, so each mock run has a hello run at most `mocks` runs before and after it.
      const order = Array.from({ length: mocks }, (_, k) => 1 + ((k + round - 1) % mocks));
      const measured: [number, LoadFigures][] = [];
      for (const i of order) measured.push([i, await loadOne(i, round)]);
      const helloAfter = await loadOne(0, round);
      runs[0]!.push(helloAfter);
      measured.forEach(([i, figures], k) => {
        runs[i]!.push(figures);
        helloAt[i]!.push(interpolate(helloBefore, helloAfter, (k + 1) / (mocks + 1)));
      });
      helloBefore = helloAfter;
    }
    const [hello, info, infoDevNull, warn] = runs as [
      LoadFigures[],
      LoadFigures[],
      LoadFigures[],
      LoadFigures[],
    ];
    const perRound = (i: number, f: (m: LoadFigures, h: LoadFigures) => number): number[] =>
      runs[i]!.map((m, r) => round(f(m, helloAt[i]![r]!), 3));
    const rps = (m: LoadFigures, h: LoadFigures): number => m.rps / h.rps;
    const rpsRounds = { info: perRound(1, rps), infoDevNull: perRound(2, rps), warn: perRound(3, rps) };
    const rpsRatio = round(median(rpsRounds.info), 3);
    const p99Ratio = round(median(perRound(1, (m, h) => m.p99Ms / Math.max(h.p99Ms, 1))), 3);
    const cpuRatio = round(
      median(perRound(1, (m, h) => m.cpuUsPerRequest / Math.max(h.cpuUsPerRequest, 0.1))),
      3,
    );
    return {
      connections: CONNECTIONS,
      durationS,
      rounds: ROUNDS,
      hello: medianRun(hello),
      mock: medianRun(info),
      mockInfoDevNull: medianRun(infoDevNull),
      mockWarn: medianRun(warn),
      rpsRatio,
      rpsRatioInfoDevNull: round(median(rpsRounds.infoDevNull), 3),
      rpsRatioWarn: round(median(rpsRounds.warn), 3),
      rpsRatioRounds: rpsRounds,
      p99Ratio,
      cpuRatio,
      loadAverage1m: { start: round(loadStart, 2), end: round(loadavg()[0] ?? 0, 2) },
      minRpsRatio: TARGETS.minRpsRatio,
      maxP99Ratio: TARGETS.maxP99Ratio,
      rpsOk: rpsRatio >= TARGETS.minRpsRatio,
      p99Ok: p99Ratio <= TARGETS.maxP99Ratio,
      all200: [...info, ...infoDevNull, ...warn].every(clean),
    };
  } finally {
    for (const { server } of servers.length ? servers : [{ server: helloServer }])
      await stopServer(server, notes);
  }
}

/** The human-readable report. */
/** The scale table. */
function reportScale(scale: ScaleResult): string {
  const { small, large } = scale;
  const lines: string[] = [];
  lines.push(
    `Scale: median of ${scale.repeats} alternating runs; RSS after ${int(scale.warmUpRequests)} warm-up requests`,
  );
  lines.push(
    table([
      ['', `${int(small.accounts)} accounts`, `${int(large.accounts)} accounts`, 'ratio', 'target', ''],
      [
        'start-up to first answer (ms)',
        small.startupMs.toFixed(0),
        large.startupMs.toFixed(0),
        scale.startupRatio.toFixed(2),
        `<= ${scale.maxRatio.toFixed(2)}`,
        verdict(scale.startupRatio <= scale.maxRatio),
      ],
      [
        'RSS after warm-up (MiB)',
        small.rssMiB.toFixed(1),
        large.rssMiB.toFixed(1),
        scale.rssRatio.toFixed(2),
        `<= ${scale.maxRatio.toFixed(2)}`,
        verdict(scale.rssRatio <= scale.maxRatio),
      ],
      ['RSS when ready (MiB)', small.rssReadyMiB.toFixed(1), large.rssReadyMiB.toFixed(1), '', '', ''],
      [
        'start-up runs (ms)',
        small.startupMsRuns.map((v) => v.toFixed(0)).join('/'),
        large.startupMsRuns.map((v) => v.toFixed(0)).join('/'),
        '',
        '',
        '',
      ],
      ['RSS runs (MiB)', small.rssMiBRuns.join('/'), large.rssMiBRuns.join('/'), '', '', ''],
    ]),
  );
  return lines.join('\n');
}

/** The throughput tables. */
function reportThroughput(tp: ThroughputResult): string {
  const lines: string[] = [];
  lines.push(
    `Throughput: ${tp.connections} connections, ${tp.durationS} s per run (after one ${THROUGHPUT_WARM_UP_S} s warm-up), ` +
      `${tp.rounds} rounds of hello world then the three mocks (each row: its median run; ratios: each mock ` +
      `run / the hello world interpolated around it, median); ` +
      `load average ${tp.loadAverage1m.start} -> ${tp.loadAverage1m.end}`,
  );
  const row = (name: string, f: LoadFigures): string[] => [
    name,
    int(f.rps),
    String(f.p50Ms),
    String(f.p99Ms),
    int(f.requests),
    f.cpuUsPerRequest.toFixed(0),
    String(f.non2xx),
    String(f.errors + f.timeouts),
  ];
  lines.push(
    table([
      ['server', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'server CPU µs/req', 'non-2xx', 'errors'],
      row('Express 5 hello world', tp.hello),
      row('mock GetBalance, log info (default) > pipe', tp.mock),
      row('mock GetBalance, log info > /dev/null', tp.mockInfoDevNull),
      row('mock GetBalance, log warn', tp.mockWarn),
    ]),
  );
  lines.push('');
  lines.push(
    table([
      ['ratio (mock / hello), median of rounds', 'value', 'rounds', 'target', ''],
      [
        'req/s, log info (default) > pipe',
        tp.rpsRatio.toFixed(2),
        tp.rpsRatioRounds.info.map((r) => r.toFixed(2)).join('/'),
        `>= ${tp.minRpsRatio.toFixed(2)}`,
        verdict(tp.rpsOk),
      ],
      [
        'req/s, log info > /dev/null',
        tp.rpsRatioInfoDevNull.toFixed(2),
        tp.rpsRatioRounds.infoDevNull.map((r) => r.toFixed(2)).join('/'),
        '',
        '',
      ],
      [
        'req/s, log warn',
        tp.rpsRatioWarn.toFixed(2),
        tp.rpsRatioRounds.warn.map((r) => r.toFixed(2)).join('/'),
        '',
        '',
      ],
      [
        'p99, log info (default) > pipe',
        tp.p99Ratio.toFixed(2),
        '',
        `<= ${tp.maxP99Ratio.toFixed(2)}`,
        verdict(tp.p99Ok),
      ],
      ['server CPU per request, info > pipe', tp.cpuRatio.toFixed(2), '', '', ''],
      ['all mock replies 200', tp.all200 ? 'yes' : 'NO', '', 'yes', verdict(tp.all200)],
    ]),
  );
  return lines.join('\n');
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const durationS = durationSeconds(argv, process.env);
  const parts = benchParts(argv, process.env);
  // Bounded: scale (~6 starts) plus ROUNDS x 4 + 1 load runs of durationS (+ warm-ups and starts), the soak
  // and the slow-client run, with slack.
  const budgetMs =
    (90 +
      (ROUNDS * 4 + 1) * durationS +
      4 * THROUGHPUT_WARM_UP_S +
      (parts.redis ? 30 + REDIS_ROUNDS * 4 * (durationS + LOAD_WARM_UP_S) : 0) +
      (parts.soakS ?? 0) +
      (parts.slowS ?? 0) +
      120) *
    1000;
  setTimeout(() => {
    process.stderr.write(`bench: over the time budget of ${budgetMs / 1000} s; stopping\n`);
    killAllChildren();
    process.exit(1);
  }, budgetMs).unref();

  const notes: string[] = [];
  const scale = parts.scale ? await measureScale(notes) : undefined;
  const throughput = parts.throughput ? await measureThroughput(durationS, notes) : undefined;
  const redis = parts.redis ? await runRedisBench(durationS, REDIS_ROUNDS, notes) : undefined;
  if (parts.soakS !== undefined) log(`soak for ${parts.soakS} s`);
  const soak = parts.soakS !== undefined ? await runSoak(parts.soakS) : undefined;
  if (parts.slowS !== undefined) log(`slow clients for ${parts.slowS} s`);
  const slow = parts.slowS !== undefined ? await runSlowClients(parts.slowS) : undefined;

  process.stdout.write(
    `procode-mock benchmark (node ${process.version}, ${availableParallelism()} CPUs, loopback)\n`,
  );
  if (scale) process.stdout.write(`\n${reportScale(scale)}\n`);
  if (throughput) process.stdout.write(`\n${reportThroughput(throughput)}\n`);
  for (const part of [redis, soak, slow]) if (part) process.stdout.write(`\n${part.lines.join('\n')}\n`);
  for (const note of notes) process.stdout.write(`\nnote: ${note}\n`);
  const json = JSON.stringify({
    scale,
    throughput,
    redis: redis?.result,
    soak: soak?.result,
    slowClients: slow?.result,
  });
  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, `${json}\n`);
  process.stdout.write(`\n${json}\n`);
  const all2xx = (throughput?.all200 ?? true) && (redis?.result.all2xx ?? true);
  return all2xx && (soak?.result.unexpected ?? 0) === 0 ? 0 : 1;
}

process.on('exit', killAllChildren);
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const) {
  process.once(signal, () => {
    killAllChildren();
    process.exit(code);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    killAllChildren();
    process.stderr.write(
      `bench: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
