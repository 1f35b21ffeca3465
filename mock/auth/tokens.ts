import { createHash } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { Clock } from '../clock';
import type { RandomSource } from '../random';
import type { Store } from '../store';
import { PROBLEMS, problem } from '../problem';

/** Scope of a token before two-step authentication (api.md: SendOTP and VerifyOTP only). */
export const SCOPE_OTP = 'otp';
/** Scope of a token that may call every operation. */
export const SCOPE_CUSTOMER = 'customer';
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
}

/** What a token is issued for. */
export interface TokenSubject {
  accountIndex: number;
  customerId: string;
  accountNumber: string;
}

const CACHE_LIMIT = 10_000;

/**
 * Issues and verifies access tokens (HS256 JWTs signed with jose; key derived from the seed, so tokens
 * survive a restart with the same seed) and opaque refresh tokens kept in the store.
 * Expiry is read from the injected clock.
 */
export class TokenService {
  private readonly key: Uint8Array;
  /** Verified tokens -> claims; bounded, and expiry is re-checked on every use. */
  private readonly verified = new Map<string, AccessClaims>();

  constructor(
    seed: number,
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
    private readonly random: RandomSource,
    private readonly store: Store,
  ) {
    this.key = createHash('sha256').update(`procode-mock:${seed}:access-token-key`).digest();
  }

  private nowSeconds(): number {
    return Math.floor(this.clock.now() / 1000);
  }

  /** Signs a new access token for `subject` with `scope`. */
  async accessToken(subject: TokenSubject, scope: string): Promise<string> {
    const iat = this.nowSeconds();
    return new SignJWT({ scope, acct: subject.accountNumber })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(subject.customerId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlSeconds)
      .setJti(this.random.uuid())
      .sign(this.key);
  }

  /** Issues an access token and a new refresh token (TokenRequest, VerifyOTP). */
  async issue(subject: TokenSubject, scope: string): Promise<TokenResponse> {
    const refresh = this.random.bytes(32).toString('base64url');
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
   * Verifies a bearer token's signature, issuer, audience and expiry (against the injected clock).
   * @returns the claims, or undefined when the token is not valid (the caller answers 401 invalid_token).
   */
  async verify(token: string): Promise<AccessClaims | undefined> {
    const cached = this.verified.get(token);
    if (cached) return cached.exp > this.nowSeconds() ? cached : undefined;
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
        currentDate: new Date(this.clock.now()),
        clockTolerance: 0,
      });
      if (
        typeof payload.sub !== 'string' ||
        typeof payload.acct !== 'string' ||
        typeof payload.scope !== 'string'
      ) {
        return undefined;
      }
      const claims: AccessClaims = {
        customerId: payload.sub,
        accountNumber: payload.acct,
        scope: payload.scope,
        exp: payload.exp ?? 0,
      };
      if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
      this.verified.set(token, claims);
      return claims;
    } catch (err) {
      if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return undefined;
      throw err;
    }
  }
}
