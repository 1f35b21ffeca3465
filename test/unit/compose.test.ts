/**
 * docker-compose.yml, read as Docker Compose reads it (test/helpers/compose.ts; no Docker engine runs
 * here): what `docker compose up` starts is what it always started, and the `shared` profile (issue 12)
 * gives a team one mock on two replicas: Valkey pinned by version and digest, two replicas of the image
 * `mock` builds with one environment (store at the Valkey service, one prefix, seed and accounts), on two
 * host ports, each started once Valkey is healthy. test/e2e/replicas.test.ts runs two mocks with the
 * environment read from here against a real redis-server.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { activeServices, containerEnv, imageEnv, loadCompose } from '../helpers/compose';
import type { ComposeService } from '../helpers/compose';

const ROOT = join(__dirname, '..', '..');
const compose = loadCompose();
const services = compose.services;
const service = (name: string): ComposeService => {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};
const REPLICAS = ['mock-a', 'mock-b'];

/** `host:container` of a short port mapping. */
function mapping(port: string): { host: number; container: number } {
  const m = /^(\d+):(\d+)$/.exec(port);
  if (!m) throw new Error(`port mapping not understood here: ${port}`);
  return { host: Number(m[1]), container: Number(m[2]) };
}

describe('docker-compose.yml without a profile', () => {
  test('`docker compose up` starts the mock and the contract job, and nothing else', () => {
    expect(activeServices(compose)).toEqual(['mock', 'contract']);
  });

  test('the mock builds the image and serves it on port 4010 with its own memory, as before', () => {
    expect(service('mock')).toEqual({
      build: '.',
      image: 'procode-mock:local',
      init: true,
      ports: ['4010:4010'],
      environment: { SEED: '42', ACCOUNTS: '1000', LOG_LEVEL: 'info' },
      healthcheck: { interval: '2s', timeout: '3s', retries: 15 },
    });
  });

  test('the contract job runs that image against the mock once it is healthy, reports in a volume', () => {
    expect(service('contract')).toEqual({
      image: 'procode-mock:local',
      init: true,
      command: ['contract', '--target', 'http://mock:4010', '--mock', '--report', '/reports'],
      depends_on: { mock: { condition: 'service_healthy' } },
      volumes: ['contract-reports:/reports'],
    });
    expect(compose.volumes).toHaveProperty('contract-reports');
  });
});

