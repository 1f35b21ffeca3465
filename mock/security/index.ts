import type { Request } from 'express';
import type { OperationSpec } from '../../contract-kit';
import type { TokenService } from '../auth/tokens';
import { SCOPE_OTP } from '../auth/tokens';
import { PROBLEMS, problem } from '../problem';

/** The authenticated caller. */
export interface Principal {
  accountIndex: number;
  customerId: string;
  accountNumber: string;
  /** `otp` before two-step authentication, `customer` after it. */
  scope: string;
}

/** Operations an `otp`-scope token may call (api.md "Resource model: Token"). */
export const OTP_SCOPE_OPERATIONS: ReadonlySet<string> = new Set(['SendOTP', 'VerifyOTP']);

/** RFC 6750 section 3: the challenge when no bearer token was sent. */
export const BEARER_REALM = 'Bearer realm="procode"';
/** RFC 6750 section 3.1: the challenge for a malformed, expired or unknown token. */
export const INVALID_TOKEN = 'Bearer realm="procode", error="invalid_token"';
/** RFC 6750 section 3.1: the challenge for an `otp`-scope token outside SendOTP/VerifyOTP. */
export const INSUFFICIENT_SCOPE = 'Bearer realm="procode", error="insufficient_scope", scope="customer"';

/**
 * The security stage: a bearer token (RFC 6750 section 2.1) that verifies, belongs to an account with
 * online access, and has a scope that allows the operation.
 * @param resolve maps verified claims to the caller, or undefined when the account has no online access.
 * @throws Problem unauthorized (401, `WWW-Authenticate: Bearer realm="procode"`) when there is no bearer
 *   token; invalid-token (401, `error="invalid_token"`, RFC 6750 section 3.1) when it is malformed,
 *   expired or unknown; otp-required (403) for an `otp`-scope token outside SendOTP/VerifyOTP.
 */
export async function authenticate(
  req: Request,
  operation: OperationSpec,
  tokens: TokenService,
  resolve: (
    customerId: string,
    accountNumber: string,
    scope: string,
  ) => Principal | undefined | Promise<Principal | undefined>,
): Promise<Principal | undefined> {
  if (!operation.requiresBearer) return undefined;
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (header === undefined || !/^bearer\b/i.test(header)) {
    throw problem(
      PROBLEMS.UNAUTHORIZED,
      'Send an access token: Authorization: Bearer <access_token> (from TokenRequest).',
      {},
      { 'WWW-Authenticate': BEARER_REALM },
    );
  }
  const verdict = match ? await tokens.verify(match[1]!) : 'invalid';
  const principal =
    typeof verdict === 'object'
      ? await resolve(verdict.customerId, verdict.accountNumber, verdict.scope)
      : undefined;
  if (!principal) {
    const detail =
      verdict === 'expired'
        ? 'The access token has expired; call RefreshToken with your refresh token, or TokenRequest.'
        : verdict === 'revoked' || typeof verdict === 'object'
          ? 'The access token was revoked (the mock was reset, or the account lost online access); log in again.'
          : 'The access token is malformed or was not issued by this service; log in with TokenRequest.';
    throw problem(PROBLEMS.INVALID_TOKEN, detail, {}, { 'WWW-Authenticate': INVALID_TOKEN });
  }
  if (principal.scope === SCOPE_OTP && !OTP_SCOPE_OPERATIONS.has(operation.operationId)) {
    throw problem(
      PROBLEMS.OTP_REQUIRED,
      'This account uses two-step authentication: call SendOTP, then VerifyOTP for a full access token.',
      {},
      { 'WWW-Authenticate': INSUFFICIENT_SCOPE },
    );
  }
  return principal;
}
