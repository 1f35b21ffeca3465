import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'mock', 'main.js');

/** The real server (`node dist/mock/main.js`, as `npm start` runs it) on a free loopback port. */
export interface RunningServer {
  base: string;
  process: ChildProcessWithoutNullStreams;
  /** Everything it printed so far. */
  output(): string;
  stop(): Promise<number | null>;
}

/**
 * Starts the built mock with `env` (PORT 0: a free port, read back from its log); `args` switch from
 * `npm start`'s entry point to the `procode-mock` CLI.
 */
export async function startServer(env: Record<string, string> = {}, args?: string[]): Promise<RunningServer> {
  if (!existsSync(MAIN))
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  const entry = args ? [join(ROOT, 'dist', 'mock', 'cli.js'), ...args] : [MAIN];
  const child = spawn(process.execPath, entry, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const listening = /listening on (https?:\/\/127\.0\.0\.1:\d+)/;
  // Start-up compiles both contracts' validators (about 4 s of CPU): generous for a loaded 2-core machine.
  const deadline = performance.now() + 60_000;
  while (!listening.test(out)) {
    if (performance.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`server did not start (it logs "listening" at level info):\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    base: listening.exec(out)![1]!,
    process: child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}
