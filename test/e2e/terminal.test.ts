import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { banner } from '../../mock/server';
import { DEV_SUBSCRIPTION_KEY, loadConfig } from '../../mock/config';
import personas from '../../fixtures/personas.json';
import { ROOT, startServer } from '../helpers/server';

/**
 * `npm start` in a terminal (issue 10, "the first five minutes"): a banner that says where everything
 * is, and request logs a person can read; JSON lines and no banner when stdout is not a terminal. The
 * terminal is a real pseudo-terminal made by util-linux `script`.
 */
const CLI = join(ROOT, 'dist', 'mock', 'cli.js');
const SCRIPT = spawnSync('script', ['--version']).status === 0;
const PASSWORDS = personas.personas.map((p) => p.password);

describe('the banner', () => {
  const url = 'http://127.0.0.1:4010';

  test('names the URL, the docs, the admin index, the dev key and where the personas are', () => {
    const text = banner(url, loadConfig({}, {}));
    expect(text).toContain(`procode-mock 0.1.0 is listening on ${url}  (seed 42, 1,000 accounts)`);
    expect(text).toMatch(/Live docs, try it +http:\/\/127\.0\.0\.1:4010\/docs\n/);
    expect(text).toMatch(/Admin index +http:\/\/127\.0\.0\.1:4010\/__admin\n/);
    expect(text).toContain(`${DEV_SUBSCRIPTION_KEY}  (header Ocp-Apim-Subscription-Key)`);
    expect(text).toMatch(/Personas +http:\/\/127\.0\.0\.1:4010\/__admin\/personas, fixtures\/personas\.json/);
    for (const password of PASSWORDS) expect(text).not.toContain(password);
  });

  test('keeps keys of PROCODE_MOCK_SUBSCRIPTION_KEYS to itself, and leaves out what --admin off hides', () => {
    const text = banner(url, loadConfig({ subscriptionKeys: 'team-secret-key', admin: 'off' }, {}));
    expect(text).not.toContain('team-secret-key');
    expect(text).toContain('the keys in PROCODE_MOCK_SUBSCRIPTION_KEYS (not shown)');
    expect(text).not.toContain('/__admin');
    expect(text).toMatch(/Personas +fixtures\/personas\.json/);
  });

  test('on 0.0.0.0 it points the browser at 127.0.0.1', () => {
    expect(banner('http://0.0.0.0:4010', loadConfig({ host: '0.0.0.0' }, {}))).toContain(
      'listening on http://127.0.0.1:4010',
    );
  });
});

test('not a terminal: no banner, one JSON line per log entry', async () => {
  const server = await startServer({}, ['serve', '--port', '0']);
  try {
    await fetch(`${server.base}/api/energy/premises`);
  } finally {
    await server.stop();
  }
  const out = server.output();
  expect(out).not.toContain('Live docs');
  const lines = out.trim().split('\n');
  expect(lines.length).toBeGreaterThanOrEqual(3);
  for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
  expect(lines.map((l) => JSON.parse(l) as { msg: string; problem?: string })).toContainEqual(
    expect.objectContaining({ msg: 'request', problem: 'subscription-key' }),
  );
});

/** Runs `command` under a pseudo-terminal (`script -qfec`) in its own process group. */
function inTerminal(command: string): { child: ChildProcess; output: () => string } {
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', TERM: 'dumb', NO_COLOR: '1' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  return { child, output: () => out };
}

async function until(what: () => boolean, ms = 20_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!what()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

(SCRIPT ? test : test.skip)(
  'in a terminal: the banner, then one readable line per request with its problem type',
  async () => {
    const term = inTerminal(`${process.execPath} ${CLI} serve --port 0`);
    try {
      await until(() => /Stop +Ctrl\+C/.test(term.output()));
      const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(term.output())![1]!;
      const res = await fetch(`${base}/api/energy/premises`, {
        headers: { 'Ocp-Apim-Subscription-Key': DEV_SUBSCRIPTION_KEY, 'X-Request-ID': 'terminal-test-1' },
      });
      expect(res.status).toBe(401);
      await until(() => term.output().includes('terminal-test-1'));
      const out = term.output().replace(/\r/g, '');
      expect(out).toContain(`Live docs, try it  ${base}/docs`);
      expect(out).toContain(`Admin index        ${base}/__admin`);
      expect(out).toContain(DEV_SUBSCRIPTION_KEY);
      expect(out).toMatch(
        /INFO.*: GET \/api\/energy\/premises 401 unauthorized \(ListPremises\) \d+\.\d ms \{"requestId":"terminal-test-1"\}/,
      );
      expect(out).not.toMatch(/^\{"level"/m);
    } finally {
      // The whole group: script and the mock under it.
      const exited = once(term.child, 'exit');
      if (term.child.pid !== undefined) process.kill(-term.child.pid, 'SIGTERM');
      await exited;
    }
  },
);
