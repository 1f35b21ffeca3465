import { existsSync, readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { parseStoreUrl } from './store/store-url';

/**
 * The mock's settings, read once into one frozen object. No other module reads `process.env`.
 *
 * Precedence: explicit overrides (CLI flags), then environment variables (`PROCODE_*`, or the short
 * `PORT`, `HOST`, `SEED`, `ACCOUNTS`, `TOKEN_TTL` names), then defaults.
 */
export interface Config {
  /** Interface to bind; 127.0.0.1 by default so nothing is exposed off the machine. */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Seed of the generated world (same seed, same data). */
  readonly seed: number;
  /** Number of supply accounts in the generated world (5 - 10,000,000). */
  readonly accounts: number;
  /** Lifetime of an access token, in seconds. */
  readonly tokenTtlSeconds: number;
  /**
   * Subscription keys of the `unlimited` product (every API, no limits; `fixtures/products.json` lists the
   * other products and their own keys) that the gateway accepts in `Ocp-Apim-Subscription-Key`.
   */
  readonly subscriptionKeys: readonly string[];
  /** Shape of the gateway's 401: Azure API Management's own JSON, or RFC 9457 problem+json. */
  readonly gatewayErrors: 'apim' | 'problem';
  /** Validate every reply against the contract; a violation is a 500 and a loud log line. */
  readonly selfCheck: boolean;
  /** Largest accepted request body, in bytes. */
  readonly bodyLimitBytes: number;
  /** pino log level. */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * How request logs look: `pretty` (pino-pretty, one readable line per request), `json` (pino's JSON
   * lines), or `auto`: pretty when stdout is a terminal, JSON otherwise. `NODE_ENV=production` makes
   * `auto` JSON.
   */
  readonly logFormat: 'auto' | 'pretty' | 'json';
  /** Serve HTTPS (the real APIs are HTTPS only); a certificate is made at start-up unless given. */
  readonly tls: boolean;
  /** PEM certificate file for HTTPS (with `tlsKeyFile`). */
  readonly tlsCertFile?: string;
  /** PEM private key file for HTTPS (with `tlsCertFile`). */
  readonly tlsKeyFile?: string;
  /** HS256 key for access tokens, so tokens survive a restart; random per process when unset. */
  readonly tokenSecret?: string;
  /** Honour `Prefer: code=/example=/delay=` (RFC 7240) and the `__code`/`__example`/`__delay` query fallbacks. */
  readonly prefer: boolean;
  /** Serve the control plane under `/__admin` (off: every admin path is 404, as in production). */
  readonly admin: boolean;
  /** When set, `/__admin` requires `Authorization: Bearer <adminToken>`. */
  readonly adminToken?: string;
  /** Requests kept in the admin journal (`GET /__admin/requests`); the oldest are dropped. 0 turns it off. */
  readonly journalSize: number;
  /** Seconds of the mock's clock before a PENDING top-up (test token `tok_test_pending`) settles. */
  readonly paymentDelaySeconds: number;
  /** RefreshToken returns a new refresh token and retires the old one (RFC 9700 section 4.14). */
  readonly refreshRotation: boolean;
  /**
   * Lifetime of a refresh token family, in seconds, from the login that started it (default 30 days);
   * rotation does not extend it. Expired families are swept as the clock passes them.
   */
  readonly refreshTokenTtlSeconds: number;
  /**
   * Live refresh tokens (logins, each a token family) kept per account; a new login beyond it revokes
   * the account's oldest family (Auth0 caps a user's refresh tokens the same way, at 200).
   */
  readonly refreshTokensPerAccount: number;
  /**
   * Refresh tokens kept in all, live and retired (rotation keeps up to 100 retired ones per family for
   * reuse detection); beyond it the oldest families are revoked.
   */
  readonly refreshTokensMax: number;
  /** Payments kept per account; beyond it the oldest is dropped (ListPayments' `total` counts what is kept). */
  readonly paymentsPerAccount: number;
  /** Payments kept in all accounts together; beyond it the oldest is dropped. */
  readonly paymentsMax: number;
  /**
   * Seconds an `Idempotency-Key` is remembered after its payment (default 24 hours, as Stripe keeps
   * them); later the same key makes a new payment. A key is also forgotten with its payment.
   */
  readonly idempotencyTtlSeconds: number;
  /**
   * One-time code challenges kept in all (each is kept 5 minutes plus 15 for a clear 410 otp-expired);
   * beyond it the oldest are forgotten (404), as are the SendOTP counts of the accounts least recently sent to.
   */
  readonly otpChallengesMax: number;
  /**
   * Where state lives: `memory` (this process only) or a Redis URL (`redis://host:port/db`, `rediss://`
   * for TLS) shared by replicas (docs/decisions.md "Shared state on Redis"). May hold a password: shown
   * only as `storeDisplay`.
   */
  readonly store: string;
  /** `store` with any password hidden (`redis://:***@host:6379/0`), for logs and messages. */
  readonly storeDisplay: string;
  /** Separates mocks sharing one Redis: keys are `procode:{<storePrefix>:<seed>}:...` (default `default`). */
  readonly storePrefix: string;
  /**
   * Seconds a client may take to send a request's line and headers; then 408 `request-timeout` and the
   * connection closes (Node's `headersTimeout`, checked every second). At most `requestTimeoutSeconds`.
   */
  readonly headersTimeoutSeconds: number;
  /**
   * Seconds a client may take to send a whole request, body included; then 408 `request-timeout` and the
   * connection closes (Node's `requestTimeout`, checked every second).
   */
  readonly requestTimeoutSeconds: number;
  /** Seconds an idle keep-alive connection stays open between requests (Node's `keepAliveTimeout`). */
  readonly keepAliveTimeoutSeconds: number;
  /**
   * Seconds without a byte in or out, with a request in flight, before the connection is dropped
   * without an answer (Node's `server.timeout`): a client that stopped reading its response.
   */
  readonly socketTimeoutSeconds: number;
  /** Open connections at most; Node closes a connection beyond it at once, with no response. */
  readonly maxConnections: number;
  /** Requests per connection; the last one's response says `Connection: close`. 0 is no limit. */
  readonly maxRequestsPerSocket: number;
  /**
   * Bytes of written but unsent responses a connection may hold before the mock stops starting its
   * next (pipelined) request and stops reading it, until the client reads.
   */
  readonly maxUnsentBytes: number;
}

/** Settings as they may be given, before checks: every field optional, strings allowed. */
export type ConfigInput = { [K in keyof Config]?: Config[K] | string };

/** Raised for an invalid setting; the CLI prints its message as one line and exits 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The development subscription key, also published in `fixtures/personas.json`. */
export const DEV_SUBSCRIPTION_KEY = '5f0c0de0c0de4d0c8a5e5a4db0c0de01';

export const DEFAULTS: Config = Object.freeze({
  host: '127.0.0.1',
  port: 4010,
  seed: 42,
  accounts: 1000,
  tokenTtlSeconds: 3600,
  subscriptionKeys: Object.freeze([DEV_SUBSCRIPTION_KEY]),
  gatewayErrors: 'apim',
  selfCheck: true,
  bodyLimitBytes: 64 * 1024,
  logLevel: 'info',
  logFormat: 'auto',
  tls: false,
  prefer: true,
  admin: true,
  journalSize: 1000,
  paymentDelaySeconds: 30,
  refreshRotation: false,
  refreshTokenTtlSeconds: 30 * 24 * 3600,
  refreshTokensPerAccount: 100,
  refreshTokensMax: 100_000,
  paymentsPerAccount: 1000,
  paymentsMax: 100_000,
  idempotencyTtlSeconds: 24 * 3600,
  otpChallengesMax: 100_000,
  store: 'memory',
  storeDisplay: 'memory',
  storePrefix: 'default',
  headersTimeoutSeconds: 10,
  requestTimeoutSeconds: 30,
  keepAliveTimeoutSeconds: 65,
  socketTimeoutSeconds: 120,
  maxConnections: 1000,
  maxRequestsPerSocket: 0,
  maxUnsentBytes: 1024 * 1024,
});

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Environment variable names read for each setting, first match wins. */
const ENV_NAMES: { [K in keyof Config]-?: string[] } = {
  host: ['PROCODE_HOST', 'HOST'],
  port: ['PROCODE_PORT', 'PORT'],
  seed: ['PROCODE_SEED', 'SEED'],
  accounts: ['PROCODE_ACCOUNTS', 'ACCOUNTS'],
  tokenTtlSeconds: ['PROCODE_TOKEN_TTL', 'TOKEN_TTL'],
  subscriptionKeys: ['PROCODE_MOCK_SUBSCRIPTION_KEYS'],
  gatewayErrors: ['PROCODE_GATEWAY_ERRORS'],
  selfCheck: ['PROCODE_SELF_CHECK'],
  bodyLimitBytes: ['PROCODE_BODY_LIMIT'],
  logLevel: ['PROCODE_LOG_LEVEL', 'LOG_LEVEL'],
  logFormat: ['PROCODE_LOG_FORMAT'],
  tls: ['PROCODE_TLS'],
  tlsCertFile: ['PROCODE_TLS_CERT'],
  tlsKeyFile: ['PROCODE_TLS_KEY'],
  tokenSecret: ['PROCODE_TOKEN_SECRET'],
  prefer: ['PROCODE_PREFER'],
  admin: ['PROCODE_ADMIN'],
  adminToken: ['PROCODE_ADMIN_TOKEN'],
  journalSize: ['PROCODE_JOURNAL_SIZE'],
  paymentDelaySeconds: ['PROCODE_PAYMENT_DELAY'],
  refreshRotation: ['PROCODE_REFRESH_ROTATION'],
  refreshTokenTtlSeconds: ['PROCODE_REFRESH_TOKEN_TTL'],
  refreshTokensPerAccount: ['PROCODE_REFRESH_TOKENS_PER_ACCOUNT'],
  refreshTokensMax: ['PROCODE_REFRESH_TOKENS_MAX'],
  paymentsPerAccount: ['PROCODE_PAYMENTS_PER_ACCOUNT'],
  paymentsMax: ['PROCODE_PAYMENTS_MAX'],
  idempotencyTtlSeconds: ['PROCODE_IDEMPOTENCY_TTL'],
  otpChallengesMax: ['PROCODE_OTP_CHALLENGES_MAX'],
  store: ['PROCODE_STORE'],
  storeDisplay: [],
  storePrefix: ['PROCODE_STORE_PREFIX'],
  headersTimeoutSeconds: ['PROCODE_HEADERS_TIMEOUT'],
  requestTimeoutSeconds: ['PROCODE_REQUEST_TIMEOUT'],
  keepAliveTimeoutSeconds: ['PROCODE_KEEP_ALIVE_TIMEOUT'],
  socketTimeoutSeconds: ['PROCODE_SOCKET_TIMEOUT'],
  maxConnections: ['PROCODE_MAX_CONNECTIONS'],
  maxRequestsPerSocket: ['PROCODE_MAX_REQUESTS_PER_SOCKET'],
  maxUnsentBytes: ['PROCODE_MAX_UNSENT'],
};

/**
 * The command-line flag of each setting that has one (`procode-mock serve --help`); a value given in
 * `overrides` is reported under this name.
 */
const FLAG_NAMES: { [K in keyof Config]?: string } = {
  host: '--host',
  port: '--port',
  seed: '--seed',
  accounts: '--accounts',
  tokenTtlSeconds: '--token-ttl',
  gatewayErrors: '--gateway-errors',
  logLevel: '--log-level',
  logFormat: '--log-format',
  tls: '--tls',
  tlsCertFile: '--cert',
  tlsKeyFile: '--key',
  prefer: '--prefer',
  admin: '--admin',
  journalSize: '--journal-size',
  paymentDelaySeconds: '--payment-delay',
  refreshRotation: '--refresh-rotation',
  refreshTokenTtlSeconds: '--refresh-token-ttl',
  refreshTokensPerAccount: '--refresh-tokens-per-account',
  refreshTokensMax: '--refresh-tokens-max',
  paymentsPerAccount: '--payments-per-account',
  paymentsMax: '--payments-max',
  idempotencyTtlSeconds: '--idempotency-ttl',
  otpChallengesMax: '--otp-challenges-max',
  store: '--store',
  storePrefix: '--store-prefix',
  headersTimeoutSeconds: '--headers-timeout',
  requestTimeoutSeconds: '--request-timeout',
  keepAliveTimeoutSeconds: '--keep-alive-timeout',
  socketTimeoutSeconds: '--socket-timeout',
  maxConnections: '--max-connections',
  maxRequestsPerSocket: '--max-requests-per-socket',
  maxUnsentBytes: '--max-unsent',
};

/** Settings whose value is a secret: an error names where it came from, never the value. */
const SECRET: ReadonlySet<keyof Config> = new Set(['tokenSecret', 'adminToken', 'subscriptionKeys', 'store']);

/** A raw setting and where it came from: a flag (`--port`), an environment variable, or the default. */
interface Raw {
  key: keyof Config;
  value: unknown;
  /** `--port`, `PROCODE_PORT`, or undefined for the default. */
  source?: string;
}

/**
 * Why a PEM certificate and key cannot serve HTTPS, in a few words, or undefined when they can: each
 * file must hold PEM text, and the key must be the certificate's (Node's TLS context refuses otherwise).
 */
function tlsPairProblem(certFile: string, keyFile: string): string | undefined {
  let cert: string;
  let key: string;
  try {
    cert = readFileSync(certFile, 'utf8');
    key = readFileSync(keyFile, 'utf8');
  } catch {
    return 'cannot read the certificate or key file';
  }
  if (!/-----BEGIN [A-Z0-9 ]*CERTIFICATE-----/.test(cert)) return 'not a PEM certificate';
  if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(key)) return 'the key file holds no PEM private key';
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (/KEY_VALUES_MISMATCH|key values mismatch/i.test(`${code} ${String(err)}`))
      return "the key is not this certificate's key";
    return 'the certificate or key cannot be read (PEM expected, key not encrypted)';
  }
  return undefined;
}

