import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import type { Clock } from '../clock';
import type { RefreshGrant, Store } from '../store';
import { PROBLEMS, problem } from '../problem';

/** Scope of a token before two-step authentication (api.md: SendOTP and VerifyOTP only). */
export const SCOPE_OTP = 'otp';
/** Scope of a token that may call every operation. */
export const SCOPE_CUSTOMER = 'customer';
/** The scopes this service issues; a token with any other is not one of ours. */
export const SCOPES: ReadonlySet<string> = new Set([SCOPE_OTP, SCOPE_CUSTOMER]);
/**
 * Lifetime of a refresh token family, in seconds (30 days from the login that started it). Rotation does
 * not extend it: every token of a family, live or retired, expires with the family.
 */
export const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
/**
 * Retired refresh tokens remembered per family for reuse detection (RFC 9700 section 4.14.2); older ones
 * are forgotten, so presenting one of those is plain invalid_grant without revoking the family. Bounds a
 * family that refreshes every few seconds for 30 days.
 */
export const REFRESH_RETIRED_PER_FAMILY = 100;
/** From this many stored refresh tokens on, expired families are swept (at most once a minute of the clock). */
export const REFRESH_PRUNE_AT = 10_000;

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

/** How RefreshToken treats the refresh token it is given. */
export interface RefreshOptions {
  /**
   * Refresh-token rotation (the `refreshRotation` setting, RFC 9700 section 4.14.2): answer with a new
   * refresh token of the same family and retire the one presented. Off (default): the same token back
   * (api.md "Auth API").
   */
  rotate?: boolean;
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
  /** Epoch ms of the last sweep of expired refresh token families. */
  private lastPrune = Number.NEGATIVE_INFINITY;

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

  /** Stores a new refresh token of `family` (the family's newest, live token) and returns it. */
  private newRefreshToken(grant: Omit<RefreshGrant, 'retired'>): string {
    const token = randomBytes(32).toString('base64url');
    this.store.refreshTokens.set(token, { ...grant, retired: false });
    const family = this.store.refreshFamilies.get(grant.family) ?? [];
    family.push(token);
    this.store.refreshFamilies.set(grant.family, family);
    // Keep the live token and the newest retired ones; forget older retired ones.
    while (family.length > REFRESH_RETIRED_PER_FAMILY + 1) this.store.refreshTokens.delete(family.shift()!);
    return token;
  }

  /** Forgets every token of a family (expired, or revoked after reuse). */
  private dropFamily(family: string): void {
    for (const token of this.store.refreshFamilies.get(family) ?? []) this.store.refreshTokens.delete(token);
    this.store.refreshFamilies.delete(family);
  }

  /** Sweeps expired families once the store holds many refresh tokens, at most once a minute. */
  private prune(now: number): void {
    if (this.store.refreshTokens.size < REFRESH_PRUNE_AT || now - this.lastPrune < 60_000) return;
    this.lastPrune = now;
    for (const [family, tokens] of this.store.refreshFamilies) {
      const grant = this.store.refreshTokens.get(tokens[tokens.length - 1]!);
      if (!grant || grant.expiresAt <= now) this.dropFamily(family);
    }
  }

  /**
   * Issues an access token and a new refresh token, which starts a new family that expires
   * `REFRESH_TOKEN_TTL_SECONDS` from now (TokenRequest password grant, VerifyOTP, the admin API's
   * `POST /__admin/tokens`).
   * @param lifetimeSeconds the access token's lifetime (default: the mock's token TTL).
   */
  async issue(
    subject: TokenSubject,
    scope: string,
    lifetimeSeconds: number = this.ttlSeconds,
  ): Promise<TokenResponse> {
    const now = this.clock.now();
    this.prune(now);
    const refresh = this.newRefreshToken({
      accountIndex: subject.accountIndex,
      scope,
      expiresAt: now + REFRESH_TOKEN_TTL_SECONDS * 1000,
      family: randomUUID(),
    });
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
   * token included (RFC 9700 section 4.14.2). The check and the rotation happen before anything awaits,
   * so two concurrent refreshes with one token cannot both rotate it.
   * @throws Problem invalid-grant (400) for an unknown, expired, reused or revoked refresh token, or one
   *   whose account has lost online access.
   */
  async refresh(
    refreshToken: string,
    subjectOf: (accountIndex: number) => TokenSubject | undefined,
    options: RefreshOptions = {},
  ): Promise<TokenResponse> {
    const now = this.clock.now();
    const grant = this.store.refreshTokens.get(refreshToken);
    if (!grant || grant.expiresAt <= now) {
      if (grant) this.dropFamily(grant.family);
      throw problem(PROBLEMS.INVALID_GRANT, 'The refresh token is unknown or has expired; log in again.', {
        error_description: 'The refresh token is unknown or has expired.',
      });
    }
    if (grant.retired) {
      this.dropFamily(grant.family);
      throw problem(
        PROBLEMS.INVALID_GRANT,
        'This refresh token was already used and replaced; as a precaution every refresh token of this login is now revoked. Log in again.',
        { error_description: 'The refresh token was already used; its token family is revoked.' },
      );
    }
    const subject = subjectOf(grant.accountIndex);
    if (!subject) {
      throw problem(PROBLEMS.INVALID_GRANT, 'The refresh token no longer belongs to an online account.', {
        error_description: 'The refresh token is no longer valid.',
      });
    }
    let next = refreshToken;
    if (options.rotate) {
      this.prune(now);
      grant.retired = true;
      next = this.newRefreshToken({
        accountIndex: grant.accountIndex,
        scope: grant.scope,
        expiresAt: grant.expiresAt,
        family: grant.family,
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
