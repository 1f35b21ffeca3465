#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import type { ConfigInput } from './config';
import { ConfigError, loadConfig } from './config';
import { serveUntilSignal } from './server';
import { World } from '../fixtures/world';
import { PACKAGE_VERSION } from '../contract-kit';

/** Exit code for an invalid setting (one line on stderr). */
export const EXIT_USAGE = 2;

function fail(message: string): never {
  process.stderr.write(`procode-mock: ${message}\n`);
  process.exit(EXIT_USAGE);
}

/**
 * The fixtures of a world as JSON: `{ seed, accounts, from, count, items: AccountRecord[] }` (each
 * account with its customer, premises, features, service points, devices and prepayment balances).
 * @throws ConfigError when the slice is outside the world or over 100,000 accounts.
 */
export function exportFixtures(seed: number, accounts: number, from: number, count: number): string {
  if (!Number.isSafeInteger(from) || from < 0 || from >= accounts)
    throw new ConfigError(`--from must be 0 to ${accounts - 1}`);
  if (!Number.isSafeInteger(count) || count < 1 || count > 100_000)
    throw new ConfigError('--count must be 1 to 100000');
  const world = new World({ seed, accounts });
  const end = Math.min(accounts, from + count);
  const items = [];
  for (let i = from; i < end; i++) items.push(world.account(i));
  return JSON.stringify({ seed, accounts, from, count: items.length, items }, null, 2) + '\n';
}

