/**
 * Child processes of the benchmark: servers started with `node <script>` on 127.0.0.1, tracked so that
 * every one of them is killed when the benchmark ends, normally or not.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/** Every child still running. */
const live = new Set<ChildProcess>();

/** USER_HZ of /proc/<pid>/stat times; 100 on Linux on every common architecture. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Keeps at most this many characters of a child's output, for error messages. */
const OUTPUT_TAIL_CHARS = 8192;

/** CPU time process `pid` has used so far (user + system, /proc/<pid>/stat), in ms (10 ms resolution). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm) ": state is field 3, utime field 14, stime field 15 (proc(5)).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Kills every child still running (SIGKILL, synchronous: safe in an `exit` handler). */
export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/**
 * What a server child's stdout is: a pipe whose tail this process keeps for diagnostics (`capture`), a
 * pipe read and thrown away by another process (`cat > /dev/null`), as a container runtime's log driver
 * or a log shipper reads it (`pipe`), or /dev/null (`devnull`).
 */
export type StdoutMode = 'capture' | 'pipe' | 'devnull';

/** A server running as a child process. */
export class ServerProcess {
  /** `performance.now()` just before the spawn, in ms. */
  readonly spawnedAt: number;
  readonly child: ChildProcess;
  private tail = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitPromise: Promise<void>;

  /**
   * Starts `node <script>` with the given environment and port.
   * @param name a label for messages.
   * @param script path of the compiled JavaScript entry point.
   * @param port the TCP port the server is told to use.
   * @param env environment of the child (complete: nothing else is inherited).
   * @param stdout where the child's stdout goes.
   */
  constructor(
    readonly name: string,
    script: string,
    readonly port: number,
    env: NodeJS.ProcessEnv,
    stdout: StdoutMode,
    cwd: string,
  ) {
    this.spawnedAt = performance.now();
    // The reader of a `pipe` stdout: its own process, so the load generator here does no work for the logs.
    const reader = stdout === 'pipe' ? spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore'] }) : undefined;
    this.child = spawn(process.execPath, [script], {
      cwd,
      env,
      stdio: ['ignore', reader ? reader.stdin! : stdout === 'devnull' ? 'ignore' : 'pipe', 'pipe'],
    });
    // The child holds the pipe's write end now; `cat` ends when the child does.
    reader?.stdin?.destroy();
    live.add(this.child);
    const keep = (chunk: Buffer): void => {
      this.tail = (this.tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    if (stdout === 'capture') this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exitPromise = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        live.delete(this.child);
        resolve();
      });
    });
    this.child.once('error', (err) => {
      this.tail += `\nspawn error: ${err.message}`;
    });
  }

  /** The child's process id. */
  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name}: not started. ${this.output()}`);
    return this.child.pid;
  }

  /** The last few KiB the child wrote to stdout (when captured) and stderr. */
  output(): string {
    return this.tail.trim();
  }

  /**
   * Polls `GET <path>` every `intervalMs` until the server answers.
   * @returns ms from the spawn to the first answered request.
   * @throws if the child exits first or nothing answers within `timeoutMs`.
   */
  async waitReady(path: string, intervalMs = 5, timeoutMs = 30_000): Promise<number> {
    for (;;) {
      if (this.exited) {
        throw new Error(
          `${this.name} exited (code ${this.exited.code}, signal ${this.exited.signal}) before answering:\n${this.output()}`,
        );
      }
      const status = await probe(this.port, path);
      if (status !== undefined) return performance.now() - this.spawnedAt;
      if (performance.now() - this.spawnedAt > timeoutMs) {
        throw new Error(`${this.name} did not answer within ${timeoutMs} ms:\n${this.output()}`);
      }
      await sleep(intervalMs);
    }
  }

  /** Resident memory of the child now (VmRSS of /proc/<pid>/status), in KiB. */
  rssKiB(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    if (!match?.[1]) throw new Error(`${this.name}: no VmRSS in /proc/${this.pid}/status`);
    return Number(match[1]);
  }

  /** CPU time the child has used so far (user + system, /proc/<pid>/stat), in ms (10 ms resolution). */
  cpuMs(): number {
    return processCpuMs(this.pid);
  }

  /** Whether the child has exited, and how. */
  exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exited;
  }

  /** Stops the child: SIGTERM, then SIGKILL after `graceMs` ms. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }
}

/** One `GET` without keep-alive; the status, or undefined when nothing answered (e.g. refused). */
function probe(port: number, path: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', agent: false, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode);
      },
    );
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(undefined));
    req.end();
  });
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
