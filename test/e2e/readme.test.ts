import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ROOT, startServer } from '../helpers/server';
import { tempDir } from '../helpers/temp';
import type { RunningServer } from '../helpers/server';

/** The README's curl walkthrough, run exactly as written (every ```sh block, in order) against the real server. */
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** Runs the walkthrough in bash against `base`; `-e` stops at the first failure, as a script would. */
function walkthrough(base: string, stopOnError = true) {
  return spawnSync(
    'bash',
    ['--norc', '--noprofile', stopOnError ? '-euo' : '-uo', 'pipefail', '-c', blocks.join('\n')],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', BASE: base },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
}

/** A loopback port where nothing listens (taken from the kernel, then released). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

let server: RunningServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

test('the README walkthrough runs as written and every call in it succeeds', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(5);
  const run = walkthrough(server.base);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const out = run.stdout;
  expect(out).toContain('"code":"ELECTRICITY_SUPPLY"');
  expect(out).toContain('"status":"APPLIED"');
  expect(out).toContain('"accountNumber":"A-02FAC7A2"');
  expect(out).toContain('"accountNumber":"A-0AB5E4C3"');
  expect(out).toContain('"token_type":"Bearer"');
  expect(out).toContain('"type":"https://procode.example/problems/validation-error"');
  expect(out).not.toContain('undefined');
});

describe('with the mock down, the walkthrough fails loudly and readably', () => {
  let base: string;
  beforeAll(async () => {
    base = `http://127.0.0.1:${await closedPort()}`;
  });

  test('as a script (-e): it stops at the first call, saying why in two lines', () => {
    const run = walkthrough(base);
    expect(run.status).not.toBe(0);
    expect(run.stdout).toBe('');
    const port = new URL(base).port;
    expect(run.stderr).toMatch(
      new RegExp(
        `^curl: \\(7\\) Failed to connect to 127\\.0\\.0\\.1 port ${port}[^\\n]*\\njson: no JSON on input\\n$`,
      ),
    );
  });

  test('pasted into a terminal (no -e): every call says why, and nothing prints a stack trace', () => {
    const run = walkthrough(base, false);
    const lines = run.stderr.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('curl: (7) Failed to connect')).length).toBeGreaterThanOrEqual(
      15,
    );
    expect(lines).toContain('json: no JSON on input');
    for (const line of lines)
      expect(line).toMatch(/^(curl: \(7\) Failed to connect|json: no JSON on input$)/);
    expect(run.stderr).not.toMatch(/SyntaxError|TypeError|^\s+at /m);
  });
});

test('a refused call shows the problem and why the field is missing', async () => {
  const run = spawnSync(
    'bash',
    [
      '--norc',
      '--noprofile',
      '-uo',
      'pipefail',
      '-c',
      `${blocks[0]}\nTOKEN=$(curl -sS --fail-with-body "$BASE/api/identity/auth/TokenRequest" -H "Ocp-Apim-Subscription-Key: $KEY" -u procode-mock-client:procode-mock-secret -d grant_type=password -d username=basic@example.com -d password=Not-The-Password-42 | json .access_token)`,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', BASE: server.base },
      encoding: 'utf8',
    },
  );
  expect(run.status).not.toBe(0);
  expect(run.stderr).toMatch(/^curl: \(22\) The requested URL returned error: 400\n/);
  expect(run.stderr).toMatch(/\njson: no \.access_token in the JSON on input \(.*password.*\)\n$/);
  expect(run.stderr).not.toContain('Not-The-Password-42');
});

test("the stand-in recipe runs as a script: the harness passes, the mock's logs stay quiet, and its process is stopped", async () => {
  const block = /Try it locally with a stand-in[\s\S]*?```bash\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBeDefined();
  const port = String(await closedPort());
  const reports = tempDir('procode-stand-in-');
  // As written, but on a free port and with the reports in this test's own folder.
  const script = block!.replaceAll('4021', port).replace('--report reports', `--report ${reports}`);
  expect(script).toContain('MOCK_PID=$!');
  const run = spawnSync(
    'bash',
    ['--norc', '--noprofile', '-euo', 'pipefail', '-c', `${script}\necho "pid $MOCK_PID"`],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/0 failed/);
  // Quiet: no request line and no start-up line of the mock among the harness's output.
  expect(run.stdout).not.toMatch(/"msg":"request"|listening on/);
  const pid = Number(/^pid (\d+)$/m.exec(run.stdout)?.[1]);
  expect(pid).toBeGreaterThan(0);
  // Stopped: the process exits (SIGTERM: a graceful stop) and nothing answers on its port.
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  expect(alive()).toBe(false);
  await expect(fetch(`http://127.0.0.1:${port}/__admin/health`)).rejects.toThrow();
}, 150_000);
