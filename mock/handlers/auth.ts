import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { HandlerEntry } from './context';
import { PROBLEMS, Problem, pointer, problem } from '../problem';
import type { Handler, Services } from './context';
import { json } from './context';
import { login, subjectOf } from './customers';
import personas from '../../fixtures/personas.json';
import { FORM_MEDIA_TYPE, mediaTypeOf } from '../../contract-kit';

/** RFC 6749 section 5.1: token responses must not be cached. */
export const TOKEN_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
});

/**
 * Wrong passwords allowed for one username within `LOGIN_FAILURE_WINDOW_SECONDS` before TokenRequest
 * answers 429 (the contract's TooManyRequests response: 10 wrong passwords for one username in 15 minutes).
 */
export const LOGIN_FAILURE_LIMIT = 10;
/** The sliding window, in seconds, over which wrong passwords are counted (15 minutes). */
export const LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60;
export { LOGIN_FAILURE_MAX_USERNAMES } from '../store';

const CLIENT_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="procode", charset="UTF-8"' };

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Decodes `Authorization: Basic` client credentials (RFC 6749 section 2.3.1: form-encoded, then base64). */
function basicCredentials(
  header: string | undefined,
): { id: string; secret: string } | 'malformed' | undefined {
  if (!header || !/^basic\b/i.test(header)) return undefined;
  const m = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header);
  if (!m) return 'malformed';
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  try {
    const form = (s: string): string => decodeURIComponent(s.replace(/\+/g, ' '));
    return { id: form(decoded.slice(0, colon)), secret: form(decoded.slice(colon + 1)) };
  } catch {
    return 'malformed';
  }
}

/**
 * Before validation of TokenRequest/RefreshToken: RFC 6749 section 3.2 (empty parameters count as
 * absent; a repeated parameter is invalid_request) and client authentication (section 2.3.1: HTTP Basic
 * or client_id/client_secret in the body, not both).
 * @throws Problem invalid-request (400) or invalid-client (401, `WWW-Authenticate: Basic`).
 */
function prepareTokenRequest(body: unknown, req: Request): unknown {
  let params: Record<string, unknown> | undefined;
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const entries = Object.entries(body as Record<string, unknown>);
    // Only a form can repeat a parameter; in JSON an array is a value of the wrong type.
    const isForm = mediaTypeOf(req.headers['content-type']) === FORM_MEDIA_TYPE;
    const repeated = isForm ? entries.find(([, value]) => Array.isArray(value)) : undefined;
    if (repeated) {
      throw problem(
        PROBLEMS.INVALID_REQUEST,
        `The parameter ${repeated[0]} was sent more than once; send it once.`,
        {
          errors: [
            { in: 'body', pointer: pointer([repeated[0]]), detail: 'was sent more than once; send it once' },
          ],
        },
      );
    }
    // Object.fromEntries defines own properties, so a `__proto__` parameter stays an ignored unknown
    // parameter instead of becoming the prototype (and lending its fields to the grant).
    params = Object.fromEntries(entries.filter(([, value]) => value !== '' && value !== null));
  }
  const basic = basicCredentials(req.headers.authorization);
  const inBody = params && (params.client_id !== undefined || params.client_secret !== undefined);
  if (basic && inBody) {
    throw problem(
      PROBLEMS.INVALID_REQUEST,
      'Authenticate the client one way only: HTTP Basic or client_id/client_secret in the body.',
    );
  }
  const id = basic === 'malformed' ? undefined : basic ? basic.id : params?.client_id;
  const secret = basic === 'malformed' ? undefined : basic ? basic.secret : params?.client_secret;
  if (basic === 'malformed') {
    throw problem(
      PROBLEMS.INVALID_CLIENT,
      'The Authorization: Basic header is malformed: send base64 of "<client_id>:<client_secret>".',
      {},
      CLIENT_CHALLENGE,
    );
  }
  if (typeof id !== 'string' || typeof secret !== 'string') {
    throw problem(
      PROBLEMS.INVALID_CLIENT,
      'Client authentication is missing: send the client id and secret with HTTP Basic or in the body.',
      {},
      CLIENT_CHALLENGE,
    );
  }
  if (!same(id, personas.clientId) || !same(secret, personas.clientSecret)) {
    throw problem(PROBLEMS.INVALID_CLIENT, 'The client id or secret is wrong.', {}, CLIENT_CHALLENGE);
  }
  return params ?? body;
}

