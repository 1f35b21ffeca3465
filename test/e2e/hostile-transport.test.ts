import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import personas from '../../fixtures/personas.json';
import { loadConfig } from '../../mock/config';
import { startMock } from '../../mock/server';
import type { RunningMock } from '../../mock/server';
import { startServer } from '../helpers/server';
import type { RunningServer } from '../helpers/server';

/**
 * Hostile transports (issue 11) against the real server process: whatever a client sends, the process
 * answers with exactly one problem+json response and closes the connection, or with the operation's
 * own answer; slow clients get 408; a client that pipelines and never reads cannot make it hold file
 * handles or memory per request. Short timeouts come from the settings.
 */
let server: RunningServer;
let port = 0;

beforeAll(async () => {
  server = await startServer({
    PROCODE_LOG_LEVEL: 'info',
    PROCODE_HEADERS_TIMEOUT: '1',
    PROCODE_REQUEST_TIMEOUT: '2',
  });
  port = Number(new URL(server.base).port);
});

afterAll(async () => {
  await server.stop();
});

const KEY = personas.subscriptionKey;
const basic = personas.personas.find((p) => p.id === 'basic')!;
const CLIENT_BASIC = Buffer.from(`${personas.clientId}:${personas.clientSecret}`).toString('base64');

interface Exchange {
  /** Everything the server sent. */
  text: string;
  /** The status of each response, in order. */
  statuses: number[];
  /** The server closed the connection (rather than the test giving up waiting). */
  closedByServer: boolean;
}

/**
 * Sends `request` on a new connection (then half-closes it when `halfClose`) and reads until the server
 * closes the connection or `waitMs` pass.
 */
async function exchange(
  request: string,
  {
    halfClose = false,
    waitMs = 15_000,
    afterFirstReply,
  }: { halfClose?: boolean; waitMs?: number; afterFirstReply?: string } = {},
): Promise<Exchange> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (d: Buffer) => {
    const first = text === '';
    text += d.toString('latin1');
    // More of the request, sent only once the server has answered what came before it.
    if (first && afterFirstReply !== undefined && !socket.destroyed) socket.write(afterFirstReply);
  });
  socket.on('error', () => undefined);
  socket.write(request);
  if (halfClose) socket.end();
  let closedByServer = false;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    socket.once('end', () => {
      closedByServer = true;
      clearTimeout(timer);
      resolve();
    });
  });
  socket.destroy();
  const statuses = [...text.matchAll(/(?:^|\r\n\r\n|\})HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  return { text, statuses, closedByServer };
}

/** The JSON body of the first (only) response. */
function bodyOf(text: string): Record<string, unknown> {
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
}

function expectOneProblem(x: Exchange, status: number, slug: string): void {
  expect({ statuses: x.statuses, closedByServer: x.closedByServer }).toEqual({
    statuses: [status],
    closedByServer: true,
  });
  expect(x.text).toMatch(/\r\ncontent-type: application\/problem\+json; charset=utf-8\r\n/i);
  expect(x.text).toMatch(/\r\nconnection: close\r\n/i);
  const body = bodyOf(x.text);
  expect(body).toMatchObject({ type: `https://procode.example/problems/${slug}`, status });
  expect(body.instance).toMatch(/^urn:procode:request:/);
  expect(x.text).not.toMatch(/\n\s+at /);
}

const PREMISES = '/api/energy/premises';
const TOKEN = '/api/identity/auth/TokenRequest';
const REFRESH = '/api/identity/auth/RefreshToken';
const REGISTER = '/api/identity/registration/Register';

test.each([
  [
    'Expect: bogus on GetPremises',
    `GET ${PREMISES} HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\n\r\n`,
    417,
    'expectation-failed',
  ],
  [
    'Expect: bogus on TokenRequest',
    `POST ${TOKEN} HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
    417,
    'expectation-failed',
  ],
  [
    'Expect: bogus on the docs',
    'GET /docs HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n',
    417,
    'expectation-failed',
  ],
  ['an HTTP/1.1 request without Host', 'GET / HTTP/1.1\r\n\r\n', 400, 'malformed-request'],
  ['two Host headers', `GET ${PREMISES} HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`, 400, 'malformed-request'],
  ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 501, 'not-implemented'],
  ['HTTP/2.0 as text', `GET ${PREMISES} HTTP/2.0\r\nHost: x\r\n\r\n`, 505, 'http-version-not-supported'],
  ['HTTP/1.2', `GET ${PREMISES} HTTP/1.2\r\nHost: x\r\n\r\n`, 505, 'http-version-not-supported'],
  ['an unknown method token', 'BREW / HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'malformed-request'],
  [
    'both Content-Length and Transfer-Encoding',
    'POST /api/energy/payments HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    400,
    'malformed-request',
  ],
  [
    'headers over 16 KiB',
    `GET ${PREMISES} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    431,
    'headers-too-large',
  ],
  [
    'an invalid chunk size in a body the operation reads (Register)',
    `POST ${REGISTER} HTTP/1.1\r\nHost: x\r\nOcp-Apim-Subscription-Key: ${KEY}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\nzz\r\n\r\n`,
    400,
    'malformed-request',
  ],
])('%s gets exactly one problem+json, then the connection closes', async (_name, request, status, slug) => {
  expectOneProblem(await exchange(request), status, slug);
});

