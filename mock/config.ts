import { existsSync } from 'node:fs';

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
  tls: false,
  prefer: true,
  admin: true,
  journalSize: 1000,
  paymentDelaySeconds: 30,
  refreshRotation: false,
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
};

function integer(name: string, raw: unknown, min: number, max: number): number {
  const n =
    typeof raw === 'number' ? raw : /^-?\d+$/.test(String(raw).trim()) ? Number(String(raw).trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${String(raw)}"`);
  }
  return n;
}

function boolean(name: string, raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  const s = String(raw).trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  throw new ConfigError(`${name} must be true or false, got "${String(raw)}"`);
}

function oneOf<T extends string>(name: string, raw: unknown, allowed: readonly T[]): T {
  const s = String(raw).trim().toLowerCase();
  if (!(allowed as readonly string[]).includes(s)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${String(raw)}"`);
  }
  return s as T;
}

function keys(raw: unknown): readonly string[] {
  const list = (Array.isArray(raw) ? raw.map(String) : String(raw).split(','))
    .map((k) => k.trim())
    .filter(Boolean);
  if (list.length === 0 || list.some((k) => !/^[\x21-\x7e]{1,256}$/.test(k))) {
    throw new ConfigError('subscription keys must be a comma-separated list of printable ASCII keys');
  }
  return Object.freeze(list);
}

/**
 * Builds the frozen configuration.
 * @param overrides explicit settings (CLI flags, tests); `undefined` fields fall through.
 * @param env the environment to read (defaults to `process.env`).
 * @throws ConfigError naming the first invalid setting.
 */
export function loadConfig(overrides: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const raw = (key: keyof Config): unknown => {
    if (overrides[key] !== undefined) return overrides[key];
    for (const name of ENV_NAMES[key]) {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
    }
    return DEFAULTS[key];
  };
  const tlsCertFile = raw('tlsCertFile') === undefined ? undefined : String(raw('tlsCertFile'));
  const tlsKeyFile = raw('tlsKeyFile') === undefined ? undefined : String(raw('tlsKeyFile'));
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    throw new ConfigError('give both a TLS certificate (--cert) and its key (--key), or neither');
  }
  for (const file of [tlsCertFile, tlsKeyFile]) {
    if (file !== undefined && !existsSync(file)) throw new ConfigError(`TLS file not found: ${file}`);
  }
  const tokenSecret = raw('tokenSecret') === undefined ? undefined : String(raw('tokenSecret'));
  if (tokenSecret !== undefined && tokenSecret.length < 32) {
    throw new ConfigError('the token secret must be at least 32 characters');
  }
  const adminToken = raw('adminToken') === undefined ? undefined : String(raw('adminToken'));
  if (adminToken !== undefined && !/^[A-Za-z0-9._~+/-]{16,512}$/.test(adminToken)) {
    throw new ConfigError(
      'the admin token must be 16 to 512 characters of A-Z a-z 0-9 . _ ~ + / - (a bearer token, RFC 6750)',
    );
  }
  const host = String(raw('host')).trim();
  if (!/^[A-Za-z0-9.:[\]-]{1,253}$/.test(host))
    throw new ConfigError(`host is not a host name or address: "${host}"`);
  return Object.freeze({
    host,
    port: integer('port', raw('port'), 0, 65535),
    seed: integer('seed', raw('seed'), 0, 2 ** 32 - 1),
    accounts: integer('accounts', raw('accounts'), 5, 10_000_000),
    tokenTtlSeconds: integer('token TTL (seconds)', raw('tokenTtlSeconds'), 1, 31 * 24 * 3600),
    subscriptionKeys: keys(raw('subscriptionKeys')),
    gatewayErrors: oneOf('gateway errors', raw('gatewayErrors'), ['apim', 'problem'] as const),
    selfCheck: boolean('self check', raw('selfCheck')),
    bodyLimitBytes: integer('body limit (bytes)', raw('bodyLimitBytes'), 1024, 10 * 1024 * 1024),
    logLevel: oneOf('log level', raw('logLevel'), LOG_LEVELS),
    tls: boolean('tls', raw('tls')) || tlsCertFile !== undefined,
    ...(tlsCertFile !== undefined ? { tlsCertFile, tlsKeyFile } : {}),
    ...(tokenSecret !== undefined ? { tokenSecret } : {}),
    prefer: boolean('prefer', raw('prefer')),
    admin: boolean('admin', raw('admin')),
    ...(adminToken !== undefined ? { adminToken } : {}),
    journalSize: integer('journal size', raw('journalSize'), 0, 100_000),
    paymentDelaySeconds: integer('payment delay (seconds)', raw('paymentDelaySeconds'), 0, 24 * 3600),
    refreshRotation: boolean('refresh rotation', raw('refreshRotation')),
  });
}
