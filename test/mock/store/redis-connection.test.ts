/**
 * The shared store's connection (mock/store/redis-connection.ts): store URLs checked in one line each
 * (passwords never shown), and the start-up check against a real redis-server and against what is not
 * one: a closed port, a silent TCP server, an HTTP server, a wrong database, wrong credentials, TLS to a
 * plain server. Then an outage and its recovery: commands fail fast while Redis is down, and the client
 * finds the server again by itself.
 */
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { ConfigError } from '../../../mock/config';
import {
  RECONNECT_MAX_DELAY_MS,
  RedisConnection,
  parseStoreUrl,
  reconnectDelayMs,
  redisOptions,
} from '../../../mock/store/redis-connection';
import { describeWithRedis, freePort, startRedis } from '../../helpers/redis-server';
import type { RedisServer } from '../../helpers/redis-server';

/** The ConfigError message `fn` throws (fails the test when it throws anything else, or nothing). */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('no ConfigError');
}

/** The ConfigError message opening `url` rejects with. */
async function openError(url: string, startupTimeoutMs = 3000): Promise<string> {
  const err: unknown = await RedisConnection.open(parseStoreUrl(url), { startupTimeoutMs }).then(
    async (c) => {
      await c.close();
      return new Error('connected');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  const message = (err as ConfigError).message;
  expect(message).not.toContain('\n');
  return message;
}

/** A server listening on a free 127.0.0.1 port; closed by the caller. */
async function listening<T extends Server | ReturnType<typeof createHttpServer>>(server: T): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

describe('parseStoreUrl', () => {
  it.each([
    ['redis://127.0.0.1:6379/0', { tls: false, host: '127.0.0.1', port: 6379, db: 0 }],
    ['redis://localhost', { tls: false, host: 'localhost', port: 6379, db: 0 }],
    ['redis://redis:6380/', { tls: false, host: 'redis', port: 6380, db: 0 }],
    ['rediss://cache.example:6380/3', { tls: true, host: 'cache.example', port: 6380, db: 3 }],
    ['redis://[::1]:7000/15', { tls: false, host: '::1', port: 7000, db: 15 }],
    ['  redis://127.0.0.1:6379/2  ', { tls: false, host: '127.0.0.1', port: 6379, db: 2 }],
  ])('%s', (value, expected) => {
    const url = parseStoreUrl(value, 'PROCODE_STORE');
    expect(url).toEqual({ source: 'PROCODE_STORE', display: value.trim(), ...expected });
  });

  it('decodes credentials and hides the password in display', () => {
    const url = parseStoreUrl('redis://mock:p%40ss%2Fw0rd@127.0.0.1:6379/1');
    expect(url.username).toBe('mock');
    expect(url.password).toBe('p@ss/w0rd');
    expect(url.display).toBe('redis://mock:***@127.0.0.1:6379/1');
    const passwordOnly = parseStoreUrl('redis://:s3cret@127.0.0.1/0');
    expect(passwordOnly.username).toBeUndefined();
    expect(passwordOnly.password).toBe('s3cret');
    expect(passwordOnly.display).toBe('redis://:***@127.0.0.1/0');
  });

  it.each([
    ['not a url', '--store="not a url": must be a URL like redis://127.0.0.1:6379/0 (rediss:// for TLS)'],
    [
      '127.0.0.1:6379',
      '--store="127.0.0.1:6379": must be a URL like redis://127.0.0.1:6379/0 (rediss:// for TLS)',
    ],
    ['localhost:6379', '--store="localhost:6379": must start with redis:// (or rediss:// for TLS)'],
    [
      'http://127.0.0.1:6379',
      '--store="http://127.0.0.1:6379/": must start with redis:// (or rediss:// for TLS)',
    ],
    [
      'valkey://127.0.0.1:6379/0',
      '--store="valkey://127.0.0.1:6379/0": use redis:// (or rediss:// for TLS): Valkey speaks the Redis protocol',
    ],
    ['redis://', '--store="redis://": names no host: redis://<host>:<port>/<db>'],
    ['redis://127.0.0.1:0/0', '--store="redis://127.0.0.1:0/0": port must be 1 to 65535'],
    [
      'redis://127.0.0.1:6379/cache',
      '--store="redis://127.0.0.1:6379/cache": the path must be a database number (/0 to /15 on a default server)',
    ],
    [
      'redis://127.0.0.1:6379/0/x',
      '--store="redis://127.0.0.1:6379/0/x": the path must be a database number (/0 to /15 on a default server)',
    ],
    [
      'redis://127.0.0.1:6379/0?db=1',
      '--store="redis://127.0.0.1:6379/0?db=1": takes no ?query or #fragment (the key prefix is --store-prefix)',
    ],
    [
      'redis://mock@127.0.0.1:6379/0',
      '--store="redis://mock@127.0.0.1:6379/0": a user name needs a password: redis://<user>:<password>@<host>:<port>/<db>',
    ],
    [
      'redis://mock:%zz@127.0.0.1/0',
      '--store="redis://mock:***@127.0.0.1/0": the user name or password is not valid percent-encoding',
    ],
  ])('refuses %j in one line', (value, message) => {
    expect(configError(() => parseStoreUrl(value))).toBe(message);
  });

  it('never shows a password, even in a value it cannot parse', () => {
    for (const value of [
      'redis://:hunter2@',
      'redis://u:hunter2@[bad',
      'http://u:hunter2@h/0',
      'redis://u:hunter2@h/x',
    ]) {
      const message = configError(() => parseStoreUrl(value, 'PROCODE_STORE'));
      expect(message).toMatch(/^PROCODE_STORE/);
      expect(message).not.toContain('hunter2');
    }
  });
});

describe('reconnect policy', () => {
  it('backs off 50, 100, 200 ... ms, capped at 2 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 1000].map(reconnectDelayMs)).toEqual([
      50, 100, 200, 400, 800, 1600, 2000, 2000, 2000,
    ]);
    expect(RECONNECT_MAX_DELAY_MS).toBe(2000);
  });

  it('fails commands fast while down and never replays one', () => {
    const options = redisOptions(parseStoreUrl('rediss://u:p@h:1/2'), () => null, { commandTimeoutMs: 1500 });
    expect(options).toMatchObject({
      host: 'h',
      port: 1,
      db: 2,
      username: 'u',
      password: 'p',
      tls: { servername: 'h' },
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: 1500,
    });
  });
});