test.each([
  ['without a subscription key', ''],
  ['without a bearer token', `Ocp-Apim-Subscription-Key: ${KEY}\r\n`],
])(
  'an invalid chunk size after the operation already answered (%s) gets no second response',
  async (_name, key) => {
    // The bad chunk follows the answer (the mock answers a request at the end of the event loop's turn
    // it arrived in, so in the same packet it would be parsed first and answered 400 instead).
    const x = await exchange(
      `POST /api/energy/payments HTTP/1.1\r\nHost: x\r\n${key}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n`,
      { afterFirstReply: 'zz\r\n\r\n' },
    );
    expect({ statuses: x.statuses, closedByServer: x.closedByServer }).toEqual({
      statuses: [401],
      closedByServer: true,
    });
  },
);

test('two pipelined requests then garbage: both answered in order, then one 400, then close', async () => {
  const get = `GET ${PREMISES} HTTP/1.1\r\nHost: x\r\nOcp-Apim-Subscription-Key: ${KEY}\r\n\r\n`;
  const x = await exchange(`${get}${get}GARBAGE\r\n\r\n`);
  expect({ statuses: x.statuses, closedByServer: x.closedByServer }).toEqual({
    statuses: [401, 401, 400],
    closedByServer: true,
  });
});

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

function post(path: string, body: string): string {
  return (
    `POST ${path} HTTP/1.1\r\nHost: x\r\nOcp-Apim-Subscription-Key: ${KEY}\r\nAuthorization: Basic ${CLIENT_BASIC}\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

test('TokenRequest answers a client that half-closes right after its request, then closes', async () => {
  const x = await exchange(
    post(TOKEN, form({ grant_type: 'password', username: basic.username, password: basic.password })),
    { halfClose: true },
  );
  expect({ statuses: x.statuses, closedByServer: x.closedByServer }).toEqual({
    statuses: [200],
    closedByServer: true,
  });
  expect(bodyOf(x.text).token_type).toBe('Bearer');
});

test('RefreshToken answers a client that half-closes right after its request', async () => {
  const login = await exchange(
    post(TOKEN, form({ grant_type: 'password', username: basic.username, password: basic.password })),
    { halfClose: true },
  );
  const refresh = String(bodyOf(login.text).refresh_token);
  const x = await exchange(post(REFRESH, form({ grant_type: 'refresh_token', refresh_token: refresh })), {
    halfClose: true,
  });
  expect({ statuses: x.statuses, closedByServer: x.closedByServer }).toEqual({
    statuses: [200],
    closedByServer: true,
  });
  expect(bodyOf(x.text).access_token).toEqual(expect.any(String));
});

test('a client that sends half its headers gets 408 request-timeout after the headers timeout (1 s here)', async () => {
  const started = performance.now();
  const x = await exchange(`GET ${PREMISES} HTTP/1.1\r\nHost: x\r\n`);
  const seconds = (performance.now() - started) / 1000;
  expectOneProblem(x, 408, 'request-timeout');
  // Checked every second: between 1 and 2 s, with room for a loaded machine.
  expect(seconds).toBeGreaterThanOrEqual(0.9);
  expect(seconds).toBeLessThan(10);
});

test('a client that stops sending its body gets 408 request-timeout after the request timeout (2 s here)', async () => {
  const started = performance.now();
  const x = await exchange(
    `POST ${REGISTER} HTTP/1.1\r\nHost: x\r\nOcp-Apim-Subscription-Key: ${KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"acc`,
  );
  const seconds = (performance.now() - started) / 1000;
  expectOneProblem(x, 408, 'request-timeout');
  expect(seconds).toBeGreaterThanOrEqual(1.9);
  expect(seconds).toBeLessThan(12);
});

/** Open file descriptors of the server process (Linux /proc). */
function openFds(): number {
  return readdirSync(`/proc/${server.process.pid}/fd`).length;
}

