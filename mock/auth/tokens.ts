import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { Clock } from '../clock';
import type { Store } from '../store';
import { PROBLEMS, problem } from '../problem';

/** Scope of a token before two-step authentication (api.md: SendOTP and VerifyOTP only). */
export const SCOPE_OTP = 'otp';
/** Scope of a token that may call every operation. */
export const SCOPE_CUSTOMER = 'customer';
/** The scopes this service issues; a token with any other is not one of ours. */
export const SCOPES: ReadonlySet<string> = new Set([SCOPE_OTP, SCOPE_CUSTOMER]);
/** Lifetime of a refresh token, in seconds (30 days). */
export const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

const ISSUER = 'procode-mock';
const AUDIENCE = 'procode-api';

/** The OAuth2 token response (RFC 6749 section 5.1). */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  /** Seconds until the access token expires. */
  expires_in: number;
  refresh_token: string;
  scope: string;
}

/** Who an access token speaks for. */
export interface AccessClaims {
  customerId: string;
  accountNumber: string;
  scope: string;
  /** Epoch seconds. */
  exp: number;
  /** The store generation the token was issued in; a reset starts a new one. */
  gen: number;
}

/** What is wrong with a bearer token, for the detail of the 401. */
export type TokenFault = 'expired' | 'revoked' | 'invalid';

/** What a token is issued for. */
export interface TokenSubject {
  accountIndex: number;
  customerId: string;
  accountNumber: string;
}

const CACHE_LIMIT = 10_000;

/** True when each dot-separated part is canonical base64url (RFC 7515 section 2: no padding, no stray bits). */
function isCanonicalCompactJws(token: string): boolean {
  const parts = token.split('.');
  return (
    parts.length === 3 &&
    parts.every((p) => p.length > 0 && Buffer.from(p, 'base64url').toString('base64url') === p)
  );
}

/**
 * Issues and verifies access tokens (HS256 JWTs signed with jose, with a key that is random per process
 * unless `secret` is given, so nobody can forge one from the public seed) and opaque random refresh
 * tokens kept in the store. Expiry is read from the injected clock; a store reset revokes every token.
 */
export class TokenService {
  private readonly key: Uint8Array;
  /** Verified tokens -> claims; bounded, and expiry and generation are re-checked on every use. */
  private readonly verified = new Map<string, AccessClaims>();

  constructor(
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
    private readonly store: Store,
    secret?: string,
  ) {
    this.key = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  }

  private nowSeconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /**
   * Signs an access token for `subject` with `scope`.
   * @param lifetimeSeconds seconds from now to expiry (negative: already expired, for dev tooling).
   */
  async accessToken(
    subject: TokenSubject,
    scope: string,
    lifetimeSeconds = this.ttlSeconds,
  ): Promise<string> {
    const now = this.nowSeconds();
    const iat = Math.min(now, now + lifetimeSeconds - 1);
    return new SignJWT({ scope, acct: subject.accountNumber, gen: this.store.generation })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(subject.customerId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(now + lifetimeSeconds)
      .setJti(randomUUID())
      .sign(this.key);
  }

  /** Issues an access token and a new refresh token (TokenRequest, VerifyOTP). */
  async issue(subject: TokenSubject, scope: string): Promise<TokenResponse> {
    const refresh = randomBytes(32).toString('base64url');
    this.store.refreshTokens.set(refresh, {
      accountIndex: subject.accountIndex,
      scope,
      expiresAt: this.clock.now() + REFRESH_TOKEN_TTL_SECONDS * 1000,
    });
    return {
      access_token: await this.accessToken(subject, scope),
      token_type: 'Bearer',
      expires_in: this.ttlSeconds,
      refresh_token: refresh,
      scope,
    };
  }

  /**
   * RefreshToken (api.md): the same refresh token back with a new access token.
   * @throws Problem invalid-grant for an unknown or expired refresh token.
   */
  async refresh(
    refreshToken: string,
    subjectOf: (accountIndex: number) => TokenSubject | undefined,
  ): Promise<TokenResponse> {
    const grant = this.store.refreshTokens.get(refreshToken);
    if (!grant || grant.expiresAt <= this.clock.now()) {
      if (grant) this.store.refreshTokens.delete(refreshToken);
      throw problem(PROBLEMS.INVALID_GRANT, 'The refresh token is unknown or has expired; log in again.', {
        error_description: 'The refresh token is unknown or has expired.',
      });
    }
    const subject = subjectOf(grant.accountIndex);
    if (!subject) {
      throw problem(PROBLEMS.INVALID_GRANT, 'The refresh token no longer belongs to an online account.', {
        error_description: 'The refresh token is no longer valid.',
      });
    }
    return {
      access_token: await this.accessToken(subject, grant.scope),
      token_type: 'Bearer',
      expires_in: this.ttlSeconds,
      refresh_token: refreshToken,
      scope: grant.scope,
    };
  }

  /**
   * Verifies a bearer token: canonical compact JWS, HS256 signature, issuer, audience, required claims
   * (`sub`, `exp`, `scope` one of ours, `acct`, `gen`), expiry against the injected clock, and the store
   * generation (a reset revokes earlier tokens).
   * @returns the claims, or the fault (the caller answers 401 invalid_token).
   */
  async verify(token: string): Promise<AccessClaims | TokenFault> {
    let claims = this.verified.get(token);
    if (!claims) {
      if (!isCanonicalCompactJws(token)) return 'invalid';
      try {
        const { payload } = await jwtVerify(token, this.key, {
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ['HS256'],
          requiredClaims: ['sub', 'exp', 'iat'],
          currentDate: new Date(this.clock.now()),
          clockTolerance: 0,
        });
        if (
          typeof payload.sub !== 'string' ||
          typeof payload.acct !== 'string' ||
          typeof payload.scope !== 'string' ||
          !SCOPES.has(payload.scope) ||
          typeof payload.gen !== 'number' ||
          typeof payload.exp !== 'number'
        ) {
          return 'invalid';
        }
        claims = {
          customerId: payload.sub,
          accountNumber: payload.acct,
          scope: payload.scope,
          exp: payload.exp,
          gen: payload.gen,
        };
        if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
        this.verified.set(token, claims);
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) return 'expired';
        if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return 'invalid';
        throw err;
      }
    }
    if (claims.exp <= this.nowSeconds()) return 'expired';
    if (claims.gen !== this.store.generation) return 'revoked';
    return claims;
  }
}