describe('start-up check against what is not a Redis server', () => {
  const servers: { close(): unknown }[] = [];
  const sockets: Socket[] = [];
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(
      servers.map((s) => new Promise((r) => (s.close as (cb: () => void) => void)(() => r(null)))),
    );
  });

  it('a closed port: nothing listens', async () => {
    const port = await freePort();
    expect(await openError(`redis://127.0.0.1:${port}/0`)).toBe(
      `--store="redis://127.0.0.1:${port}/0": nothing listens on 127.0.0.1:${port}: start redis-server, or fix the URL`,
    );
  });

  it('a server that never answers: times out after the start-up timeout', async () => {
    const silent = createTcpServer((socket) => sockets.push(socket));
    servers.push(silent);
    const port = await listening(silent);
    const t0 = performance.now();
    expect(await openError(`redis://127.0.0.1:${port}/0`, 400)).toBe(
      `--store="redis://127.0.0.1:${port}/0": no Redis reply from 127.0.0.1:${port} within 0.4 s (a firewall, or not a Redis server?)`,
    );
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(3000);
  });

  it('an HTTP server: does not speak the Redis protocol', async () => {
    const http = createHttpServer((_req, res) => res.end('hello'));
    servers.push(http);
    const port = await listening(http);
    expect(await openError(`redis://127.0.0.1:${port}/0`)).toBe(
      `--store="redis://127.0.0.1:${port}/0": 127.0.0.1:${port} does not speak the Redis protocol (another kind of server on that port?)`,
    );
  });

  it('a server that hangs up at once: closed the connection', async () => {
    const rude = createTcpServer((socket) => socket.destroy());
    servers.push(rude);
    const port = await listening(rude);
    expect(await openError(`redis://127.0.0.1:${port}/0`)).toBe(
      `--store="redis://127.0.0.1:${port}/0": 127.0.0.1:${port} closed the connection (not a Redis server, or it refused this client)`,
    );
  });
});

