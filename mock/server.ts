import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { createApp } from './app';
import { ScenarioClock, systemClock } from './clock';
import { RedisStore } from './store';
import type { SharedStore } from './store';
import { parseStoreUrl } from './store/store-url';
import { createMockServer } from './transport';
import type { Config } from './config';
import { ConfigError, DEV_SUBSCRIPTION_KEY } from './config';
import { createLogger } from './logger';
import { PACKAGE_VERSION } from '../contract-kit';
import { PERSONAS } from '../fixtures/personas';

/** A listening mock. */
export interface RunningMock {
  server: Server;
  url: string;
  logger: Logger;
  /** The PEM certificate served over HTTPS (made at start-up unless given), for clients to trust. */
  certificate?: string;
  /** Stops accepting, lets requests in flight finish (at most `graceMs`), then resolves. */
  close(graceMs?: number): Promise<void>;
}

/**
 * A self-signed certificate for localhost, 127.0.0.1 and ::1, valid for a year (RSA 2048, SHA-256).
 * @returns PEM certificate and private key.
 */
export async function makeCertificate(): Promise<{ cert: string; key: string }> {
  // Loaded only for --tls: it brings an X.509 library that plain HTTP never needs (start-up time).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const selfsigned = require('selfsigned') as typeof import('selfsigned');
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate);
  notAfterDate.setFullYear(notAfterDate.getFullYear() + 1);
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'procode-mock' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** How the server was started from a terminal. */
export interface StartOptions {
  /** Pretty request logs (pino-pretty) instead of JSON lines. */
  pretty?: boolean;
  /** Where the logger writes instead of stdout (tests). */
  logDestination?: import('pino').DestinationStream;
}

/**
 * Why `listen` failed, as one line that says what to do (the CLI prints it and exits 2).
 * @returns a ConfigError for a port in use, a privileged port, a host that is not this machine's;
 *   undefined for anything else.
 */
export function listenProblem(err: NodeJS.ErrnoException, config: Config): ConfigError | undefined {
  const where = `${config.host}:${config.port}`;
  switch (err.code) {
    case 'EADDRINUSE':
      return new ConfigError(
        `port ${config.port} is in use on ${config.host} (another procode-mock?): start with --port <n> ` +
          `(npm start -- --port <n>) or PROCODE_PORT=<n> (0 picks a free port)`,
      );
    case 'EACCES':
      return new ConfigError(
        `port ${config.port} needs privileges on ${config.host}: use a port from 1024 up with --port <n> or PROCODE_PORT=<n>`,
      );
    case 'EADDRNOTAVAIL':
      return new ConfigError(
        `cannot listen on ${where}: ${config.host} is not an address of this machine; use --host 127.0.0.1 (or 0.0.0.0 for every interface)`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ConfigError(
        `cannot listen on ${where}: the host name ${config.host} does not resolve; use --host 127.0.0.1`,
      );
    default:
      return undefined;
  }
}

/**
 * Starts the mock on `config.host:config.port`, over HTTPS when `config.tls` (with the given
 * certificate files, or one made at start-up).
 * @throws ConfigError (one line, exit 2 in the CLI) when the port is in use or the host cannot be bound.
 */
export async function startMock(config: Config, options: StartOptions = {}): Promise<RunningMock> {
  let certificate: string | undefined;
  let pair: { cert: string; key: string } | undefined;
  if (config.tls) {
    pair =
      config.tlsCertFile && config.tlsKeyFile
        ? { cert: readFileSync(config.tlsCertFile, 'utf8'), key: readFileSync(config.tlsKeyFile, 'utf8') }
        : await makeCertificate();
    certificate = pair.cert;
  }
  const logger = createLogger(config, { pretty: options.pretty, destination: options.logDestination });
  const shared = await openStore(config, logger);
  const { app } = createApp({ config, certificate, logger, ...shared });
  const server = createMockServer(app, config, logger, pair);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenProblem(err, config) ?? err));
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `${config.tls ? 'https' : 'http'}://${host}:${port}`;
  logger.info(
    { host: config.host, port, tls: config.tls, seed: config.seed, accounts: config.accounts },
    `procode-mock listening on ${url}`,
  );
  return {
    server,
    url,
    logger,
    certificate,
    close: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          void shared.store?.close();
          // Lines still gathered for stdout are written before the process may exit.
          logger.flush(() => resolve());
        });
        server.closeIdleConnections();
      }),
  };
}

/**
 * The store for `config.store`: nothing for `memory` (the app makes its own), or a connected
 * `RedisStore` with the clock it keeps in step and the shared token signing key.
 * @throws ConfigError (one line, exit 2) for a Redis that is unreachable, not Redis, or holds another world.
 */
