/**
 * The store URL (`--store`, `PROCODE_STORE`; issue 12), parsed and checked without loading a Redis client:
 * the configuration reads it for every start, while ioredis is loaded only for a Redis store
 * (`redis-connection.ts`, required by `server.ts` on that path alone).
 */
import { ConfigError } from '../config';

/** The Redis port when a store URL names none (Redis's registered port). */
export const DEFAULT_REDIS_PORT = 6379;

/** A checked store URL: `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. */
export interface StoreUrl {
  /** Where the URL came from, for messages: `--store`, `PROCODE_STORE`. */
  readonly source: string;
  /** `rediss://`: TLS to the server (certificate checked against the system's CAs). */
  readonly tls: boolean;
  /** Host name or address (an IPv6 address without its brackets). */
  readonly host: string;
  /** TCP port, 1 to 65535 (6379 when the URL names none). */
  readonly port: number;
  /** Logical database number (`SELECT`), 0 when the URL has no path. */
  readonly db: number;
  /** ACL user (Redis 6 and later), percent-decoded. */
  readonly username?: string;
  /** Password (`AUTH`), percent-decoded. A secret: never logged or shown. */
  readonly password?: string;
  /** The URL with the password shown as `***`: for messages, logs and `/__admin/health`. */
  readonly display: string;
}

/**
 * The one-line error for a store URL: `--store="<url>": <rule>`, with the password hidden (or
 * `--store: <rule>` when the value could not be parsed, so a password in it is never shown).
 * @param source where the URL came from (`--store`, `PROCODE_STORE`).
 * @param shown the URL with its password as `***`, or undefined to show none of it.
 */
export function invalid(source: string, shown: string | undefined, rule: string): ConfigError {
  return new ConfigError(shown === undefined ? `${source}: ${rule}` : `${source}="${shown}": ${rule}`);
}

/**
 * Parses and checks a store URL: `redis://` or `rediss://` (TLS); a host; an optional port (6379); an
 * optional path `/<db>`; optional `user:password@` (percent-encoded; a user needs a password); no query
 * or fragment. `valkey://` is refused with a hint: Valkey speaks the Redis protocol, so `redis://` is the
 * one spelling (as in Valkey's own documentation and clients).
 * @param value the URL as given.
 * @param source where it came from, for messages (`--store`, `PROCODE_STORE`).
 * @throws ConfigError one line naming the source, the URL (password hidden) and the rule broken.
 */
export function parseStoreUrl(value: string, source = '--store'): StoreUrl {
  const raw = value.trim();
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Unparsed, a password cannot be told from the rest: show the value only when it cannot hold one.
    throw invalid(
      source,
      raw.includes('@') ? undefined : raw,
      'must be a URL like redis://127.0.0.1:6379/0 (rediss:// for TLS)',
    );
  }
  const shown = new URL(url.href);
  if (shown.password) shown.password = '***';
  const display = shown.href;
  const fail = (rule: string): ConfigError => invalid(source, display, rule);

  if (url.protocol === 'valkey:' || url.protocol === 'valkeys:') {
    throw fail(`use redis:// (or rediss:// for TLS): Valkey speaks the Redis protocol`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw fail('must start with redis:// (or rediss:// for TLS)');
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw fail('names no host: redis://<host>:<port>/<db>');
  const port = url.port === '' ? DEFAULT_REDIS_PORT : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw fail('port must be 1 to 65535');
  const path = /^\/?$|^\/(\d{1,9})$/.exec(url.pathname);
  if (!path) throw fail('the path must be a database number (/0 to /15 on a default server)');
  const db = path[1] === undefined ? 0 : Number(path[1]);
  if (url.search || url.hash) {
    throw fail('takes no ?query or #fragment (the key prefix is --store-prefix)');
  }
  let username: string | undefined;
  let password: string | undefined;
  try {
    username = url.username ? decodeURIComponent(url.username) : undefined;
    password = url.password ? decodeURIComponent(url.password) : undefined;
  } catch {
    throw fail('the user name or password is not valid percent-encoding');
  }
  if (username !== undefined && password === undefined) {
    throw fail('a user name needs a password: redis://<user>:<password>@<host>:<port>/<db>');
  }
  return {
    source,
    tls: url.protocol === 'rediss:',
    host,
    port,
    db,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    display,
  };
}
