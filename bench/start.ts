/**
 * `npm run bench:start`: how long a second `npm start` takes, as a developer meets it: from running
 * `npm start` (with nothing changed since the last build) to the mock's "listening" line. The build
 * is incremental (`tsc -b`, and the docs assets and generated types skip unchanged inputs), so this is
 * mostly process start-up. Target: under 1,500 ms (issue 10). Also the parts: `npm run build` alone
 * and `node dist/mock/cli.js serve` alone.
 *
 * Prints one line per run and a summary, then one JSON line. Flags: `--runs <n>` (default 5).
 * Exit code 1 when a start fails; a missed target is reported, not an error.
 */
import { spawn, spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = resolve(__dirname, '../..');
const TARGET_MS = 1500;
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Settings of the mock dropped from the inherited environment, so the defaults apply. */
const MOCK_ENV = /^(PROCODE_.*|PORT|HOST|SEED|ACCOUNTS|TOKEN_TTL|LOG_LEVEL|NODE_ENV)$/;

function env(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !MOCK_ENV.test(name)));
}

/**
 * Runs `command args` in its own process group until it prints "listening", then stops the group.
 * @returns ms from the spawn to that line.
 */
function timeToListening(command: string, args: string[]): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      cwd: ROOT,
      env: env(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let done = false;
    const stop = (): void => {
      // The whole group: npm, its shell and the mock (a negative pid is the process group).
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    };
    const timer = setTimeout(() => {
      stop();
      if (!done) reject(new Error(`no "listening" within 60 s:\n${out}`));
      done = true;
    }, 60_000);
    const read = (chunk: Buffer): void => {
      out += chunk.toString('utf8');
      if (!done && /listening on/.test(out)) {
        done = true;
        const ms = performance.now() - started;
        clearTimeout(timer);
        stop();
        child.once('exit', () => resolvePromise(ms));
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        reject(new Error(`${command} ${args.join(' ')} exited (${code}) before listening:\n${out}`));
      }
    });
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function runsOf(argv: readonly string[]): number {
  const i = argv.indexOf('--runs');
  const n = i >= 0 ? Number(argv[i + 1]) : 5;
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new Error('--runs must be a whole number from 1 to 50');
  return n;
}

async function main(): Promise<void> {
  const runs = runsOf(process.argv.slice(2));
  // The first build of the session (whatever changed) is not what a second start costs.
  const first = spawnSync(NPM, ['run', 'build'], { cwd: ROOT, env: env(), stdio: 'ignore' });
  if (first.status !== 0) throw new Error('npm run build failed');
  const load = loadavg()[0] ?? 0;
  const npmStart: number[] = [];
  const build: number[] = [];
  const serve: number[] = [];
  for (let i = 1; i <= runs; i++) {
    const b = performance.now();
    const r = spawnSync(NPM, ['run', 'build'], { cwd: ROOT, env: env(), stdio: 'ignore' });
    if (r.status !== 0) throw new Error('npm run build failed');
    build.push(performance.now() - b);
    serve.push(await timeToListening(process.execPath, ['dist/mock/cli.js', 'serve', '--port', '0']));
    npmStart.push(await timeToListening(NPM, ['start', '--', '--port', '0']));
    process.stderr.write(
      `run ${i}/${runs}: npm start ${npmStart.at(-1)!.toFixed(0)} ms (build ${build.at(-1)!.toFixed(0)} ms, serve ${serve.at(-1)!.toFixed(0)} ms)\n`,
    );
  }
  const result = {
    runs,
    loadAverage1m: Math.round(load * 100) / 100,
    npmStartMs: Math.round(median(npmStart)),
    buildMs: Math.round(median(build)),
    serveMs: Math.round(median(serve)),
    npmStartRunsMs: npmStart.map(Math.round),
    targetMs: TARGET_MS,
    ok: median(npmStart) < TARGET_MS,
  };
  process.stdout.write(
    `second npm start to "listening": median ${result.npmStartMs} ms of ${runs} (target < ${TARGET_MS} ms: ` +
      `${result.ok ? 'ok' : 'MISSED'}); npm run build alone ${result.buildMs} ms, node dist/mock/cli.js serve ` +
      `alone ${result.serveMs} ms; load average ${result.loadAverage1m} on this machine\n${JSON.stringify(result)}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