/**
 * A ConfigError for a setting, naming its source and value first: `PROCODE_PORT="abc": port must be a
 * whole number from 0 to 65535` (`--port="abc": ...` for a flag; a secret's value is never shown).
 */
function invalid(raw: Raw, rule: string): ConfigError {
  const where = raw.source ?? `the default of ${raw.key}`;
  const shown = SECRET.has(raw.key) ? '' : `="${String(raw.value)}"`;
  return new ConfigError(`${where}${shown}: ${rule}`);
}

function integer(raw: Raw, name: string, min: number, max: number): number {
  const text = String(raw.value).trim();
  const n = typeof raw.value === 'number' ? raw.value : /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw invalid(raw, `${name} must be a whole number from ${min} to ${max}`);
  }
  return n;
}

function boolean(raw: Raw, name: string): boolean {
  if (typeof raw.value === 'boolean') return raw.value;
  const s = String(raw.value).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  throw invalid(raw, `${name} must be true or false (or on/off, yes/no, 1/0)`);
}

function oneOf<T extends string>(raw: Raw, name: string, allowed: readonly T[]): T {
  const s = String(raw.value).trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(s)) {
    throw invalid(raw, `${name} must be one of ${allowed.join(', ')}`);
  }
  return s as T;
}

function keys(raw: Raw): readonly string[] {
  const list = (Array.isArray(raw.value) ? raw.value.map(String) : String(raw.value).split(','))
    .map((k) => k.trim())
    .filter(Boolean);
  if (list.length === 0 || list.some((k) => !/^[\x21-\x7e]{1,256}$/.test(k))) {
    throw invalid(raw, 'subscription keys must be a comma-separated list of printable ASCII keys');
  }
  return Object.freeze(list);
}