/**
 * Every 400 of a token request speaks OAuth2 (RFC 6749 section 5.2): an unknown grant_type is
 * unsupported_grant_type; any other parameter fault is invalid_request (with `errors[]`); an
 * unreadable body stays malformed-json and gains `error: invalid_request`.
 */
function mapTokenProblem(p: Problem): Problem {
  if (p.type.status !== 400 || p.type.oauthError) return p;
  const errors = p.extensions.errors ?? [];
  const badGrant = errors.find(
    (e) => e.in === 'body' && e.pointer === '#/grant_type' && e.detail.startsWith('must be'),
  );
  if (badGrant) return problem(PROBLEMS.UNSUPPORTED_GRANT_TYPE, `grant_type ${badGrant.detail}.`, { errors });
  if (p.type === PROBLEMS.VALIDATION_ERROR) return problem(PROBLEMS.INVALID_REQUEST, p.detail, { errors });
  return problem(p.type, p.detail, { ...p.extensions, oauthError: 'invalid_request' }, p.headers);
}

/**
 * The key a username's failures are counted under: SHA-256 of the lower-cased username (usernames are
 * e-mail addresses, compared case-insensitively; the store keeps no personal data for this).
 */
function throttleKey(username: string): string {
  return createHash('sha256').update(username.toLowerCase()).digest('base64url');
}

/**
 * Seconds until TokenRequest (password grant) may try `username` again: after `LOGIN_FAILURE_LIMIT` (10)
 * wrong passwords within `LOGIN_FAILURE_WINDOW_SECONDS` (15 minutes) of the mock's clock, the time until
 * the oldest counted failure leaves the window (at least 1), for `Retry-After` (RFC 6585 section 4,
 * RFC 9110 section 10.2.3); undefined when not throttled. The username is compared case-insensitively,
 * whether or not an account has it (no account enumeration, api.md "Errors").
 */
export async function loginRetryAfterSeconds(
  services: Services,
  username: string,
): Promise<number | undefined> {
  const now = services.clock.now();
  const windowStart = now - LOGIN_FAILURE_WINDOW_SECONDS * 1000;
  const recent = await services.store.loginFailures(throttleKey(username), windowStart);
  if (recent.length < LOGIN_FAILURE_LIMIT) return undefined;
  // At most LIMIT failures are kept (a throttled attempt is not counted): the oldest one leaving opens it.
  return Math.max(1, Math.ceil((recent[0]! + LOGIN_FAILURE_WINDOW_SECONDS * 1000 - now) / 1000));
}

/**
 * Counts one wrong password for `username` (case-insensitive) at the mock's clock, in one store step.
 * Bounded: a username's list never holds more than `LOGIN_FAILURE_LIMIT` entries (a throttled attempt is
 * not checked, so not counted), and beyond `LOGIN_FAILURE_MAX_USERNAMES` usernames the least recently
 * failed are forgotten (memory) or expire with their window (Redis).
 * @returns the epoch ms it was counted at (for `forgetLoginAttempt`).
 */
export async function recordLoginFailure(services: Services, username: string): Promise<number> {
  const now = services.clock.now();
  const windowStart = now - LOGIN_FAILURE_WINDOW_SECONDS * 1000;
  await services.store.countLoginFailure(throttleKey(username), now, windowStart, LOGIN_FAILURE_LIMIT);
  return now;
}

/**
 * Claims one password attempt for `username` (case-insensitive) at the mock's clock, in one store step:
 * counted (as a wrong password until `forgetLoginAttempt` takes it back) unless `LOGIN_FAILURE_LIMIT`
 * are counted in the window, which throttles it (RFC 6585 section 4). Check and count are one step, so
 * attempts in flight together, through one replica or several, stop at the limit.
 * @returns `{ at }`, the epoch ms it was counted at, or `{ retryAfterSeconds }` (at least 1) when throttled.
 */
