import { ConfigError, loadConfig } from './config';
import { serveUntilSignal } from './server';

/**
 * `npm start`: the mock on 127.0.0.1:4010 with the seeded world; `PORT`, `HOST`, `SEED`, `ACCOUNTS`,
 * `TOKEN_TTL` (or their `PROCODE_*` names) override. Stops gracefully on SIGTERM and SIGINT.
 */
try {
  void serveUntilSignal(loadConfig()).catch((err: unknown) => {
    process.stderr.write(`procode-mock: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`procode-mock: ${err.message}\n`);
  process.exit(2);
}
