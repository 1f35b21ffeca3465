import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { Clock } from '../clock';
import type { RefreshGrant, SharedStore } from '../store';
import { PROBLEMS, problem } from '../problem';

/** Scope of a token before two-step authentication (api.md: SendOTP and VerifyOTP only). */
export const SCOPE_OTP = 'otp';
/** Scope of a token that may call every operation. */
export const SCOPE_CUSTOMER = 'customer';
/** The scopes this service issues; a token with any other is not one of ours. */
export const SCOPES: ReadonlySet<string> = new Set([SCOPE_OTP, SCOPE_CUSTOMER]);
/**
 * Clock skew, in seconds, allowed for an access token's `iat` in the future (RFC 7519 section 4.1.6;
 * RFC 9068 section 4: reject a token issued in the future, with "some small leeway"): the admin API may
 * move the mock's clock backwards, so a token issued a moment "later" still passes, while one dated ten
 * years ahead is invalid. `nbf` (section 4.1.5), which the mock never issues, is strict, as jose checks it.
 */
export const CLOCK_SKEW_SECONDS = 60;

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
  /** Epoch seconds at which it was issued (RFC 7519 section 4.1.6). */
  iat: number;
  /** Epoch seconds before which it is not accepted (RFC 7519 section 4.1.5), when the token has one. */
  nbf?: number;
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

/** How RefreshToken treats the refresh token it is given. */
export interface RefreshOptions {
  /**
   * Refresh-token rotation (the `refreshRotation` setting, RFC 9700 section 4.14.2): answer with a new
   * refresh token of the same family and retire the one presented. Off (default): the same token back
   * (api.md "Auth API").
   */
  rotate?: boolean;
}

/** Verified access tokens remembered (their claims); the memo is emptied when full and by every reset. */
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

  /**
   * @param ttlSeconds access token lifetime; refreshTtlSeconds a refresh token family's lifetime (the
   *   `refreshTokenTtlSeconds` setting, default 30 days); secret the HS256 key (random when absent).
   */
  constructor(
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
    private readonly store: SharedStore,
    secret?: string,
    private readonly refreshTtlSeconds: number = 30 * 24 * 3600,
  ) {
    this.key = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
    store.onReset(() => this.verified.clear());
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
    return new SignJWT({ scope, acct: subject.accountNumber, gen: this.store.generation() })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(subject.customerId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(now + lifetimeSeconds)
      .setJti(randomUUID())
      .sign(this.key);
  }

  /** Stores a new refresh token of `family` (the family's newest, live token) and returns it. */
  private async newRefreshToken(grant: Omit<RefreshGrant, 'retired'>, now: number): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.store.issueRefresh(token, grant, now);
    return token;
  }

  /**
   * Issues an access token and a new refresh token, which starts a new family that expires
   * `refreshTtlSeconds` from now (the store revokes the account's oldest family beyond its bound) (TokenRequest password grant, VerifyOTP, the admin API's
   * `POST /__admin/tokens`).
   * @param lifetimeSeconds the access token's lifetime (default: the mock's token TTL).
   */
  async issue(
    subject: TokenSubject,
    scope: string,
    lifetimeSeconds: number = this.ttlSeconds,
  ): Promise<TokenResponse> {
    const now = this.clock.now();
    const refresh = await this.newRefreshToken(
      {
        accountIndex: subject.accountIndex,
        scope,
        expiresAt: now + this.refreshTtlSeconds * 1000,
        family: randomUUID(),
      },
      now,
    );
    return {
      access_token: await this.accessToken(subject, scope, lifetimeSeconds),
      token_type: 'Bearer',
      expires_in: lifetimeSeconds,
      refresh_token: refresh,
      scope,
    };
  }

  /**
   * RefreshToken, and TokenRequest with `grant_type=refresh_token`: a new access token with the scope of
   * the refresh token's grant. Without rotation the same refresh token comes back (api.md "Auth API").
   * With `rotate` a new refresh token of the same family (same expiry) comes back and the one presented
   * is retired; presenting a retired token again is reuse, so the whole family is revoked, the newest
   * token included (RFC 9700 section 4.14.2). The check and the rotation are one store step
   * (`SharedStore.useRefresh`), so two concurrent refreshes with one token cannot both rotate it.
   * @throws Problem invalid-grant (400) for an unknown, expired, reused or revoked refresh token, or one
   *   whose account has lost online access.
   */
  async refresh(
    refreshToken: string,
    subjectOf: (accountIndex: number) => Promise<TokenSubject | undefined>,
    options: RefreshOptions = {},
  ): Promise<TokenResponse> {
    const now = this.clock.now();
    const next = options.rotate ? randomBytes(32).toString('base64url') : refreshToken;
    const verdict = await this.store.useRefresh(refreshToken, now, options.rotate ? next : undefined);
    if (verdict.result === 'unknown') {
      throw problem(PROBLEMS.INVALID_GRANT, 'The refresh token is unknown or has expired; log in again.', {
        error_description: 'The refresh token is unknown or has expired.',
      });
    }
    if (verdict.result === 'reused') {
      throw problem(
        PROBLEMS.INVALID_GRANT,
        'This refresh token was already used and replaced; as a precaution every refresh token of this login is now revoked. Log in again.',
        { error_description: 'The refresh token was already used; its token family is revoked.' },
      );
    }
    const { grant } = verdict;
    const subject = await subjectOf(grant.accountIndex);
    if (!subject) {
      throw problem(PROBLEMS.INVALID_GRANT, 'The refresh token no longer belongs to an online account.', {
        error_description: 'The refresh token is no longer valid.',
      });
    }
    return {
      access_token: await this.accessToken(subject, grant.scope),
      token_type: 'Bearer',
      expires_in: this.ttlSeconds,
      refresh_token: next,
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
          // exp and nbf are strict; jose's tolerance would loosen exp too, so iat's skew is checked below.
          clockTolerance: 0,
        });
        if (
          typeof payload.sub !== 'string' ||
          typeof payload.acct !== 'string' ||
          typeof payload.scope !== 'string' ||
          !SCOPES.has(payload.scope) ||
          typeof payload.gen !== 'number' ||
          typeof payload.exp !== 'number' ||
          typeof payload.iat !== 'number' ||
          (payload.nbf !== undefined && typeof payload.nbf !== 'number')
        ) {
          return 'invalid';
        }
        claims = {
          customerId: payload.sub,
          accountNumber: payload.acct,
          scope: payload.scope,
          exp: payload.exp,
          iat: payload.iat,
          ...(payload.nbf !== undefined ? { nbf: payload.nbf } : {}),
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
    // Checked on every use, not only when first verified: the admin API may move the clock backwards.
    const now = this.nowSeconds();
    if (claims.iat > now + CLOCK_SKEW_SECONDS) return 'invalid';
    if (claims.nbf !== undefined && claims.nbf > now) return 'invalid';
    if (claims.exp <= now) return 'expired';
    if (claims.gen !== this.store.generation()) return 'revoked';
    return claims;
  }
}