export async function claimLoginAttempt(
  services: Services,
  username: string,
): Promise<{ at: number } | { retryAfterSeconds: number }> {
  const now = services.clock.now();
  const windowMs = LOGIN_FAILURE_WINDOW_SECONDS * 1000;
  const oldest = await services.store.claimLoginAttempt(
    throttleKey(username),
    now,
    now - windowMs,
    LOGIN_FAILURE_LIMIT,
  );
  if (oldest === undefined) return { at: now };
  return { retryAfterSeconds: Math.max(1, Math.ceil((oldest + windowMs - now) / 1000)) };
}

/**
 * Takes back one counted attempt (epoch ms `at`, as `recordLoginFailure` returned it) of `username`: the
 * password was right after all. Earlier failures stay counted.
 */
export async function forgetLoginAttempt(services: Services, username: string, at: number): Promise<void> {
  await services.store.forgetLoginFailure(throttleKey(username), at);
}

/**
 * TokenRequest. The password grant is throttled per username (RFC 6585 section 4, api.md, the contract's
 * TooManyRequests): while throttled it answers 429 `too-many-requests` with `Retry-After` without checking
 * the password, so the right password gets 429 too and a guess teaches nothing. A successful login does
 * not clear earlier failures: the window counts wrong passwords, and clearing it would hand a guesser a
 * fresh batch whenever the owner logs in. A registered account's password is checked with an asynchronous
 * scrypt; the attempt is counted before it and taken back if the password is right.
 * @throws Problem invalid-grant (400), too-many-requests (429), or those of `TokenService.refresh`.
 */
const tokenRequest: Handler = async (ctx) => {
  const body = ctx.body as Record<string, string>;
  const { services } = ctx;
  if (body.grant_type === 'refresh_token') {
    return json(
      200,
      await services.tokens.refresh(body.refresh_token!, (i) => subjectOf(services, i), {
        rotate: services.config.refreshRotation,
      }),
      TOKEN_HEADERS,
    );
  }
  // Counted before the (asynchronous) password check, in the same step as the limit is checked, so
  // guesses in flight together count against the limit as they would one after another; taken back
  // when the password is right.
  const claim = await claimLoginAttempt(services, body.username!);
  if ('retryAfterSeconds' in claim) {
    const retryAfter = claim.retryAfterSeconds;
    throw problem(
      PROBLEMS.TOO_MANY_REQUESTS,
      `Too many wrong passwords for this username: at most ${LOGIN_FAILURE_LIMIT} in ${LOGIN_FAILURE_WINDOW_SECONDS / 60} minutes; try again in ${retryAfter} seconds.`,
      {},
      { 'Retry-After': String(retryAfter) },
    );
  }
  const attemptAt = claim.at;
  const result = await login(services, body.username!, body.password!);
  if (!result) {
    throw problem(
      PROBLEMS.INVALID_GRANT,
      'The username or password is wrong, or the account has no online access.',
      {
        error_description: 'The username or password is wrong.',
      },
    );
  }
  await forgetLoginAttempt(services, body.username!, attemptAt);
  return json(200, await services.tokens.issue(result.subject, result.scope), TOKEN_HEADERS);
};

/** RefreshToken: see `TokenService.refresh` (rotation when the `refreshRotation` setting is on). */
const refreshToken: Handler = async (ctx) => {
  const body = ctx.body as Record<string, string>;
  const { services } = ctx;
  return json(
    200,
    await services.tokens.refresh(body.refresh_token!, (i) => subjectOf(services, i), {
      rotate: services.config.refreshRotation,
    }),
    TOKEN_HEADERS,
  );
};

/** TokenRequest and RefreshToken with their OAuth2 hooks. */
export const AUTH_HANDLERS: Record<string, HandlerEntry> = {
  TokenRequest: {
    handle: tokenRequest,
    prepare: prepareTokenRequest,
    mapProblem: mapTokenProblem,
  },
  RefreshToken: {
    handle: refreshToken,
    prepare: prepareTokenRequest,
    mapProblem: mapTokenProblem,
  },
};
