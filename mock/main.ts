import { createServer } from 'node:http';
import { createApp } from './app';
import { ConfigError, loadConfig } from './config';

/**
 * `npm start`: the mock on 127.0.0.1:4010 with the seeded world; `PORT`, `HOST`, `SEED`, `ACCOUNTS`,
 * `TOKEN_TTL` (or their `PROCODE_*` names) override. Stops gracefully on SIGTERM and SIGINT.
 */
function main(): void {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`procode-mock: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const { app, logger } = createApp({ config });
  const server = createServer(app);
  server.keepAliveTimeout = 65_000;
  server.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info(
      { host: config.host, port, seed: config.seed, accounts: config.accounts },
      `procode-mock listening on http://${config.host}:${port}`,
    );
  });
  const stop = (signal: string): void => {
    logger.info({ signal }, 'shutting down');
    server.close(() => {
      logger.flush();
      process.exit(0);
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main();