describe('docker-compose.yml, profile shared', () => {
  const shared = activeServices(compose, ['shared']).filter((n) => !activeServices(compose).includes(n));

  test('adds exactly Valkey and two replicas, each in the profile shared only', () => {
    expect(shared.sort()).toEqual(['mock-a', 'mock-b', 'valkey']);
    for (const name of shared) expect(service(name).profiles).toEqual(['shared']);
  });

  test('Valkey is pinned by exact version and image digest, answers its health check, keeps nothing on disk and is not published', () => {
    const valkey = service('valkey');
    expect(valkey.image).toMatch(/^valkey\/valkey:\d+\.\d+\.\d+(-alpine)?@sha256:[0-9a-f]{64}$/);
    expect(valkey.healthcheck?.test).toEqual(['CMD', 'valkey-cli', 'ping']);
    expect(valkey.healthcheck?.disable).toBeUndefined();
    expect(valkey.command).toEqual(['valkey-server', '--save', '', '--appendonly', 'no']);
    expect(valkey.ports).toBeUndefined();
  });

  test('each replica runs the image `mock` builds (`docker compose build mock`), with its own init and health probe', () => {
    for (const name of REPLICAS) {
      const replica = service(name);
      expect(replica.image).toBe(service('mock').image);
      expect(replica.build).toBeUndefined();
      expect(replica.init).toBe(true);
      // The image's HEALTHCHECK (its `test`), probed as often as `mock`'s.
      expect(replica.healthcheck).toEqual(service('mock').healthcheck);
    }
    expect(service('mock').build).toBe('.');
  });

  test('both replicas get one environment: the store is the Valkey service, one prefix, one world', () => {
    const [a, b] = REPLICAS.map((name) => containerEnv(service(name)));
    expect(b).toEqual(a);
    const store = new URL(a!.PROCODE_STORE!);
    expect(store.protocol).toBe('redis:');
    expect(store.hostname).toBe('valkey');
    expect(store.port).toBe('6379'); // Valkey's default: its command sets no other
    expect(service('valkey').command).not.toContain('--port');
    expect(store.pathname).toMatch(/^\/\d+$/);
    expect(a!.PROCODE_STORE_PREFIX).toMatch(/^[A-Za-z0-9_.-]+$/);
    // Set, not left to defaults, and the default mock's world: one seed and size of world in the file.
    expect(a!.SEED).toBe(service('mock').environment!.SEED);
    expect(a!.ACCOUNTS).toBe(service('mock').environment!.ACCOUNTS);
  });

  test('the token signing key: none by default (the one kept in Valkey), or the shell PROCODE_TOKEN_SECRET for both', () => {
    for (const name of REPLICAS) {
      // Empty is unset for the mock's settings: it then signs with the key its store holds.
      expect(containerEnv(service(name)).PROCODE_TOKEN_SECRET ?? '').toBe('');
      const secret = 'a-team-secret-of-at-least-32-characters';
      expect(containerEnv(service(name), { PROCODE_TOKEN_SECRET: secret }).PROCODE_TOKEN_SECRET).toBe(secret);
    }
  });

  test('the replicas publish 4051 and 4052 (not the default mock 4010) to the port the image listens on', () => {
    const published = REPLICAS.map((name) => {
      const ports = service(name).ports ?? [];
      expect(ports).toHaveLength(1);
      const { host, container } = mapping(ports[0]!);
      expect(container).toBe(Number(imageEnv().PORT));
      expect(containerEnv(service(name)).PORT ?? imageEnv().PORT).toBe(String(container));
      return host;
    });
    expect(published).toEqual([4051, 4052]);
    expect(published).not.toContain(mapping(service('mock').ports![0]!).host);
  });

  test('each replica starts only once Valkey is healthy (a store unreachable at start-up is exit 2)', () => {
    for (const name of REPLICAS) {
      expect(service(name).depends_on).toEqual({ valkey: { condition: 'service_healthy' } });
    }
  });
});

describe("the README's compose commands", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const commands = [...readme.matchAll(/^(docker compose [^\n#]*?)\s*(?:#.*)?$/gm)].map((m) => m[1]!);

  test('name only profiles and services that docker-compose.yml has', () => {
    expect(commands.length).toBeGreaterThan(3);
    const profiles = new Set(Object.values(services).flatMap((s) => s.profiles ?? []));
    for (const command of commands) {
      const words = command.split(/\s+/).slice(2);
      // Global options first (`--profile <name>`), then the subcommand and its words.
      while (words[0] === '--profile') expect(profiles).toContain(words.splice(0, 2)[1]);
      const [subcommand, ...rest] = words;
      // These take services (a flag's value too: `--exit-code-from contract`); `cp` and `exec` take more.
      if (!['up', 'build', 'start', 'stop', 'restart', 'logs', 'ps', 'down', 'rm'].includes(subcommand!))
        continue;
      for (const word of rest.filter((w) => !w.startsWith('-')))
        expect(Object.keys(services)).toContain(word);
    }
  });

  test('start the shared replicas with their profile, and say where they answer', () => {
    const section = readme.slice(readme.indexOf('## Replicas sharing state'), readme.indexOf('## Docker'));
    expect(section).toMatch(/docker compose build mock\b/);
    expect(section).toMatch(/docker compose --profile shared up -d valkey mock-a mock-b/);
    for (const name of REPLICAS) {
      const host = mapping(service(name).ports![0]!).host;
      expect(section).toContain(`http://127.0.0.1:${host}`);
    }
    // Commands other than `up` do not enable a profile by naming its services: each carries it.
    for (const command of commands.filter((c) => /\b(mock-a|mock-b|valkey)\b/.test(c))) {
      expect(command).toContain('--profile shared');
    }
  });
});
