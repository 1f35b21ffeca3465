import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { CONTRACT_DIR } from '../contract-kit';
import personas from '../fixtures/personas.json';
import type { Credentials, Target } from './types';

/** A named environment of `contracts/environments.json`. */
export interface Environment {
  baseUrl?: string;
  isMock: boolean;
  stateless?: boolean;
  description?: string;
}

/** Raised for a target or setting the harness cannot use; the CLI prints it and exits 2. */
export class TargetError extends Error {
  override readonly name = 'TargetError';
}

/** The named environments (base URLs only; never secrets). */
export function loadEnvironments(dir: string = CONTRACT_DIR): Record<string, Environment> {
  const file = JSON.parse(readFileSync(join(dir, 'environments.json'), 'utf8')) as {
    environments: Record<string, Environment>;
  };
  return file.environments;
}

/**
 * Credentials from the environment (`PROCODE_SUBSCRIPTION_KEY`, `PROCODE_CLIENT_ID`,
 * `PROCODE_CLIENT_SECRET`, `PROCODE_USERNAME`, `PROCODE_PASSWORD`, `PROCODE_ACCESS_TOKEN`,
 * `PROCODE_EXPIRED_ACCESS_TOKEN`, and for a mock `PROCODE_ADMIN_TOKEN`); for a mock, what is missing
 * defaults to `fixtures/personas.json` (the `basic` persona).
 * @throws TargetError when a real environment lacks the subscription key or client credentials.
 */
export function credentialsFromEnv(env: NodeJS.ProcessEnv, isMock: boolean): Credentials {
  const basic = personas.personas.find((p) => p.id === 'basic')!;
  const pick = (name: string, fallback?: string): string | undefined =>
    env[name] || (isMock ? fallback : undefined);
  const subscriptionKey = pick('PROCODE_SUBSCRIPTION_KEY', personas.subscriptionKey);
  const clientId = pick('PROCODE_CLIENT_ID', personas.clientId);
  const clientSecret = pick('PROCODE_CLIENT_SECRET', personas.clientSecret);
  if (!subscriptionKey || !clientId || !clientSecret) {
    throw new TargetError(
      'set PROCODE_SUBSCRIPTION_KEY, PROCODE_CLIENT_ID and PROCODE_CLIENT_SECRET for this target',
    );
  }
  const credentials: Credentials = {
    subscriptionKey,
    clientId,
    clientSecret,
    username: pick('PROCODE_USERNAME', basic.username),
    password: pick('PROCODE_PASSWORD', basic.password),
    accessToken: env.PROCODE_ACCESS_TOKEN || undefined,
    expiredAccessToken: env.PROCODE_EXPIRED_ACCESS_TOKEN || undefined,
    // Only a procode-mock has a control plane; a real environment is never sent it.
    adminToken: (isMock && env.PROCODE_ADMIN_TOKEN) || undefined,
  };
  if (!credentials.accessToken && !(credentials.username && credentials.password)) {
    throw new TargetError('set PROCODE_USERNAME and PROCODE_PASSWORD, or PROCODE_ACCESS_TOKEN');
  }
  return credentials;
}

/** Options for resolving a target. */
export interface TargetOptions {
  /** A name of environments.json, or a base URL. */
  target: string;
  allowWrites?: boolean;
  /** Requests per second; default 0 (unbounded) for mocks, 5 for anything else. */
  rate?: number;
  /** Treat a URL as a mock (writes allowed, OTP from its outbox). */
  mock?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Ask a person for one-time codes (a terminal run). */
  interactive?: boolean;
}

/**
 * Resolves `--target`: a named environment or a URL (`PROCODE_BASE_URL` overrides a named one's URL).
 * Anything that is not a mock is read-only unless writes are allowed explicitly.
 * @throws TargetError for an unknown name, a bad URL, or missing credentials.
 */
export function resolveTarget(opts: TargetOptions): Omit<Target, 'app'> {
  const env = opts.env ?? process.env;
  const environments = loadEnvironments();
  let name = opts.target;
  let environment: Environment;
  if (environments[name]) {
    environment = { ...environments[name]! };
    if (env.PROCODE_BASE_URL && name !== 'in-process') environment.baseUrl = env.PROCODE_BASE_URL;
  } else if (/^https?:\/\//.test(name)) {
    environment = { baseUrl: name, isMock: opts.mock === true };
  } else {
    throw new TargetError(
      `unknown target "${name}": use a URL or one of ${Object.keys(environments).join(', ')}`,
    );
  }
  if (opts.mock) environment.isMock = true;
  if (environment.baseUrl) {
    try {
      const url = new URL(environment.baseUrl);
      environment.baseUrl = url.origin + url.pathname.replace(/\/+$/, '');
    } catch {
      throw new TargetError(`not a URL: "${environment.baseUrl}"`);
    }
    if (!environments[opts.target]) name = environment.baseUrl;
  }
  const rate = opts.rate ?? (environment.isMock ? 0 : 5);
  if (!Number.isFinite(rate) || rate < 0)
    throw new TargetError('--rate must be a number of requests per second >= 0');
  return {
    name,
    baseUrl: environment.baseUrl,
    isMock: environment.isMock,
    stateless: environment.stateless === true,
    canWrite: environment.isMock || opts.allowWrites === true,
    credentials: credentialsFromEnv(env, environment.isMock),
    rate,
    promptOtp: opts.interactive ? promptOtp : undefined,
  };
}

async function promptOtp(destination: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(`One-time code sent to ${destination}: `);
  } finally {
    rl.close();
  }
}
