import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startServer } from '../helpers/server';
import type { RunningServer } from '../helpers/server';

/** The README's curl walkthrough, run exactly as written (every ```sh block, in order) against the real server. */
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);

let server: RunningServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

test('the README walkthrough runs as written and every call in it succeeds', () => {
  expect(blocks.length).toBeGreaterThanOrEqual(5);
  const run = spawnSync('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', blocks.join('\n')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', BASE: server.base },
    encoding: 'utf8',
    timeout: 60_000,
  });
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
