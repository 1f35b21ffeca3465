/**
 * What the parts of `npm run bench` share: starting the mock as a child on a free loopback port, loading a
 * server with autocannon (a discarded warm-up, then a measured run) and reading its figures, medians and
 * plain-text tables.
 */
import { resolve } from 'node:path';
import autocannon from 'autocannon';
import { ServerProcess, freePort, processCpuMs } from './children';
import type { StdoutMode } from './children';

/** Repository root (this file runs from `dist/bench/`). */
export const ROOT = resolve(__dirname, '../..');
/** The mock's entry point; `BENCH_MOCK_MAIN` points at another build (to compare with an older commit). */
export const MOCK_MAIN = process.env.BENCH_MOCK_MAIN ?? resolve(__dirname, '../mock/main.js');
/** Concurrent keep-alive connections of every load run. */
export const CONNECTIONS = 50;
/** Length of the discarded load run before each measured one, in s. */
export const LOAD_WARM_UP_S = 1;
/** How often a starting server is polled until it answers, in ms. */
export const HEALTH_POLL_MS = 5;

/** Settings that configure the mock through its environment; dropped from the inherited environment. */
const MOCK_ENV_NAMES = /^(PROCODE_.*|PORT|HOST|SEED|ACCOUNTS|TOKEN_TTL|LOG_LEVEL)$/;

/** One measured load run. */
export interface LoadFigures {
  /** Mean of the per-second request counts, in req/s. */
  rps: number;
  /** Latency percentiles of 2xx replies, in ms (autocannon's resolution: 1 ms). */
  p50Ms: number;
  p99Ms: number;
  /** Completed requests. */
  requests: number;
  /** The server's CPU time (user + system) per completed request during the measured run, in µs. */
  cpuUsPerRequest: number;
  /** The same for the other process `load` was asked to watch (redis-server), in µs. */
  otherCpuUsPerRequest?: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
}

/** What a load run sends: one request, again and again. */
export interface LoadTarget {
  url: string;
  headers: Record<string, string>;
  /** Default GET. */
  method?: 'GET' | 'POST';
  body?: string;
  /**
   * Made anew for every request, from the connection's own object (kept across its requests): headers
   * over `headers` (a new Idempotency-Key per top-up) and the body.
   */
  each?: (connection: Record<string, unknown>) => { headers?: Record<string, string>; body?: string };
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) throw new Error('median of nothing');
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `value` rounded to `digits` decimals. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The inherited environment without the mock's settings, plus `extra`. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!MOCK_ENV_NAMES.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

/**
 * Starts the mock on a free port; resolves once it answers, with its start-up time in ms.
 * @param extraEnv more settings (e.g. `PROCODE_STORE`), after the ones given here.
 * @param label how messages name it (default: its accounts and log level).
 */
export async function startMock(
  accounts: number,
  logLevel: 'warn' | 'info',
  stdout: StdoutMode,
  extraEnv: Record<string, string> = {},
  label = `mock (${accounts} accounts, ${logLevel})`,
): Promise<{ server: ServerProcess; startupMs: number }> {
  const port = await freePort();
  const env = childEnv({
    PORT: String(port),
    HOST: '127.0.0.1',
    ACCOUNTS: String(accounts),
    PROCODE_LOG_LEVEL: logLevel,
    ...extraEnv,
  });
  const server = new ServerProcess(label, MOCK_MAIN, port, env, stdout, ROOT);
  try {
    const startupMs = await server.waitReady('/__admin/health', HEALTH_POLL_MS);
    return { server, startupMs };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** Stops a server; anything it logged at warn or above (captured stdout, stderr) becomes a note. */
export async function stopServer(server: ServerProcess, notes: string[]): Promise<void> {
  await server.stop();
  const output = server.output();
  if (output) notes.push(`${server.name} wrote:\n${output.slice(-2000)}`);
}

/** autocannon's options for `target` over `durationS` seconds. */
function options(target: LoadTarget, durationS: number): autocannon.Options {
  const { url, headers, method = 'GET', body, each } = target;
  return {
    url,
    headers,
    method,
    connections: CONNECTIONS,
    duration: durationS,
    ...(body !== undefined ? { body } : {}),
    ...(each
      ? {
          requests: [
            {
              setupRequest: (req, connection) => {
                const made = each(connection);
                return {
                  ...req,
                  headers: { ...req.headers, ...made.headers },
                  ...(made.body !== undefined ? { body: made.body } : {}),
                };
              },
            },
          ],
        }
      : {}),
  };
}

/**
 * A discarded `warmUpS` run, then a measured `durationS` run of CONNECTIONS connections sending
 * `target`, served by `server` (whose CPU time is read around the measured run).
 * @param otherPid another process whose CPU time to read around the measured run (redis-server).
 * @param warmUpS seconds of the discarded run (default LOAD_WARM_UP_S; 0: none, for a part that warmed
 *   its servers up once before its rounds).
 * @throws Error when the server died under load, with its output.
 */
export async function load(
  server: ServerProcess,
  target: LoadTarget,
  durationS: number,
  otherPid?: number,
  warmUpS = LOAD_WARM_UP_S,
): Promise<LoadFigures> {
  if (warmUpS > 0) await autocannon(options(target, warmUpS));
  const cpuBefore = server.cpuMs();
  const otherBefore = otherPid === undefined ? 0 : processCpuMs(otherPid);
  const r = await autocannon(options(target, durationS));
  const died = server.exitStatus();
  if (died) {
    throw new Error(
      `${server.name} died under load (code ${died.code}, signal ${died.signal}):\n${server.output()}`,
    );
  }
  const cpuMs = server.cpuMs() - cpuBefore;
  const otherMs = otherPid === undefined ? 0 : processCpuMs(otherPid) - otherBefore;
  const perRequest = (ms: number): number =>
    r.requests.total > 0 ? round((ms * 1000) / r.requests.total, 1) : 0;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(r.statusCodeStats)) statusCodes[code] = stat.count;
  return {
    rps: round(r.requests.average, 0),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    cpuUsPerRequest: perRequest(cpuMs),
    ...(otherPid === undefined ? {} : { otherCpuUsPerRequest: perRequest(otherMs) }),
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
  };
}

/** The figures of the round with the median req/s. */
export function medianRun(runs: readonly LoadFigures[]): LoadFigures {
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** Whether a run had only 2xx replies and no socket errors or timeouts. */
export function clean(f: LoadFigures): boolean {
  return f.non2xx === 0 && f.errors === 0 && f.timeouts === 0;
}

/** Formats rows as left-aligned first column, right-aligned others. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
    )
    .join('\n');
}

/** A number with thousands separators. */
export const int = (n: number): string => Math.round(n).toLocaleString('en-GB');
/** `ok` or `MISSED`, for a target. */
export const verdict = (ok: boolean): string => (ok ? 'ok' : 'MISSED');
