/**
 * A real redis-server as a child process, for the tests of the shared store (test/helpers/redis-server.ts
 * adds jest's skipping and clean-up) and for `npm run bench`'s Redis part: Debian's `redis-server` on a
 * free 127.0.0.1 port, with a working folder of its own under the system's temporary folder (the test
 * run's TMPDIR) and nothing persisted (`--save ''`, `--appendonly no`, unless `persist` is asked for).
 * Never a system service and never a shared instance: every server is a child of this process, stopped by
 * its PID, and killed (its folder removed) if this process exits first. Lives under bench/ because the
 * build (tsconfig.build.json) compiles bench/ and not test/, and both use it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Milliseconds a server gets to answer PING after it is started (a loaded 2-core machine). */
const READY_TIMEOUT_MS = 15_000;
/** Milliseconds a server gets to exit after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 10_000;

/** The redis-server executable on PATH (Debian's: /usr/bin/redis-server), or undefined when absent. */
export function redisServerPath(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Whether redis-server is installed here. */
export function redisAvailable(): boolean {
  return redisServerPath() !== undefined;
}

/** A redis-server started by {@link startRedis}. */
export interface RedisServer {
  /** The loopback port it listens on (kept across `stop()` and `restart()`). */
  readonly port: number;
  /** `redis://127.0.0.1:<port>/0`. */
  readonly url: string;
  /** Its working folder (`--dir`), under the system's temporary folder; removed by `close()`. */
  readonly dir: string;
  /** PID of the running process; undefined while stopped. */
  pid(): number | undefined;
  /** Whether the process is running. */
  running(): boolean;
  /** What it printed so far (every start), for failure messages. */
  output(): string;
  /**
   * An outage: stops the process (SIGTERM, or `signal`, and waits for it to exit) but keeps its port
   * number and folder, so `restart()` brings the same address back. The data goes, unless the server was
   * started with `persist` (then a SIGTERM keeps everything it answered).
   */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** The recovery: starts it again on the same port and waits until it answers PING. */
  restart(): Promise<void>;
  /** The end: stops it (if running) and removes its folder. Safe to call twice. */
  close(): Promise<void>;
}

/** Servers not yet closed: killed, and their folders removed, when this process exits. */
const open = new Set<{ child: () => ChildProcess | undefined; dir: string }>();
process.on('exit', () => {
  for (const s of open) {
    s.child()?.kill('SIGKILL');
    rmSync(s.dir, { recursive: true, force: true });
  }
});

/** A port that was free on 127.0.0.1 a moment ago (the OS picks it; redis-server then binds it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port from the OS');
  return address.port;
}

/**
 * Sends one inline `PING` over a plain socket: true for `+PONG`, false for anything else (refused,
 * closed, loading, no answer within `timeoutMs` milliseconds).
 */
export function ping(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('close', () => done(false));
  });
}

/**
 * Starts a redis-server on a free 127.0.0.1 port (or `options.port`) and waits until it answers PING.
 * With `options.persist`, every write is appended to a file in its folder and synced before the answer
 * (`--appendonly yes --appendfsync always`), so `stop()` then `restart()` is an outage of a production
 * Redis, not a loss of its data.
 * @throws Error when redis-server is not installed, or does not come up within 15 s (with its output).
 */
export async function startRedis(options: { port?: number; persist?: boolean } = {}): Promise<RedisServer> {
  const bin = redisServerPath();
  if (!bin) throw new Error('redis-server is not installed: apt-get install -y redis-server (.ci/run does)');
  const dir = mkdtempSync(join(tmpdir(), 'procode-redis-'));
  let port = options.port ?? 0;
  let child: ChildProcess | undefined;
  let out = '';
  let closed = false;

  const launch = async (): Promise<void> => {
    const proc = spawn(
      bin,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        options.persist ? 'yes' : 'no',
        ...(options.persist ? ['--appendfsync', 'always'] : []),
        '--daemonize',
        'no',
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = performance.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        child = undefined;
        throw new Error(`redis-server exited (${proc.exitCode ?? proc.signalCode}) on port ${port}:\n${out}`);
      }
      if (await ping(port, 500)) return;
      if (performance.now() > deadline) {
        await halt('SIGKILL');
        throw new Error(
          `redis-server did not answer PING on port ${port} within ${READY_TIMEOUT_MS} ms:\n${out}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc) return;
    child = undefined;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  const entry = { child: () => child, dir };
  open.add(entry);
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await halt('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    open.delete(entry);
  };

  try {
    if (options.port !== undefined) {
      await launch();
    } else {
      // The port was free a moment ago; another process may take it first: try a few.
      for (let attempt = 1; ; attempt += 1) {
        port = await freePort();
        try {
          await launch();
          break;
        } catch (err) {
          if (attempt >= 5 || !/Address already in use/i.test(out)) throw err;
        }
      }
    }
  } catch (err) {
    await close();
    throw err;
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    dir,
    pid: () => child?.pid,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    output: () => out,
    stop: (signal: NodeJS.Signals = 'SIGTERM') => halt(signal),
    restart: async () => {
      if (closed) throw new Error('redis-server was closed');
      await halt('SIGTERM');
      await launch();
    },
    close,
  };
}
