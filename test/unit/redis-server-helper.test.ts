/**
 * The test helper that runs a real redis-server (test/helpers/redis-server.ts): it starts one on a free
 * loopback port with nothing persisted, the client reaches it, stop/restart keep the port, and close
 * leaves no process and no folder behind.
 */
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { describeWithRedis, ping, redisRequired, startRedis } from '../helpers/redis-server';
import type { RedisServer } from '../helpers/redis-server';

/** Whether a process with this PID exists (signal 0 checks without signalling). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('redisRequired', () => {
  it.each([
    [{}, false],
    [{ CI: 'true' }, true],
    [{ CI: '1' }, true],
    [{ CI: 'false' }, false],
    [{ CI: '0' }, false],
    [{ CI: '' }, false],
    [{ PROCODE_REQUIRE_REDIS: '1' }, true],
    [{ PROCODE_REQUIRE_REDIS: '0' }, false],
  ])('%j -> %s', (env, required) => {
    expect(redisRequired(env)).toBe(required);
  });
});

describeWithRedis('startRedis', () => {
  let server: RedisServer;
  let client: Redis | undefined;

  beforeAll(async () => {
    server = await startRedis();
  });
  afterEach(() => {
    client?.disconnect();
    client = undefined;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('runs redis-server on 127.0.0.1 with its folder under the run TMPDIR and nothing persisted', async () => {
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}/0`);
    expect(server.dir.startsWith(tmpdir())).toBe(true);
    expect(alive(server.pid()!)).toBe(true);
    client = new Redis({
      host: '127.0.0.1',
      port: server.port,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    expect(await client.set('helper:k', 'v')).toBe('OK');
    expect(await client.get('helper:k')).toBe('v');
    expect(await client.config('GET', 'dir')).toEqual(['dir', server.dir]);
    expect(await client.config('GET', 'save')).toEqual(['save', '']);
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    expect(await client.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
    expect(readdirSync(server.dir)).toEqual([]);
  });

  it('stop() is an outage on the same port; restart() brings it back empty', async () => {
    const pid = server.pid()!;
    client = new Redis({
      host: '127.0.0.1',
      port: server.port,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    await client.connect();
    await client.set('helper:before', '1');
    client.disconnect();
    await server.stop();
    expect(server.running()).toBe(false);
    expect(server.pid()).toBeUndefined();
    expect(alive(pid)).toBe(false);
    expect(await ping(server.port, 300)).toBe(false);
    expect(existsSync(server.dir)).toBe(true);

    await server.restart();
    expect(server.running()).toBe(true);
    expect(server.pid()).not.toBe(pid);
    expect(await ping(server.port)).toBe(true);
    client = new Redis({
      host: '127.0.0.1',
      port: server.port,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    await client.connect();
    expect(await client.get('helper:before')).toBeNull();
  });

  it('close() leaves no process and no folder, and may be called twice', async () => {
    const other = await startRedis();
    const pid = other.pid()!;
    expect(other.port).not.toBe(server.port);
    await other.close();
    await other.close();
    expect(alive(pid)).toBe(false);
    expect(existsSync(other.dir)).toBe(false);
    expect(await ping(other.port, 300)).toBe(false);
  });
});