/** Builds the `procode-mock` command line (serve, contract, fixtures export). */
export function program(): Command {
  const root = new Command('procode-mock')
    .description(
      'The offline sandbox of the Procode APIs: a stateful mock, its contract checker, its fixtures.',
    )
    .version(PACKAGE_VERSION)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str.split('\n')[0] + '\n') });

  root
    .command('serve')
    .description('Start the mock (flags, then PROCODE_* environment variables, then defaults).')
    .option('--port <port>', 'TCP port (default 4010; 0 picks a free one)')
    .option('--host <host>', 'interface to bind (default 127.0.0.1; 0.0.0.0 in a container)')
    .option('--seed <seed>', 'seed of the generated world (default 42)')
    .option('--accounts <n>', 'supply accounts in the world, 5 to 10,000,000 (default 1000)')
    .option('--token-ttl <seconds>', 'access token lifetime (default 3600)')
    .option('--tls', 'serve HTTPS with a certificate made at start-up')
    .option('--cert <file>', 'PEM certificate for HTTPS (with --key)')
    .option('--key <file>', 'PEM private key for HTTPS (with --cert)')
    .option(
      '--payment-delay <seconds>',
      'seconds of the mock clock before a tok_test_pending top-up settles (default 30; 0 settles at once)',
    )
    .option(
      '--refresh-rotation',
      'each refresh returns a new refresh token and retires the old one (RFC 9700)',
    )
    .option(
      '--refresh-token-ttl <seconds>',
      'refresh token family lifetime, 60 to 31536000 (default 2592000: 30 days)',
    )
    .option('--refresh-tokens-per-account <n>', 'live refresh tokens (logins) kept per account (default 100)')
    .option('--refresh-tokens-max <n>', 'refresh tokens kept in all, live and retired (default 100000)')
    .option('--payments-per-account <n>', 'payments kept per account, the oldest dropped (default 1000)')
    .option('--payments-max <n>', 'payments kept in all, the oldest dropped (default 100000)')
    .option(
      '--idempotency-ttl <seconds>',
      'seconds an Idempotency-Key is remembered (default 86400: 24 hours)',
    )
    .option('--otp-challenges-max <n>', 'one-time code challenges kept in all (default 100000)')
    .option(
      '--store <memory|url>',
      'where state lives: memory (default) or redis://host:port/db shared by replicas (rediss:// for TLS)',
    )
    .option(
      '--store-prefix <name>',
      'separates mocks sharing one Redis: keys procode:{<name>:<seed>}:... (default "default")',
    )
    .addOption(
      new Option(
        '--prefer <on|off>',
        'honour Prefer: code/example/delay and __code/__example/__delay (default on)',
      ).choices(['on', 'off']),
    )
    .addOption(
      new Option('--admin <on|off>', 'serve the control plane under /__admin (default on)').choices([
        'on',
        'off',
      ]),
    )
    .option('--journal-size <n>', 'requests kept in the admin journal, 0 to 100000 (default 1000)')
    .option('--headers-timeout <seconds>', 'time to send the request line and headers, then 408 (default 10)')
    .option(
      '--request-timeout <seconds>',
      'time to send a whole request, body included, then 408 (default 30)',
    )
    .option(
      '--keep-alive-timeout <seconds>',
      'idle time a connection stays open between requests (default 65)',
    )
    .option(
      '--socket-timeout <seconds>',
      'no byte in or out this long with a request in flight drops the connection (default 120)',
    )
    .option('--max-connections <n>', 'open connections at most; more are closed unanswered (default 1000)')
    .option(
      '--max-requests-per-socket <n>',
      'requests per connection, then Connection: close (default 0: no limit)',
    )
    .option(
      '--max-unsent <bytes>',
      'unsent response bytes before a connection is not read nor its next request started (default 1048576)',
    )
    .addOption(
      new Option('--gateway-errors <shape>', 'subscription-key 401 shape').choices(['apim', 'problem']),
    )
    .addOption(
      new Option(
        '--log-level <level>',
        "pino log level (default info: a line per request; debug adds the stage that answered and a validation error's fields)",
      ).choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    )
    .addOption(
      new Option(
        '--log-format <format>',
        'auto (default): readable lines on a terminal, JSON otherwise (always JSON with NODE_ENV=production)',
      ).choices(['auto', 'pretty', 'json']),
    )
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const overrides: ConfigInput = {
        port: o.port as string | undefined,
        host: o.host as string | undefined,
        seed: o.seed as string | undefined,
        accounts: o.accounts as string | undefined,
        tokenTtlSeconds: o.tokenTtl as string | undefined,
        tls: o.tls === true ? true : undefined,
        tlsCertFile: o.cert as string | undefined,
        tlsKeyFile: o.key as string | undefined,
        gatewayErrors: o.gatewayErrors as string | undefined,
        logLevel: o.logLevel as string | undefined,
        logFormat: o.logFormat as string | undefined,
        paymentDelaySeconds: o.paymentDelay as string | undefined,
        refreshRotation: o.refreshRotation === true ? true : undefined,
        prefer: o.prefer as string | undefined,
        admin: o.admin as string | undefined,
        journalSize: o.journalSize as string | undefined,
        refreshTokenTtlSeconds: o.refreshTokenTtl as string | undefined,
        refreshTokensPerAccount: o.refreshTokensPerAccount as string | undefined,
        refreshTokensMax: o.refreshTokensMax as string | undefined,
        paymentsPerAccount: o.paymentsPerAccount as string | undefined,
        paymentsMax: o.paymentsMax as string | undefined,
        idempotencyTtlSeconds: o.idempotencyTtl as string | undefined,
        otpChallengesMax: o.otpChallengesMax as string | undefined,
        store: o.store as string | undefined,
        storePrefix: o.storePrefix as string | undefined,
        headersTimeoutSeconds: o.headersTimeout as string | undefined,
        requestTimeoutSeconds: o.requestTimeout as string | undefined,
        keepAliveTimeoutSeconds: o.keepAliveTimeout as string | undefined,
        socketTimeoutSeconds: o.socketTimeout as string | undefined,
        maxConnections: o.maxConnections as string | undefined,
        maxRequestsPerSocket: o.maxRequestsPerSocket as string | undefined,
        maxUnsentBytes: o.maxUnsent as string | undefined,
      };
      await serveUntilSignal(loadConfig(overrides));
    });

  root
    .command('contract')
    .description('Check a target against the contract (procode-contract; see its --help).')
    .allowUnknownOption()
    .helpOption(false)
    .argument('[args...]')
    .action(async (args: string[]) => {
      // As PID 1 in a container, a process without handlers ignores SIGTERM/SIGINT: stop at once.
      for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(130));
      // Loaded only for this command: `serve` starts faster without the harness.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { main: contractMain } = require('../harness/cli') as typeof import('../harness/cli');
      process.exit(await contractMain(['node', 'procode-contract', ...args]));
    });

  const fixtures = root.command('fixtures').description('The generated world as data.');
  fixtures
    .command('export')
    .description('Write the world, or a slice of it, as JSON (stdout, or --out).')
    .option('--seed <seed>', 'seed (default: PROCODE_SEED or 42)')
    .option('--accounts <n>', 'world size (default: PROCODE_ACCOUNTS or 1000)')
    .option('--from <index>', 'first account index', '0')
    .option('--count <n>', 'how many accounts (at most 100000; default: the whole world up to that)')
    .option('--out <file>', 'write to this file instead of stdout')
    .action((o: Record<string, string | undefined>) => {
      const config = loadConfig({ seed: o.seed, accounts: o.accounts, logLevel: 'silent' });
      const from = Number(o.from);
      const count = o.count === undefined ? Math.min(config.accounts - from, 100_000) : Number(o.count);
      const json = exportFixtures(config.seed, config.accounts, from, count);
      if (o.out) writeFileSync(o.out, json);
      else process.stdout.write(json);
    });
  return root;
}

if (require.main === module) {
  program()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
      if (err instanceof ConfigError) fail(err.message);
      process.stderr.write(`procode-mock: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