/**
 * Builds the frozen configuration.
 * @param overrides explicit settings (CLI flags, tests); `undefined` fields fall through.
 * @param env the environment to read (defaults to `process.env`).
 * @throws ConfigError naming the first invalid setting by its source and value
 *   (`PROCODE_PORT="abc": port must be a whole number from 0 to 65535`).
 */
export function loadConfig(overrides: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const raw = (key: keyof Config): Raw => {
    if (overrides[key] !== undefined) return { key, value: overrides[key], source: FLAG_NAMES[key] ?? key };
    for (const name of ENV_NAMES[key]) {
      const value = env[name];
      if (value !== undefined && value !== '') return { key, value, source: name };
    }
    return { key, value: DEFAULTS[key] };
  };
  const optional = (key: keyof Config): string | undefined => {
    const { value } = raw(key);
    return value === undefined ? undefined : String(value);
  };
  const tlsCertFile = optional('tlsCertFile');
  const tlsKeyFile = optional('tlsKeyFile');
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    const given = raw(tlsCertFile === undefined ? 'tlsKeyFile' : 'tlsCertFile');
    throw invalid(
      given,
      'give both a TLS certificate (--cert or PROCODE_TLS_CERT) and its key (--key or PROCODE_TLS_KEY), or neither',
    );
  }
  for (const key of ['tlsCertFile', 'tlsKeyFile'] as const) {
    const file = raw(key);
    if (file.value !== undefined && !existsSync(String(file.value))) throw invalid(file, 'no such file');
  }
  if (tlsCertFile !== undefined && tlsKeyFile !== undefined) {
    const problem = tlsPairProblem(tlsCertFile, tlsKeyFile);
    if (problem)
      throw invalid(raw('tlsCertFile'), `${problem} (key: ${raw('tlsKeyFile').source}="${tlsKeyFile}")`);
  }
  const tokenSecret = optional('tokenSecret');
  if (tokenSecret !== undefined && tokenSecret.length < 32) {
    throw invalid(raw('tokenSecret'), 'the token secret must be at least 32 characters');
  }
  const adminToken = optional('adminToken');
  if (adminToken !== undefined && !/^[A-Za-z0-9._~+/-]{16,512}$/.test(adminToken)) {
    throw invalid(
      raw('adminToken'),
      'the admin token must be 16 to 512 characters of A-Z a-z 0-9 . _ ~ + / - (a bearer token, RFC 6750)',
    );
  }
  const hostRaw = raw('host');
  const host = String(hostRaw.value).trim();
  if (!/^[A-Za-z0-9.:[\]-]{1,253}$/.test(host)) throw invalid(hostRaw, 'host must be a host name or address');
  const logFormat = oneOf(raw('logFormat'), 'log format', ['auto', 'pretty', 'json'] as const);
  const storeRaw = raw('store');
  const storeValue = String(storeRaw.value).trim();
  // A URL may hold a password: parseStoreUrl names the source and shows it hidden.
  const storeDisplay =
    storeValue.toLowerCase() === 'memory'
      ? 'memory'
      : /^[a-z][a-z0-9+.-]*:/i.test(storeValue)
        ? parseStoreUrl(storeValue, storeRaw.source ?? 'store').display
        : (() => {
            throw invalid(storeRaw, 'store must be memory or a URL like redis://127.0.0.1:6379/0');
          })();
  const prefixRaw = raw('storePrefix');
  const storePrefix = String(prefixRaw.value).trim();
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(storePrefix))
    throw invalid(prefixRaw, 'store prefix must be 1 to 64 characters of A-Z a-z 0-9 . _ -');
  const headersTimeoutSeconds = integer(raw('headersTimeoutSeconds'), 'headers timeout (seconds)', 1, 3600);
  const requestTimeoutSeconds = integer(raw('requestTimeoutSeconds'), 'request timeout (seconds)', 1, 3600);
  if (headersTimeoutSeconds > requestTimeoutSeconds) {
    // Node refuses a headers timeout longer than the request timeout (the headers are part of the request).
    throw invalid(
      raw('headersTimeoutSeconds'),
      `the headers timeout must not be longer than the request timeout (${requestTimeoutSeconds} s; --request-timeout or PROCODE_REQUEST_TIMEOUT)`,
    );
  }
  return Object.freeze({
    host,
    port: integer(raw('port'), 'port', 0, 65535),
    seed: integer(raw('seed'), 'seed', 0, 2 ** 32 - 1),
    accounts: integer(raw('accounts'), 'accounts', 5, 10_000_000),
    tokenTtlSeconds: integer(raw('tokenTtlSeconds'), 'token TTL (seconds)', 1, 31 * 24 * 3600),
    subscriptionKeys: keys(raw('subscriptionKeys')),
    gatewayErrors: oneOf(raw('gatewayErrors'), 'gateway errors', ['apim', 'problem'] as const),
    selfCheck: boolean(raw('selfCheck'), 'self check'),
    bodyLimitBytes: integer(raw('bodyLimitBytes'), 'body limit (bytes)', 1024, 10 * 1024 * 1024),
    logLevel: oneOf(raw('logLevel'), 'log level', LOG_LEVELS),
    // A container or a production host reads JSON lines, terminal or not.
    logFormat: logFormat === 'auto' && env.NODE_ENV === 'production' ? 'json' : logFormat,
    tls: boolean(raw('tls'), 'tls') || tlsCertFile !== undefined,
    ...(tlsCertFile !== undefined ? { tlsCertFile, tlsKeyFile } : {}),
    ...(tokenSecret !== undefined ? { tokenSecret } : {}),
    prefer: boolean(raw('prefer'), 'prefer'),
    admin: boolean(raw('admin'), 'admin'),
    ...(adminToken !== undefined ? { adminToken } : {}),
    journalSize: integer(raw('journalSize'), 'journal size', 0, 100_000),
    paymentDelaySeconds: integer(raw('paymentDelaySeconds'), 'payment delay (seconds)', 0, 24 * 3600),
    refreshRotation: boolean(raw('refreshRotation'), 'refresh rotation'),
    refreshTokenTtlSeconds: integer(
      raw('refreshTokenTtlSeconds'),
      'refresh token TTL (seconds)',
      60,
      365 * 24 * 3600,
    ),
    refreshTokensPerAccount: integer(raw('refreshTokensPerAccount'), 'refresh tokens per account', 1, 10_000),
    // At least one family with all its retired tokens (101) fits.
    refreshTokensMax: integer(raw('refreshTokensMax'), 'refresh tokens max', 1000, 10_000_000),
    paymentsPerAccount: integer(raw('paymentsPerAccount'), 'payments per account', 1, 1_000_000),
    paymentsMax: integer(raw('paymentsMax'), 'payments max', 1, 10_000_000),
    idempotencyTtlSeconds: integer(
      raw('idempotencyTtlSeconds'),
      'Idempotency-Key TTL (seconds)',
      60,
      30 * 24 * 3600,
    ),
    otpChallengesMax: integer(raw('otpChallengesMax'), 'OTP challenges max', 100, 10_000_000),
    store: storeDisplay === 'memory' ? 'memory' : storeValue,
    storeDisplay,
    storePrefix,
    headersTimeoutSeconds,
    requestTimeoutSeconds,
    keepAliveTimeoutSeconds: integer(raw('keepAliveTimeoutSeconds'), 'keep-alive timeout (seconds)', 1, 3600),
    socketTimeoutSeconds: integer(raw('socketTimeoutSeconds'), 'socket timeout (seconds)', 1, 3600),
    maxConnections: integer(raw('maxConnections'), 'max connections', 1, 1_000_000),
    maxRequestsPerSocket: integer(raw('maxRequestsPerSocket'), 'max requests per socket', 0, 1_000_000_000),
    // At least the socket's high-water mark (16 KiB): above it a write returns false and 'drain' follows.
    maxUnsentBytes: integer(raw('maxUnsentBytes'), 'max unsent (bytes)', 16 * 1024, 1024 * 1024 * 1024),
  });
}
