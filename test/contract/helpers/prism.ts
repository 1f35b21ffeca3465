import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Express } from 'express';
import { ROOT } from '../../helpers/server';

const PRISM = join(ROOT, 'node_modules', '.bin', 'prism');
export const CONTRACT = join(ROOT, 'contracts', 'procode.openapi.yaml');

/** A free TCP port on the loopback interface (asked of the kernel, then released). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** A child process that serves HTTP on loopback. */
export interface Running {
  base: string;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after 3 s; resolves when it has exited. */
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts `prism <mode> <contract> [upstream] -p <free port> -h 127.0.0.1 -v silent [...extra]` and waits
 * (at most `timeoutMs`) until it answers HTTP. With `-v silent` Prism prints no "listening" line, so
 * readiness is polled.
 */
export async function startPrism(
  mode: 'mock' | 'proxy',
  args: string[],
  timeoutMs = 20_000,
): Promise<Running> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [PRISM, mode, CONTRACT, ...args, '-p', String(port), '-h', '127.0.0.1', '-v', 'silent'],
    { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const base = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prism ${mode} exited (${child.exitCode}):\n${out}`);
    try {
      await fetch(`${base}/api/identity/customers/me`, { signal: AbortSignal.timeout(1000) });
      break;
    } catch {
      if (performance.now() > deadline) {
        await stopChild(child);
        throw new Error(`prism ${mode} did not answer within ${timeoutMs} ms:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { base, output: () => out, stop: () => stopChild(child) };
}

/** Serves an in-process Express app on a free loopback port. */
export async function listen(app: Express): Promise<{ base: string; stop(): Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What one response through Prism looked like on the wire. */
export interface Seen {
  method: string;
  url: string;
  status: number;
  /** The `sl-violations` header (Prism's findings), if any. */
  slViolations?: string;
  /** `type` of a problem body, to spot Prism's own `...#VIOLATIONS` 500s. */
  problemType?: string;
}

/**
 * Records every response whose URL starts with `base` while `run` goes: the harness's Transport uses the
 * global `fetch` for URL targets, so wrapping it shows the raw status and headers the harness got.
 */
export async function recording<T>(
  base: string,
  run: () => Promise<T>,
): Promise<{ result: T; seen: Seen[] }> {
  const seen: Seen[] = [];
  const original = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const res = await original(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.startsWith(base)) {
      let problemType: string | undefined;
      if (/problem\+json/.test(res.headers.get('content-type') ?? '')) {
        try {
          problemType = ((await res.clone().json()) as { type?: string }).type;
        } catch {
          problemType = undefined;
        }
      }
      seen.push({
        method: init?.method ?? 'GET',
        url: url.slice(base.length),
        status: res.status,
        slViolations: res.headers.get('sl-violations') ?? undefined,
        problemType,
      });
    }
    return res;
  };
  try {
    return { result: await run(), seen };
  } finally {
    globalThis.fetch = original;
  }
}