describeWithRedis('against a real redis-server', () => {
  let server: RedisServer;
  const opened: RedisConnection[] = [];
  const open = async (url: string): Promise<RedisConnection> => {
    const c = await RedisConnection.open(parseStoreUrl(url));
    opened.push(c);
    return c;
  };
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(opened.map((c) => c.close()));
    await server?.close();
  });

  it('connects, reports health, and selects the database of the URL', async () => {
    const db0 = await open(`redis://127.0.0.1:${server.port}/0`);
    const db3 = await open(`redis://127.0.0.1:${server.port}/3`);
    expect(db0.health()).toEqual({
      status: 'up',
      url: `redis://127.0.0.1:${server.port}/0`,
      server: expect.stringMatching(/^(redis|valkey) \d+\.\d+\.\d+$/) as unknown as string,
    });
    await db3.client.set('conn:k', 'three');
    expect(await db3.client.get('conn:k')).toBe('three');
    expect(await db0.client.get('conn:k')).toBeNull();
    expect(await db0.client.client('GETNAME')).toBe('procode-mock');
  });

  it('a database the server does not have', async () => {
    expect(await openError(`redis://127.0.0.1:${server.port}/99`)).toBe(
      `--store="redis://127.0.0.1:${server.port}/99": the server has no database 99`,
    );
  });

  it('TLS to a plain server: no reply (the server waits for a line), and the message says why that may be', async () => {
    expect(await openError(`rediss://127.0.0.1:${server.port}/0`, 500)).toBe(
      `--store="rediss://127.0.0.1:${server.port}/0": no Redis reply from 127.0.0.1:${server.port} within 0.5 s (not a Redis server, or one without TLS?)`,
    );
  });

  it('a password: required, wrong, right', async () => {
    const admin = await open(`redis://127.0.0.1:${server.port}/0`);
    await admin.client.config('SET', 'requirepass', 'hunter2');
    try {
      expect(await openError(`redis://127.0.0.1:${server.port}/0`)).toBe(
        `--store="redis://127.0.0.1:${server.port}/0": the server requires a password: redis://:<password>@host:port/db`,
      );
      const wrong = await openError(`redis://:nope@127.0.0.1:${server.port}/0`);
      expect(wrong).toBe(
        `--store="redis://:***@127.0.0.1:${server.port}/0": the server refused the user name or password`,
      );
      const right = await open(`redis://:hunter2@127.0.0.1:${server.port}/0`);
      expect(await right.client.ping()).toBe('PONG');
      expect(right.health().url).toBe(`redis://:***@127.0.0.1:${server.port}/0`);
    } finally {
      await admin.client.config('SET', 'requirepass', '');
    }
  });

  it('an outage: commands fail at once and health says down; then it reconnects by itself', async () => {
    const errors: Error[] = [];
    const c = await RedisConnection.open(parseStoreUrl(`redis://127.0.0.1:${server.port}/0`), {
      onError: (e) => errors.push(e),
    });
    opened.push(c);
    await c.client.set('conn:outage', '1');
    await server.stop();
    const down = performance.now() + 5000;
    while (c.health().status === 'up' && performance.now() < down)
      await new Promise((r) => setTimeout(r, 10));
    expect(c.health()).toMatchObject({ status: 'down', error: expect.any(String) as unknown as string });
    // Each failed reconnect is reported (for the log).
    while (errors.length === 0 && performance.now() < down) await new Promise((r) => setTimeout(r, 10));
    expect(errors[0]).toMatchObject({ code: 'ECONNREFUSED' });

    const t0 = performance.now();
    await expect(c.client.get('conn:outage')).rejects.toThrow();
    expect(performance.now() - t0).toBeLessThan(200);
    expect(c.retryAfterSeconds()).toBe(2);

    await server.restart();
    const deadline = performance.now() + RECONNECT_MAX_DELAY_MS + 5000;
    while (c.health().status !== 'up' && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(c.health()).toMatchObject({ status: 'up' });
    expect(c.health()).not.toHaveProperty('error');
    expect(await c.client.get('conn:outage')).toBeNull(); // nothing persisted across the restart
    expect(await c.client.set('conn:after', '1')).toBe('OK');
  });
});
