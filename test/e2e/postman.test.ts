import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadContract } from '../../contract-kit';
import { ROOT, startServer } from '../helpers/server';
import type { RunningServer } from '../helpers/server';

/**
 * The Postman collection (README "A Postman collection (Portman + Newman)"): generated from the contract by
 * Portman (scripts/postman.js), committed as generated, and run by Newman against the real mock.
 */

/** The part of Newman's programmatic API used here (newman ships no types). */
interface NewmanSummary {
  run: {
    stats: Record<'requests' | 'assertions', { total: number; failed: number }>;
    executions: {
      item: { name: string };
      request: { headers: { toObject(): Record<string, string> } };
      response?: { code: number; headers: { toObject(): Record<string, string> } };
    }[];
    failures: { error: { name: string; test?: string; message: string }; source?: { name?: string } }[];
  };
}
interface Newman {
  run(options: Record<string, unknown>, done: (err: Error | null, summary: NewmanSummary) => void): unknown;
}
const newman = createRequire(__filename)('newman') as Newman;

interface Item {
  name: string;
  item?: Item[];
  request?: { method: string; url: { path: string[] } };
  event?: { listen: string; script: { exec: string[] | string } }[];
}
interface Collection {
  item: Item[];
}

const COMMITTED = join(ROOT, 'postman', 'procode.postman_collection.json');
const ENVIRONMENT = join(ROOT, 'postman', 'procode-mock.postman_environment.json');
/** Left out on purpose (scripts/postman.js): they need a one-time code only a person can read. */
const EXCLUDED = ['SendOTP', 'VerifyOTP'];
const WRITES = ['Register', 'MakePayment'];

function requestsOf(collection: Collection): Item[] {
  const out: Item[] = [];
  const walk = (items: Item[]): void => {
    for (const item of items) {
      if (item.item) walk(item.item);
      else if (item.request) out.push(item);
    }
  };
  walk(collection.item);
  return out;
}

/** Portman names its tests `[METHOD]::/path/:param - ...`; the operation of a request, by that key. */
const keyOf = (item: Item): string => `[${item.request!.method}]::/${item.request!.url.path.join('/')}`;
const testScript = (item: Item): string => {
  const exec = item.event?.find((e) => e.listen === 'test')?.script.exec ?? [];
  return Array.isArray(exec) ? exec.join('\n') : exec;
};

const contract = loadContract();
const operations = contract.operations.filter((op) => !EXCLUDED.includes(op.operationId));
const operationByKey = new Map(
  operations.map((op) => [`[${op.method.toUpperCase()}]::${op.path.replace(/\{(\w+)\}/g, ':$1')}`, op]),
);
const operationIdOf = (item: Item): string => operationByKey.get(keyOf(item))?.operationId ?? keyOf(item);

function runNewman(collection: Collection, envVar: { key: string; value: string }[]): Promise<NewmanSummary> {
  return new Promise((resolve, reject) => {
    newman.run(
      {
        collection,
        environment: JSON.parse(readFileSync(ENVIRONMENT, 'utf8')) as unknown,
        envVar,
        reporters: [],
        timeoutRequest: 10_000,
      },
      (err, summary) => (err ? reject(err) : resolve(summary)),
    );
  });
}

/** Each failed assertion as `request: test: message`, so a failure says where it is. */
const failuresOf = (summary: NewmanSummary): string[] =>
  summary.run.failures.map(
    (f) =>
      `${f.source?.name ?? '?'}: ${f.error.test ?? f.error.name}: ${f.error.message.replace(/\s+/g, ' ')}`,
  );

let dir: string;
let fresh: Collection;
let server: RunningServer;

beforeAll(async () => {
  // First, as it builds dist/ when it is missing, and scripts/postman.js bundles the contract from dist/.
  server = await startServer();
  dir = mkdtempSync(join(tmpdir(), 'procode-postman-test-'));
  const out = join(dir, 'procode.postman_collection.json');
  const generate = spawnSync(process.execPath, [join(ROOT, 'scripts', 'postman.js'), '--out', out], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 90_000,
  });
  if (generate.status !== 0)
    throw new Error(`scripts/postman.js failed:\n${generate.stdout}${generate.stderr}`);
  fresh = JSON.parse(readFileSync(out, 'utf8')) as Collection;
}, 120_000);

afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the committed collection is the one the contract generates (else: npm run postman:generate)', () => {
  const committed = JSON.parse(readFileSync(COMMITTED, 'utf8')) as Collection & Record<string, unknown>;
  const now = fresh as Collection & Record<string, unknown>;
  const stale = [
    ...['info', 'variable', 'event', 'auth'].filter(
      (k) => JSON.stringify(committed[k]) !== JSON.stringify(now[k]),
    ),
    ...requestsOf(now)
      .filter((item) => {
        const before = requestsOf(committed).find((c) => c.name === item.name);
        return JSON.stringify(before) !== JSON.stringify(item);
      })
      .map((item) => item.name),
  ];
  expect(stale).toEqual([]);
  expect(committed).toEqual(now);
});

test('it has every operation but SendOTP and VerifyOTP, in flow order, each with the contract tests', () => {
  const requests = requestsOf(fresh);
  expect(requests.map(operationIdOf).sort()).toEqual(operations.map((op) => op.operationId).sort());
  // The login first; ids are discovered before they are used; the payment before it is read.
  const order = requests.map(operationIdOf);
  for (const [before, after] of [
    ['TokenRequest', 'RefreshToken'],
    ['RefreshToken', 'GetCustomer'],
    ['ListPremises', 'GetPremise'],
    ['ListPremises', 'ListServicePoints'],
    ['ListServicePoints', 'GetServicePoint'],
    ['ListServicePoints', 'ListDevices'],
    ['ListDevices', 'GetBalance'],
    ['ListDevices', 'MakePayment'],
    ['MakePayment', 'GetPayment'],
  ] as const)
    expect(order.indexOf(before)).toBeLessThan(order.indexOf(after));
  const missing = requests.flatMap((item) =>
    [
      'Status code is 2xx',
      'Content-Type is application/json',
      'Response has JSON Body',
      'Schema is valid',
      'Response header X-Request-ID is present',
    ]
      .filter((t) => !testScript(item).includes(`${keyOf(item)} - ${t}`))
      .map((t) => `${operationIdOf(item)}: ${t}`),
  );
  // Portman disables a response's schema check, and says why, when it cannot use the schema.
  const disabled = requests.flatMap((item) => {
    const why = /Response Validation - Disabled due to (.*)/.exec(testScript(item));
    return why ? [`${operationIdOf(item)}: ${why[1]}`] : [];
  });
  expect({ missing, disabled }).toEqual({ missing: [], disabled: [] });
});

test('Newman runs it against the mock: every request is sent and every assertion passes', async () => {
  const summary = await runNewman(fresh, [{ key: 'baseUrl', value: server.base }]);
  expect(failuresOf(summary)).toEqual([]);
  const sent = summary.run.executions.map((e) => e.item.name);
  expect(sent).toEqual(requestsOf(fresh).map((item) => item.name));
  expect(summary.run.executions.every((e) => e.response !== undefined && e.response.code < 300)).toBe(true);
  expect(summary.run.stats.assertions.total).toBeGreaterThanOrEqual(5 * sent.length);
  expect(summary.run.stats.assertions.failed).toBe(0);
  // Each request sent an X-Request-ID of its own (the collection's {{$guid}}, resolved by Newman: never the
  // template, never one fixed id), and each answer names its own.
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  const sentIds = summary.run.executions.map((e) => e.request.headers.toObject()['x-request-id']);
  const answered = summary.run.executions.map((e) => e.response?.headers.toObject()['x-request-id']);
  for (const id of [...sentIds, ...answered]) expect(id).toMatch(UUID);
  expect(new Set(sentIds).size).toBe(sent.length);
  expect(new Set(answered).size).toBe(sent.length);
}, 60_000);

test('with allowWrites false (a real environment, read-only) the writes are skipped and the rest passes', async () => {
  const summary = await runNewman(fresh, [
    { key: 'baseUrl', value: server.base },
    { key: 'allowWrites', value: 'false' },
  ]);
  expect(failuresOf(summary)).toEqual([]);
  const sent = summary.run.executions.map((e) => e.item.name);
  const expected = requestsOf(fresh).filter((item) => !WRITES.includes(operationIdOf(item)));
  expect(sent).toEqual(expected.map((item) => item.name));
}, 60_000);
