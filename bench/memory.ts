/**
 * Memory and file descriptors of a benchmark's server child, after a garbage collection it is asked for
 * (bench/gc-on-signal.ts).
 */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ServerProcess, freePort, sleep } from './children';

/** The signal the preload listens to. */
export const GC_SIGNAL = 'SIGUSR2';

/** Environment that makes a child collect garbage on `GC_SIGNAL` (merge into its environment). */
export function gcEnv(): Record<string, string> {
  const preload = join(__dirname, 'gc-on-signal.js');
  return { BENCH_GC_SIGNAL: GC_SIGNAL, NODE_OPTIONS: `--require ${preload}` };
}

/** Resident memory and V8 heap of a child after a GC, in MiB. */
export interface MemoryAfterGc {
  rssMiB: number;
  heapUsedMiB: number;
}

const requests = new WeakMap<ServerProcess, number>();

/**
 * Asks the child for a GC and waits for its `bench-gc` line (at most `timeoutMs` ms); then reads VmRSS
 * from /proc/<pid>/status.
 * @throws when the child does not answer in time (it was not started with `gcEnv()`).
 */
export async function memoryAfterGc(server: ServerProcess, timeoutMs = 5000): Promise<MemoryAfterGc> {
  const n = (requests.get(server) ?? 0) + 1;
  requests.set(server, n);
  server.child.kill(GC_SIGNAL);
  const marker = new RegExp(`bench-gc ${n} rss=\\d+ heapUsed=(\\d+)`);
  const started = performance.now();
  for (;;) {
    const match = marker.exec(server.output());
    if (match) {
      return {
        rssMiB: round1(server.rssKiB() / 1024),
        heapUsedMiB: round1(Number(match[1]) / 1024 / 1024),
      };
    }
    if (performance.now() - started > timeoutMs)
      throw new Error(`${server.name}: no answer to ${GC_SIGNAL} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** Open file descriptors of the child (entries of /proc/<pid>/fd). */
export function openFds(server: ServerProcess): number {
  return readdirSync(`/proc/${server.pid}/fd`).length;
}

/** One decimal place. */
export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

/** The p-th percentile (0-100) of a list, nearest rank; 0 for an empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** Settings of the mock dropped from the inherited environment, so the defaults apply. */
const MOCK_ENV_NAMES = /^(PROCODE_.*|PORT|HOST|SEED|ACCOUNTS|TOKEN_TTL|LOG_LEVEL|NODE_OPTIONS)$/;

/**
 * Starts the mock (`dist/mock/main.js`, or `BENCH_MOCK_MAIN`) on a free port of 127.0.0.1 at its default
 * settings (log level info, request lines to a pipe this process reads and drops) with `gcEnv()`;
 * resolves once `GET /__admin/health` answers.
 */
export async function startMockWithGc(name: string): Promise<ServerProcess> {
  const root = resolve(__dirname, '../..');
  const main = process.env.BENCH_MOCK_MAIN ?? resolve(__dirname, '../mock/main.js');
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!MOCK_ENV_NAMES.test(key)) env[key] = value;
  const port = await freePort();
  const server = new ServerProcess(
    name,
    main,
    port,
    { ...env, PORT: String(port), HOST: '127.0.0.1', ...gcEnv() },
    'pipe',
    root,
  );
  try {
    await server.waitReady('/__admin/health');
    return server;
  } catch (err) {
    await server.stop();
    throw err;
  }
}
