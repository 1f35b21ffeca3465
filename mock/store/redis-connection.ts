/**
 * The connection to a shared store on Redis (issue 12; docs/decisions.md "Shared state on Redis (issue
 * 12), design"): an ioredis client tuned to fail fast while Redis is down (a request then answers 503
 * rather than hang) and to reconnect by itself, and the start-up check that turns every way of not
 * reaching a Redis server into one line (ConfigError, which the CLI prints and exits 2 on). The URL itself
 * is parsed by `store-url.ts`, which loads no client: this module, and ioredis with it, is loaded only for
 * `--store redis://...` (`server.ts`).
 */
import { isIP } from 'node:net';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { ConfigError } from '../config';
import { invalid } from './store-url';
import type { StoreUrl } from './store-url';

export { DEFAULT_REDIS_PORT, parseStoreUrl } from './store-url';
export type { StoreUrl } from './store-url';

/** Milliseconds the start-up check waits for the server's first PONG (TCP, ready check and PING together). */
export const DEFAULT_STARTUP_TIMEOUT_MS = 3000;
/** Milliseconds a command may take before it fails (the request answers 503 instead of hanging). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 2000;
/** First reconnect delay after a lost connection, in milliseconds; doubled per attempt. */
export const RECONNECT_FIRST_DELAY_MS = 50;
/** Longest reconnect delay, in milliseconds: a recovered Redis is found within this long. */
export const RECONNECT_MAX_DELAY_MS = 2000;

/** What `/__admin/health` will report of the store's connection. */
export interface RedisHealth {
  /** `up`: connected and ready; `down`: reconnecting (requests that need the store answer 503). */
  readonly status: 'up' | 'down';
  /** The store URL, password hidden. */
  readonly url: string;
  /** The server's product and version from `INFO server` at start-up (`redis 7.0.15`, `valkey 8.1.1`). */
  readonly server: string;
  /** The last connection error while down (one line). */
  readonly error?: string;
}

/** Start-up and runtime settings of a connection. */
export interface RedisConnectOptions {
  /** Milliseconds the start-up check waits for a PONG (default {@link DEFAULT_STARTUP_TIMEOUT_MS}). */
  readonly startupTimeoutMs?: number;
  /** Milliseconds a command may take (default {@link DEFAULT_COMMAND_TIMEOUT_MS}). */
  readonly commandTimeoutMs?: number;
  /** Told of every connection error after start-up (for the log; ioredis reports each retry). */
  readonly onError?: (err: Error) => void;
}

/**
 * The delay before reconnect attempt `attempt` (1, 2, ...), in milliseconds: 50, 100, 200, ... capped at
 * {@link RECONNECT_MAX_DELAY_MS}. No jitter: a mock has a handful of replicas, not a thundering herd.
 */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(RECONNECT_MAX_DELAY_MS, RECONNECT_FIRST_DELAY_MS * 2 ** Math.max(0, attempt - 1));
}

/**
 * ioredis options for `url`: connect only when asked (`lazyConnect`), so the start-up check sees the first
 * failure; no offline queue and no retry of a command whose connection dropped
 * (`maxRetriesPerRequest: 0`), so a request fails at once while Redis is down and a write is never sent
 * twice (a top-up replayed after a lost reply would count twice); each command bounded by
 * `commandTimeoutMs`.
 * @param retry the reconnect strategy (delay in ms for attempt n, or null to give up).
 */
export function redisOptions(
  url: StoreUrl,
  retry: (attempt: number) => number | null,
  options: RedisConnectOptions = {},
): RedisOptions {
  const timeout = options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
  return {
    host: url.host,
    port: url.port,
    db: url.db,
    ...(url.username !== undefined ? { username: url.username } : {}),
    ...(url.password !== undefined ? { password: url.password } : {}),
    // SNI carries a host name only (RFC 6066 section 3), never an address.
    ...(url.tls ? { tls: isIP(url.host) ? {} : { servername: url.host } } : {}),
    connectionName: 'procode-mock',
    lazyConnect: true,
    connectTimeout: timeout,
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    autoResendUnfulfilledCommands: false,
    retryStrategy: retry,
  };
}

/** The start-up check ran out of time. */
class StartupTimeout extends Error {
  override readonly name = 'StartupTimeout';
}

/**
 * Why the start-up check failed, as one line that says what to do.
 * @param err the last error ioredis reported (or the check's own timeout).
 * @param timeoutMs the check's timeout, in milliseconds (for the message).
 */
