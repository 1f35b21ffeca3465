import { ConfigError, loadConfig } from './config';
import { serveUntilSignal } from './server';

/**
 * The mock's plain entry point (the benchmark and the end-to-end tests start it; `npm start` runs the
 * CLI's `serve`, which does the same with flags): 127.0.0.1:4010 with the seeded world; `PORT`, `HOST`,
 * `SEED`, `ACCOUNTS`, `TOKEN_TTL` (or their `PROCODE_*` names) override. Stops gracefully on SIGTERM and
 * SIGINT. An invalid setting, a port in use or a host it cannot bind is one line and exit code 2.
 */
function fail(err: unknown): never {
  const usage = err instanceof ConfigError;
  process.stderr.write(`procode-mock: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(usage ? 2 : 1);
}

try {
  serveUntilSignal(loadConfig()).catch(fail);
} catch (err) {
  fail(err);
}