async function openStore(
  config: Config,
  logger: Logger,
): Promise<{ store?: SharedStore; scenarioClock?: ScenarioClock; tokenSecret?: string }> {
  if (config.store === 'memory') return {};
  const url = parseStoreUrl(config.store, '--store (PROCODE_STORE)');
  // ioredis is loaded here only: a memory store's start-up does not pay for it (docs/decisions.md).
  type Connection = typeof import('./store/redis-connection');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on the Redis path alone
  const { RedisConnection } = require('./store/redis-connection') as Connection;
  let down = false;
  const connection = await RedisConnection.open(url, {
    onError: (err) => {
      // One line per outage, not one per reconnect attempt.
      if (!down) logger.warn({ store: url.display, error: err.message.split('\n')[0] }, 'store unreachable');
      down = true;
    },
  });
  connection.client.on('ready', () => {
    if (down) logger.info({ store: url.display }, 'store reachable again');
    down = false;
  });
  const scenarioClock = new ScenarioClock(systemClock);
  try {
    const { store, tokenKey } = await RedisStore.open(connection, scenarioClock, {
      seed: config.seed,
      accounts: config.accounts,
      prefix: config.storePrefix,
      journalSize: config.journalSize,
      limits: config,
      ...(config.tokenSecret !== undefined ? { tokenSecret: config.tokenSecret } : {}),
    });
    return { store, scenarioClock, tokenSecret: tokenKey };
  } catch (err) {
    await connection.close();
    throw err;
  }
}

/** The URL to open in a browser: a wildcard bind address is reached on loopback. */
function browsable(url: string, config: Config): string {
  if (config.host !== '0.0.0.0' && config.host !== '::') return url;
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  return u.origin;
}

/**
 * The start-up banner a person sees in a terminal: where the mock is, its docs and admin index, the dev
 * subscription key (only when it is one of the configured keys: keys set through
 * PROCODE_MOCK_SUBSCRIPTION_KEYS are not printed) and where the personas are. No password, token or
 * personal data: those are in the README and `GET /__admin/personas`.
 */
export function banner(url: string, config: Config): string {
  const base = browsable(url, config);
  const rows: [string, string][] = [['Live docs, try it', `${base}/docs`]];
  if (config.admin) {
    rows.push([
      'Admin index',
      `${base}/__admin${config.adminToken ? '  (Authorization: Bearer <PROCODE_ADMIN_TOKEN>)' : ''}`,
    ]);
  }
  rows.push([
    'Subscription key',
    config.subscriptionKeys.includes(DEV_SUBSCRIPTION_KEY)
      ? `${DEV_SUBSCRIPTION_KEY}  (header Ocp-Apim-Subscription-Key)`
      : 'the keys in PROCODE_MOCK_SUBSCRIPTION_KEYS (not shown)',
  ]);
  rows.push(['OAuth2 client', `${PERSONAS.clientId} / ${PERSONAS.clientSecret}  (HTTP Basic)`]);
  rows.push([
    'Personas',
    config.admin
      ? `${base}/__admin/personas, fixtures/personas.json, README "Credentials and personas"`
      : 'fixtures/personas.json, README "Credentials and personas"',
  ]);
  rows.push(['Stop', 'Ctrl+C']);
  const width = Math.max(...rows.map(([label]) => label.length));
  const world = `seed ${config.seed}, ${config.accounts.toLocaleString('en-GB')} accounts`;
  return [
    '',
    `  procode-mock ${PACKAGE_VERSION} is listening on ${base}  (${world})`,
    '',
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    '',
    '',
  ].join('\n');
}

/** How `serve` presents itself. */
export interface ServeOptions {
  /** Whether stdout is a terminal (default: `process.stdout.isTTY`): the banner, and pretty logs for `auto`. */
  tty?: boolean;
  /** Where the banner goes (default stdout). */
  write?: (text: string) => void;
}

/**
 * Runs the mock until SIGTERM or SIGINT, then stops gracefully: no new connections, requests in
 * flight finish, exit code 0. On a terminal it first prints the banner, and logs are pretty unless
 * `logFormat` is json.
 * @throws ConfigError when the port is in use or the host cannot be bound.
 */
export async function serveUntilSignal(config: Config, options: ServeOptions = {}): Promise<void> {
  const tty = options.tty ?? process.stdout.isTTY === true;
  const pretty = config.logFormat === 'pretty' || (config.logFormat === 'auto' && tty);
  const mock = await startMock(config, { pretty });
  if (tty) (options.write ?? ((text: string) => void process.stdout.write(text)))(banner(mock.url, config));
  mock.logger.debug(
    {
      settings: {
        ...config,
        subscriptionKeys: `${config.subscriptionKeys.length} key(s)`,
        tokenSecret: config.tokenSecret ? 'set' : 'random',
        adminToken: config.adminToken ? 'set' : 'none',
        store: config.storeDisplay,
      },
    },
    'settings',
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      // A second signal while draining: stop waiting for requests in flight.
      mock.server.closeAllConnections();
      return;
    }
    stopping = true;
    mock.logger.info({ signal }, 'shutting down');
    void mock.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