/** Resident memory of the server process, in bytes (Linux /proc). */
function rssBytes(): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.process.pid}/status`, 'utf8'))![1]!;
  return Number(kb) * 1024;
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** Pipelines `count` GETs of `path` on one connection that never reads; resolves once they are all sent. */
async function stalledPipeline(path: string, count: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.pause();
  socket.on('error', () => undefined);
  const one = `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
  // The server stops reading once it holds what it may: the rest waits in the kernel's buffers.
  socket.write(one.repeat(count));
  await new Promise((r) => setTimeout(r, 1500));
  return socket;
}

test('a client pipelining the docs bundle and Scalar’s script without reading leaves no file handles and little memory behind', async () => {
  const page = await (await fetch(`${server.base}/docs`)).text();
  const script = /<script src="(\/docs\/assets\/[^"]+\/standalone\.js)"/.exec(page)![1]!;
  // Warm: the first request reads Scalar's script into memory once.
  expect((await fetch(server.base + script)).status).toBe(200);
  await until(() => false, 300);
  const fdsBefore = openFds();
  const rssBefore = rssBytes();
  const sockets = [
    await stalledPipeline('/docs/openapi.json', 2000),
    await stalledPipeline(script, 200),
    await stalledPipeline('/docs/admin.openapi.json', 2000),
  ];
  const grown = rssBytes() - rssBefore;
  // One response and one read of requests per connection, not 2000 copies of a 200 KB bundle (957 MB
  // before): a generous bound for the collector's own slack.
  expect(grown).toBeLessThan(150 * 1024 * 1024);
  for (const s of sockets) s.destroy();
  await until(() => openFds() <= fdsBefore, 5000);
  expect(openFds()).toBeLessThanOrEqual(fdsBefore);
  // And the server still answers.
  expect((await fetch(`${server.base}/docs/openapi.json`)).status).toBe(200);
});

test('the docs bundle carries an ETag and answers If-None-Match with 304', async () => {
  const first = await fetch(`${server.base}/docs/openapi.json`);
  const etag = first.headers.get('etag');
  expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
  expect(first.headers.get('content-length')).toBe(String((await first.arrayBuffer()).byteLength));
  const again = await fetch(`${server.base}/docs/openapi.json`, { headers: { 'If-None-Match': etag! } });
  expect(again.status).toBe(304);
});

describe('with maxRequestsPerSocket 2 (in process)', () => {
  let mock: RunningMock;
  beforeAll(async () => {
    mock = await startMock(loadConfig({ port: 0, logLevel: 'silent', maxRequestsPerSocket: 2 }, {}));
  });
  afterAll(async () => {
    await mock.close(1000);
  });

  test('the second response on a connection says Connection: close and the rest are not answered', async () => {
    const socket = connect(Number(new URL(mock.url).port), '127.0.0.1');
    await once(socket, 'connect');
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.write(`GET ${PREMISES} HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(4));
    await once(socket, 'close');
    const heads = text.split(/\r\n\r\n/).filter((part) => part.includes('HTTP/1.1 '));
    expect(heads.map((h) => /HTTP\/1\.1 (\d{3})/.exec(h)![1])).toEqual(['401', '401']);
    expect(heads[1]).toMatch(/\r\nConnection: close/i);
  });
});

test.each([
  [
    { PROCODE_HEADERS_TIMEOUT: 'soon' },
    /^PROCODE_HEADERS_TIMEOUT="soon": headers timeout \(seconds\) must be/,
  ],
  [
    { PROCODE_HEADERS_TIMEOUT: '40' },
    /^PROCODE_HEADERS_TIMEOUT="40": the headers timeout must not be longer than the request timeout \(30 s/,
  ],
  [
    { PROCODE_MAX_UNSENT: '100' },
    /^PROCODE_MAX_UNSENT="100": max unsent \(bytes\) must be a whole number from 16384/,
  ],
  [{ PROCODE_MAX_CONNECTIONS: '0' }, /^PROCODE_MAX_CONNECTIONS="0": max connections must be/],
])('an invalid server limit %o is refused naming its source', (env, message) => {
  expect(() => loadConfig({}, env)).toThrow(message);
});

test('the server limits default to 10 s headers, 30 s request, 65 s keep-alive, 120 s socket, 1000 connections', () => {
  expect(loadConfig({}, {})).toMatchObject({
    headersTimeoutSeconds: 10,
    requestTimeoutSeconds: 30,
    keepAliveTimeoutSeconds: 65,
    socketTimeoutSeconds: 120,
    maxConnections: 1000,
    maxRequestsPerSocket: 0,
    maxUnsentBytes: 1024 * 1024,
  });
  expect(loadConfig({ requestTimeoutSeconds: '5', headersTimeoutSeconds: '5' }, {})).toMatchObject({
    requestTimeoutSeconds: 5,
    headersTimeoutSeconds: 5,
  });
});
