/**
 * The catalogue of problem types (RFC 9457 section 3.1): each has a fixed `type` URI, `title` and HTTP
 * status. Handlers and stages throw `problem(TYPE, detail)`; only the error middleware writes them.
 */
export const PROBLEM_BASE = 'https://procode.example/problems/';

/** One problem type: slug (last URI segment), HTTP status, fixed title, RFC 6749 error code if any. */
export interface ProblemType {
  readonly slug: string;
  readonly status: number;
  readonly title: string;
  /** RFC 6749 section 5.2 `error` code carried by OAuth2 problems. */
  readonly oauthError?: string;
  /** One line shown on the problem type's documentation page. */
  readonly description: string;
  /**
   * Set for the gateway's own answers (Azure API Management), which are written as `application/json`
   * `{ statusCode, message }` (the contract's GatewayError, `message` = the problem's detail) rather than
   * problem+json: `always` when the contract declares only that form for the status, `unless-problem` when
   * the `gatewayErrors: 'problem'` setting (`--gateway-errors problem`) switches it to problem+json.
   */
  readonly gateway?: 'always' | 'unless-problem';
}

const define = <T extends Record<string, ProblemType>>(types: T): Readonly<T> => Object.freeze(types);

export const PROBLEMS = define({
  VALIDATION_ERROR: {
    slug: 'validation-error',
    status: 400,
    title: 'Request is not valid',
    description: 'A parameter, header or body field breaks the contract; errors[] lists every violation.',
  },
  MALFORMED_JSON: {
    slug: 'malformed-json',
    status: 400,
    title: 'Body is not valid JSON',
    description: 'The request body could not be parsed as JSON (RFC 8259).',
  },
  MALFORMED_REQUEST: {
    slug: 'malformed-request',
    status: 400,
    title: 'Request is not valid HTTP',
    description:
      'The request line, headers or framing (Content-Length, chunks) could not be parsed (RFC 9112).',
  },
  INVALID_REQUEST: {
    slug: 'invalid-request',
    status: 400,
    title: 'Invalid OAuth2 request',
    oauthError: 'invalid_request',
    description: 'A required OAuth2 parameter is missing, repeated or malformed (RFC 6749 section 5.2).',
  },
  INVALID_GRANT: {
    slug: 'invalid-grant',
    status: 400,
    title: 'Grant is not valid',
    oauthError: 'invalid_grant',
    description: 'The username and password, or the refresh token, are not valid (RFC 6749 section 5.2).',
  },
  UNSUPPORTED_GRANT_TYPE: {
    slug: 'unsupported-grant-type',
    status: 400,
    title: 'Grant type is not supported',
    oauthError: 'unsupported_grant_type',
    description: 'Only the password and refresh_token grants are supported (RFC 6749 section 5.2).',
  },
  OTP_INVALID: {
    slug: 'otp-invalid',
    status: 400,
    title: 'One-time code is wrong',
    description: 'The code does not match the challenge; attemptsRemaining says how many tries are left.',
  },
  INVALID_CLIENT: {
    slug: 'invalid-client',
    status: 401,
    title: 'Client authentication failed',
    oauthError: 'invalid_client',
    description: 'The client id or secret is missing or wrong (RFC 6749 section 5.2).',
  },
  UNAUTHORIZED: {
    slug: 'unauthorized',
    status: 401,
    title: 'Authentication required',
    description: 'The request has no bearer token (RFC 6750 section 3).',
  },
  INVALID_TOKEN: {
    slug: 'invalid-token',
    status: 401,
    title: 'Access token is invalid or expired',
    description: 'The bearer token is malformed, not ours, or past its expiry (RFC 6750 section 3.1).',
  },
  SUBSCRIPTION_KEY: {
    slug: 'subscription-key',
    status: 401,
    title: 'Subscription key missing or invalid',
    description:
      "Send a valid key in Ocp-Apim-Subscription-Key (or the subscription-key query parameter), one whose product includes the operation's API.",
    gateway: 'unless-problem',
  },
  PAYMENT_DECLINED: {
    slug: 'payment-declined',
    status: 402,
    title: 'Payment declined',
    description: 'The payment provider declined the payment token; nothing was charged or applied.',
  },
  OTP_REQUIRED: {
    slug: 'otp-required',
    status: 403,
    title: 'Two-step authentication required',
    description: 'This token may only call SendOTP and VerifyOTP until a one-time code is verified.',
  },
  NOT_FOUND: {
    slug: 'not-found',
    status: 404,
    title: 'Resource not found',
    description: 'No such path, or no such resource among the caller’s own.',
  },
  METHOD_NOT_ALLOWED: {
    slug: 'method-not-allowed',
    status: 405,
    title: 'Method not allowed',
    description: 'The path exists but not with this method; the Allow header lists the methods it has.',
  },
  NOT_ACCEPTABLE: {
    slug: 'not-acceptable',
    status: 406,
    title: 'Not acceptable',
    description: 'The Accept header excludes application/json and application/problem+json.',
  },
  ALREADY_REGISTERED: {
    slug: 'already-registered',
    status: 409,
    title: 'Account already registered',
    description: 'This supply account already has online access.',
  },
  NOT_PREPAYMENT: {
    slug: 'not-prepayment',
    status: 409,
    title: 'Device is not a prepayment meter',
    description: 'Balances and top-ups exist only for smart meters in prepayment mode.',
  },
  OTP_EXPIRED: {
    slug: 'otp-expired',
    status: 410,
    title: 'One-time code challenge is no longer valid',
    description: 'The challenge has expired, was already used, or was voided after 5 wrong codes.',
  },
  PAYLOAD_TOO_LARGE: {
    slug: 'payload-too-large',
    status: 413,
    title: 'Request body too large',
    description: 'The request body is over the size limit.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    slug: 'unsupported-media-type',
    status: 415,
    title: 'Unsupported media type',
    description: 'Send bodies as application/json (token requests may also use form encoding).',
  },
  REGISTRATION_MISMATCH: {
    slug: 'registration-mismatch',
    status: 422,
    title: 'Details do not match a supply account',
    description: 'The account number and postcode do not match a supply account.',
  },
  IDEMPOTENCY_KEY_REUSED: {
    slug: 'idempotency-key-reused',
    status: 422,
    title: 'Idempotency key reused with a different request',
    description: 'An Idempotency-Key may be replayed only with the same body.',
  },
  INVALID_PAYMENT_TOKEN: {
    slug: 'invalid-payment-token',
    status: 422,
    title: 'Payment token not recognised',
    description: 'The mock accepts only its test payment tokens (see fixtures/personas.json).',
  },
  HEADERS_TOO_LARGE: {
    slug: 'headers-too-large',
    status: 431,
    title: 'Request header fields too large',
    description: 'The request headers are over 16 KiB (RFC 6585 section 5).',
  },
  REQUEST_TIMEOUT: {
    slug: 'request-timeout',
    status: 408,
    title: 'Request timeout',
    description:
      'The request line, headers or body did not arrive in time (RFC 9110 section 15.5.9); the connection closes.',
  },
  EXPECTATION_FAILED: {
    slug: 'expectation-failed',
    status: 417,
    title: 'Expectation failed',
    description:
      'The Expect header asks for something other than 100-continue (RFC 9110 sections 10.1.1 and 15.5.18).',
  },
  NOT_IMPLEMENTED: {
    slug: 'not-implemented',
    status: 501,
    title: 'Method not implemented',
    description:
      'The method is one the mock does not implement at all, such as CONNECT (RFC 9110 section 9.1).',
  },
  HTTP_VERSION_NOT_SUPPORTED: {
    slug: 'http-version-not-supported',
    status: 505,
    title: 'HTTP version not supported',
    description: 'The request is not HTTP/1.0 or HTTP/1.1 (RFC 9110 section 15.6.6).',
  },
  TOO_MANY_REQUESTS: {
    slug: 'too-many-requests',
    status: 429,
    title: 'Too many requests',
    description: 'A rate limit was reached; Retry-After says when to try again.',
  },
  PREFERENCE_NOT_DECLARED: {
    slug: 'preference-not-declared',
    status: 400,
    title: 'Preference not declared',
    description:
      'Prefer: code= or example= (or __code/__example) names a response the operation does not declare; declared lists what it does.',
  },
  SERVICE_UNAVAILABLE: {
    slug: 'service-unavailable',
    status: 503,
    title: 'Service unavailable',
    description: 'The service is temporarily unavailable; Retry-After says when to try again.',
  },
  GATEWAY_QUOTA: {
    slug: 'quota-exceeded',
    status: 403,
    title: 'Out of call volume quota',
    description:
      "The subscription key's product used up its call volume quota (API Management quota-by-key); the gateway's JSON says when it is replenished.",
    gateway: 'always',
  },
  GATEWAY_RATE_LIMIT: {
    slug: 'rate-limit-exceeded',
    status: 429,
    title: 'Rate limit is exceeded',
    description:
      "The subscription key's product rate limit was exceeded (API Management rate-limit-by-key); the gateway's JSON and Retry-After say when to try again.",
    gateway: 'always',
  },
  GATEWAY_ERROR: {
    slug: 'gateway-error',
    status: 500,
    title: 'Gateway internal error',
    description: "The API gateway itself failed (the gateway's JSON `Internal server error`).",
    gateway: 'always',
  },
  GATEWAY_UNAVAILABLE: {
    slug: 'gateway-unavailable',
    status: 503,
    title: 'Gateway could not reach the service',
    description:
      "The API gateway could not reach the service (the gateway's JSON `Service Unavailable`); Retry-After says when to try again.",
    gateway: 'always',
  },
  INTERNAL_ERROR: {
    slug: 'internal-error',
    status: 500,
    title: 'Internal error',
    description: 'The mock failed; this is a bug in the mock, not in the request.',
  },
});

export type ProblemKey = keyof typeof PROBLEMS;

/** The absolute `type` URI of a problem type. */
export function problemTypeUri(type: ProblemType): string {
  return PROBLEM_BASE + type.slug;
}
