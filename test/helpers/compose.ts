/**
 * docker-compose.yml as Docker Compose reads it, for tests that cannot run Docker (no engine runs where
 * this is developed or in CI): the file parsed with `yaml` (merge keys `<<: *anchor` resolved, as Compose
 * resolves them), a service's environment with `${VAR}` / `${VAR:-default}` interpolated from a given
 * shell environment, and the environment a container of the image starts with (the Dockerfile's `ENV`,
 * then the service's `environment`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');

/** The fields of a service that the tests read (Compose allows more). */
export interface ComposeService {
  profiles?: string[];
  image?: string;
  build?: unknown;
  init?: boolean;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: string[]; disable?: boolean; interval?: string; timeout?: string; retries?: number };
  depends_on?: Record<string, { condition?: string }>;
  volumes?: string[];
  [field: string]: unknown;
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** docker-compose.yml, parsed with YAML merge keys resolved. */
export function loadCompose(file = join(ROOT, 'docker-compose.yml')): ComposeFile {
  return parse(readFileSync(file, 'utf8'), { merge: true }) as ComposeFile;
}

/** The services `docker compose` starts with these profiles active (those without profiles always). */
export function activeServices(compose: ComposeFile, profiles: string[] = []): string[] {
  return Object.entries(compose.services)
    .filter(([, s]) => !s.profiles || s.profiles.some((p) => profiles.includes(p)))
    .map(([name]) => name);
}

/**
 * Compose's interpolation of one value: `$$` is a literal `$`; `${VAR}` and `$VAR` the shell's value or
 * empty; `${VAR:-default}` the default when unset or empty; `${VAR-default}` when unset.
 * @throws Error for any other form (`${VAR:?}`, `${VAR:+}`...), so a test never silently misreads one.
 */
export function interpolate(value: string, shell: Record<string, string | undefined> = {}): string {
  return value.replace(
    /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*)|(\{[^}]*\}?))/g,
    (_m, dollar?: string, braced?: string, op?: string, fallback?: string, bare?: string, other?: string) => {
      if (dollar) return '$';
      if (other !== undefined) throw new Error(`interpolation not understood here: $${other} in "${value}"`);
      const name = (braced ?? bare)!;
      const got = shell[name];
      if (op === ':-') return got === undefined || got === '' ? fallback! : got;
      if (op === '-') return got === undefined ? fallback! : got;
      return got ?? '';
    },
  );
}

/** The `ENV` of the Dockerfile's last stage (the runtime image), e.g. `{ NODE_ENV, HOST, PORT }`. */
export function imageEnv(
  dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8'),
): Record<string, string> {
  const stages = dockerfile.split(/^FROM\s/m);
  const runtime = stages[stages.length - 1]!.replace(/\\\n/g, ' ');
  const env: Record<string, string> = {};
  for (const line of runtime.split('\n')) {
    const m = /^ENV\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    for (const pair of m[1]!.trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`ENV form not understood here: ${line.trim()}`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/**
 * What a container of `service` has in its environment: the image's `ENV`, then the service's
 * `environment` interpolated from `shell` (the environment `docker compose` is run in).
 */
export function containerEnv(
  service: ComposeService,
  shell: Record<string, string | undefined> = {},
): Record<string, string> {
  const env = { ...imageEnv() };
  for (const [name, value] of Object.entries(service.environment ?? {})) {
    env[name] = interpolate(String(value), shell);
  }
  return env;
}

/**
 * A Redis URL that names a compose service (`redis://valkey:6379/0`) moved onto a loopback port: only
 * host and port change (scheme, credentials, database number stay).
 */
export function onLoopback(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}
