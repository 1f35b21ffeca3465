/** Which parts `npm run bench` runs, and for how long (flags first, then environment, then defaults). */

/** The parts of the benchmark. */
export const BENCH_PARTS = ['scale', 'throughput', 'redis', 'soak', 'slow'] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];

/** What to run: the classic parts as booleans, the soak and slow-client runs as their lengths in s. */
export interface BenchSelection {
  scale: boolean;
  throughput: boolean;
  /** GetBalance and MakePayment with the Redis store against the memory store (bench/redis.ts). */
  redis: boolean;
  /** Seconds of the soak, or undefined when it is not run. */
  soakS?: number;
  /** Seconds of the slow-client run, or undefined when it is not run. */
  slowS?: number;
}

/** Default soak length, in s (5 minutes). */
export const DEFAULT_SOAK_S = 300;
/** Default slow-client run, in s. */
export const DEFAULT_SLOW_S = 20;

function flag(argv: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  argv.forEach((arg, i) => {
    if (arg === `--${name}`) value = argv[i + 1];
    else if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3);
  });
  return value;
}

function seconds(raw: string | undefined, fallback: number, name: string, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 5 || n > max)
    throw new Error(`--${name} must be a whole number of seconds from 5 to ${max}, got "${raw}"`);
  return n;
}

/**
 * The selection from `--only a,b` (`BENCH_ONLY`; default all five), `--soak <s>` (`BENCH_SOAK_S`, 5 to
 * 3600, default 300) and `--slow <s>` (`BENCH_SLOW_S`, 5 to 600, default 20). `--soak` alone (without
 * `--only`) still runs every part, the soak that long.
 * @throws Error for an unknown part or a length out of range.
 */
export function benchParts(argv: readonly string[], env: NodeJS.ProcessEnv): BenchSelection {
  const only = (flag(argv, 'only') ?? env.BENCH_ONLY ?? BENCH_PARTS.join(','))
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  for (const p of only)
    if (!(BENCH_PARTS as readonly string[]).includes(p))
      throw new Error(`--only takes ${BENCH_PARTS.join(', ')}; got "${p}"`);
  const soakS = seconds(flag(argv, 'soak') ?? env.BENCH_SOAK_S, DEFAULT_SOAK_S, 'soak', 3600);
  const slowS = seconds(flag(argv, 'slow') ?? env.BENCH_SLOW_S, DEFAULT_SLOW_S, 'slow', 600);
  return {
    scale: only.includes('scale'),
    throughput: only.includes('throughput'),
    redis: only.includes('redis'),
    ...(only.includes('soak') ? { soakS } : {}),
    ...(only.includes('slow') ? { slowS } : {}),
  };
}
