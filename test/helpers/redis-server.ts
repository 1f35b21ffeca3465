/**
 * A real Redis for the tests of the shared store (issue 12): `startRedis` of bench/redis-server.ts (Debian's
 * `redis-server` on a free 127.0.0.1 port, its folder under the run's TMPDIR from global-setup.js, nothing
 * persisted unless a test asks for `persist`), closed by the test file's `afterAll` if the test did not.
 *
 * When redis-server is not installed the suites skip and say so, except in CI (`CI=true` or
 * `PROCODE_REQUIRE_REDIS=1`, both set by .ci/run), where a missing server is a failure.
 */
import { redisAvailable, startRedis as startServer } from '../../bench/redis-server';
import type { RedisServer } from '../../bench/redis-server';

export { freePort, ping, redisAvailable, redisServerPath } from '../../bench/redis-server';
export type { RedisServer } from '../../bench/redis-server';

/** The line a suite prints when it skips for want of redis-server. */
export const REDIS_SKIP_REASON = 'skipped: redis-server not installed (CI installs it: .ci/run)';

/**
 * Whether a missing redis-server fails the run instead of skipping: in CI (`CI` set, other than `false`
 * or `0`) and with `PROCODE_REQUIRE_REDIS=1`.
 */
export function redisRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  return ci || env.PROCODE_REQUIRE_REDIS === '1';
}

/**
 * `describe` for suites that need a real Redis: runs them when redis-server is installed or required
 * (then `startRedis` fails loudly), otherwise skips them and prints {@link REDIS_SKIP_REASON} once.
 */
export function describeWithRedis(name: string, fn: () => void): void {
  if (redisAvailable() || redisRequired()) {
    describe(name, fn);
    return;
  }
  process.stderr.write(`${name}: ${REDIS_SKIP_REASON}\n`);
  describe.skip(`${name} (${REDIS_SKIP_REASON})`, fn);
}

/** Servers this test file started and has not closed: closed by its `afterAll`. */
const open = new Set<RedisServer>();
if (typeof afterAll === 'function') {
  afterAll(async () => {
    await Promise.all([...open].map((s) => s.close()));
  });
}

/**
 * Starts a redis-server for this test file (see bench/redis-server.ts `startRedis`), closed by the file's
 * `afterAll` at the latest.
 * @throws Error when redis-server is not installed and this run requires it (naming .ci/run), or when
 *   it does not come up within 15 s (with its output).
 */
export async function startRedis(options: { port?: number; persist?: boolean } = {}): Promise<RedisServer> {
  if (!redisAvailable()) {
    throw new Error(
      `redis-server is not installed and this run requires it (CI=true or PROCODE_REQUIRE_REDIS=1): ` +
        `apt-get install -y redis-server (.ci/run does)`,
    );
  }
  const started = await startServer(options);
  const server: RedisServer = {
    ...started,
    close: async () => {
      open.delete(server);
      await started.close();
    },
  };
  open.add(server);
  return server;
}