export function redisProblem(err: unknown, url: StoreUrl, timeoutMs: number): ConfigError {
  const where = `${url.host.includes(':') ? `[${url.host}]` : url.host}:${url.port}`;
  const e = err as Partial<NodeJS.ErrnoException> | undefined;
  const message = String(e?.message ?? err).split('\n')[0]!;
  const code = e?.code ?? '';
  const say = (rule: string): ConfigError => invalid(url.source, url.display, rule);
  if (code === 'ECONNREFUSED') return say(`nothing listens on ${where}: start redis-server, or fix the URL`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return say(`the host name ${url.host} does not resolve`);
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return say(`${where} is unreachable from here`);
  if (code === 'ETIMEDOUT' || e instanceof StartupTimeout) {
    const guess = url.tls ? 'not a Redis server, or one without TLS?' : 'a firewall, or not a Redis server?';
    return say(`no Redis reply from ${where} within ${timeoutMs / 1000} s (${guess})`);
  }
  if (/Unknown RESP type|Protocol error|unexpected reply/i.test(message)) {
    return say(`${where} does not speak the Redis protocol (another kind of server on that port?)`);
  }
  if (/NOAUTH/.test(message)) return say('the server requires a password: redis://:<password>@host:port/db');
  if (/WRONGPASS|invalid password|invalid username-password/i.test(message)) {
    return say('the server refused the user name or password');
  }
  if (/DB index is out of range/i.test(message)) return say(`the server has no database ${url.db}`);
  if (/SSL|TLS|EPROTO|certificate/i.test(`${code} ${message}`)) {
    return say(`TLS with ${where} failed (${message}); rediss:// needs a TLS server, redis:// a plain one`);
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || /Connection is closed/i.test(message)) {
    return say(`${where} closed the connection (not a Redis server, or it refused this client)`);
  }
  return say(`cannot use Redis at ${where}: ${message}`);
}

/**
 * A connected Redis client for the shared store, with its health. Open one with {@link RedisConnection.open};
 * after start-up it reconnects by itself, every {@link reconnectDelayMs} at most 2 s apart, while commands
 * fail at once (the caller answers 503 with `Retry-After: {@link RedisConnection.retryAfterSeconds}`).
 */
export class RedisConnection {
  private lastError: Error | undefined;

  private constructor(
    /** The store URL it was opened with. */
    readonly url: StoreUrl,
    /** The ioredis client: for the store's commands and Lua scripts. */
    readonly client: Redis,
    /** The server's product and version (`redis 7.0.15`). */
    readonly server: string,
    errors: { last: Error | undefined; onError?: (err: Error) => void },
  ) {
    this.lastError = errors.last;
    client.on('error', (err: Error) => {
      this.lastError = err;
      errors.onError?.(err);
    });
    client.on('ready', () => (this.lastError = undefined));
    client.on('close', () => (this.lastError ??= new Error('the connection closed; reconnecting')));
  }

  /**
   * Connects and checks the server: TCP (TLS for `rediss://`), `AUTH`, `SELECT`, ioredis's ready check
   * (`INFO`, waiting out a server still loading), then `PING`, all within `startupTimeoutMs`. Start-up
   * does not retry: a wrong URL should fail in seconds, with its reason.
   * @throws ConfigError one line for a server that is not there, not reachable in time, not Redis, or
   *   refuses the credentials or the database.
   */
  static async open(url: StoreUrl, options: RedisConnectOptions = {}): Promise<RedisConnection> {
    const timeoutMs = options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
    let started = false;
    const errors: { last: Error | undefined; onError?: (err: Error) => void } = { last: undefined };
    if (options.onError) errors.onError = options.onError;
    const client = new Redis(
      redisOptions(url, (attempt) => (started ? reconnectDelayMs(attempt) : null), options),
    );
    const early = (err: Error): void => {
      errors.last = err;
    };
    client.on('error', early);
    let timer: NodeJS.Timeout | undefined;
    try {
      const pong = await Promise.race([
        client.connect().then(() => client.ping()),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new StartupTimeout(`no reply within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      if (pong !== 'PONG') throw new Error(`unexpected reply to PING: ${String(pong)}`);
      // ioredis reports a failed SELECT only as an error event and carries on in database 0: ask again.
      if (url.db !== 0) await client.select(url.db);
      const info = await client.info('server');
      started = true;
      client.off('error', early);
      return new RedisConnection(url, client, serverName(info), errors);
    } catch (err) {
      // Not when it has already ended: ioredis would arm a 2 s timer for a stream that is gone.
      if (client.status !== 'end') client.disconnect();
      // ioredis rejects connect() with a bare "Connection is closed."; the error event says why.
      const cause = err instanceof StartupTimeout ? err : (errors.last ?? err);
      throw redisProblem(cause, url, timeoutMs);
    } finally {
      clearTimeout(timer);
    }
  }

  /** `up` while the client is ready, `down` while it reconnects. */
  health(): RedisHealth {
    const up = this.client.status === 'ready';
    return {
      status: up ? 'up' : 'down',
      url: this.url.display,
      server: this.server,
      ...(!up && this.lastError ? { error: this.lastError.message.split('\n')[0]! } : {}),
    };
  }

  /**
   * Seconds a client should wait before retrying a request refused because Redis is down (`Retry-After`):
   * the longest reconnect delay, rounded up, so the next attempt finds a recovered server.
   */
  retryAfterSeconds(): number {
    return Math.ceil(RECONNECT_MAX_DELAY_MS / 1000);
  }

  /** Closes the connection (`QUIT`, or at once when it is down) and stops reconnecting. */
  async close(): Promise<void> {
    if (this.client.status === 'ready') {
      try {
        await this.client.quit();
        return;
      } catch {
        // fall through: drop it
      }
    }
    if (this.client.status !== 'end') this.client.disconnect();
  }
}

/** `redis 7.0.15` or `valkey 8.1.1` from an `INFO server` reply. */
function serverName(info: string): string {
  const field = (name: string): string | undefined =>
    new RegExp(`^${name}:(.+)$`, 'm').exec(info)?.[1]?.trim();
  const valkey = field('valkey_version');
  if (valkey) return `valkey ${valkey}`;
  return `${field('server_name') ?? 'redis'} ${field('redis_version') ?? 'unknown'}`;
}
