import type { Request } from 'express';
import { timingSafeEqual } from 'node:crypto';
import type { HandlerEntry } from '../router';
import { PROBLEMS, Problem, pointer, problem } from '../problem';
import type { Handler } from './context';
import { json } from './context';
import { login, subjectOf } from './customers';
import personas from '../../fixtures/personas.json';

/** RFC 6749 section 5.1: token responses must not be cached. */
export const TOKEN_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
});

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
    const isForm = /^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '');
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

const tokenRequest: Handler = async (ctx) => {
  const body = ctx.body as Record<string, string>;
  const { services } = ctx;
  if (body.grant_type === 'refresh_token') {
    return json(
      200,
      await services.tokens.refresh(body.refresh_token!, (i) => subjectOf(services, i)),
      TOKEN_HEADERS,
    );
  }
  const result = login(services, body.username!, body.password!);
  if (!result) {
    throw problem(
      PROBLEMS.INVALID_GRANT,
      'The username or password is wrong, or the account has no online access.',
      {
        error_description: 'The username or password is wrong.',
      },
    );
  }
  return json(200, await services.tokens.issue(result.subject, result.scope), TOKEN_HEADERS);
};

const refreshToken: Handler = async (ctx) => {
  const body = ctx.body as Record<string, string>;
  const { services } = ctx;
  return json(
    200,
    await services.tokens.refresh(body.refresh_token!, (i) => subjectOf(services, i)),
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
