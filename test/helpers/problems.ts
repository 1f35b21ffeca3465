import type { Response } from 'supertest';
import type { TestMock } from './mock';

/**
 * The problem types of the contract (contracts/procode.openapi.yaml, info.description), written out here
 * rather than imported from the mock so that the tests check the mock against the contract.
 */
export const PROBLEM_TYPES = {
  'validation-error': { status: 400, title: 'Request is not valid' },
  'malformed-json': { status: 400, title: 'Body is not valid JSON' },
  'invalid-request': { status: 400, title: 'Invalid OAuth2 request' },
  'invalid-grant': { status: 400, title: 'Grant is not valid' },
  'unsupported-grant-type': { status: 400, title: 'Grant type is not supported' },
  'otp-invalid': { status: 400, title: 'One-time code is wrong' },
  'invalid-client': { status: 401, title: 'Client authentication failed' },
  unauthorized: { status: 401, title: 'Authentication required' },
  'invalid-token': { status: 401, title: 'Access token is invalid or expired' },
  'subscription-key': { status: 401, title: 'Subscription key missing or invalid' },
  'payment-declined': { status: 402, title: 'Payment declined' },
  'otp-required': { status: 403, title: 'Two-step authentication required' },
  'not-found': { status: 404, title: 'Resource not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'not-acceptable': { status: 406, title: 'Not acceptable' },
  'already-registered': { status: 409, title: 'Account already registered' },
  'not-prepayment': { status: 409, title: 'Device is not a prepayment meter' },
  'otp-expired': { status: 410, title: 'One-time code challenge is no longer valid' },
  'payload-too-large': { status: 413, title: 'Request body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'registration-mismatch': { status: 422, title: 'Details do not match a supply account' },
  'idempotency-key-reused': { status: 422, title: 'Idempotency key reused with a different request' },
  'invalid-payment-token': { status: 422, title: 'Payment token not recognised' },
  'too-many-requests': { status: 429, title: 'Too many requests' },
  'preference-not-declared': { status: 400, title: 'Preference not declared' },
  'internal-error': { status: 500, title: 'Internal error' },
  'service-unavailable': { status: 503, title: 'Service unavailable' },
} as const;

export type ProblemSlug = keyof typeof PROBLEM_TYPES;

/** OAuth2 `error` codes (RFC 6749 section 5.2) the token endpoints' problem types carry. */
export const OAUTH_ERRORS: Partial<Record<ProblemSlug, string>> = {
  'invalid-request': 'invalid_request',
  'invalid-grant': 'invalid_grant',
  'unsupported-grant-type': 'unsupported_grant_type',
  'invalid-client': 'invalid_client',
  'validation-error': 'invalid_request',
  'malformed-json': 'invalid_request',
};

/** The gateway's own messages (Azure API Management), as the contract's examples give them. */
export const GATEWAY_MISSING_KEY =
  'Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.';
export const GATEWAY_INVALID_KEY =
  'Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.';

/** A V8 stack frame (`    at fn (file:1:2)`). */
const STACK_FRAME = /\n\s+at \S/;

/** Everything a client sees of a response, as one string: status line, headers and body text. */
export function wireText(res: Response): string {
  return `${res.status}\n${JSON.stringify(res.headers)}\n${res.text ?? ''}`;
}

/**
 * Asserts that the response carries no stack trace and none of `secrets` (passwords, tokens, codes sent
 * in the request), in its headers or its body.
 */
export function expectNoLeak(res: Response, secrets: readonly string[] = []): void {
  const text = wireText(res);
  expect(text).not.toMatch(STACK_FRAME);
  expect(text).not.toMatch(/\.(ts|js):\d+:\d+/);
  for (const secret of secrets) expect(text).not.toContain(secret);
}

/** A problem body without its `instance` (which names the request), to compare two problems. */
export function withoutInstance(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([k]) => k !== 'instance'));
}

/** Asserts that no log line the mock wrote contains any of `secrets`. */
export function expectNotLogged(mock: TestMock, secrets: readonly string[]): void {
  const all = mock.logs.join('\n');
  for (const secret of secrets) expect(all).not.toContain(secret);
}

export interface ProblemExpectation {
  /** What the detail must say (so the user knows what to fix). */
  detail?: RegExp;
}

/**
 * Asserts an RFC 9457 problem of the contract: status, `application/problem+json`, `type` slug, fixed
 * `title`, a `detail` sentence, `instance` naming the request (`urn:procode:request:<X-Request-ID>`), and
 * no stack trace. Returns the body for further checks.
 */
export function expectProblem(
  res: Response,
  slug: ProblemSlug,
  expectation: ProblemExpectation = {},
): Record<string, unknown> {
  const { status, title } = PROBLEM_TYPES[slug];
  // The whole response in the failure message, so a wrong status shows what came instead.
  expect(`${res.status} ${res.text}`).toMatch(new RegExp(`^${status} `));
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json(;|$)/);
  const body = res.body as Record<string, unknown>;
  expect(body.type).toBe(`https://procode.example/problems/${slug}`);
  expect(body.title).toBe(title);
  expect(body.status).toBe(status);
  expect(typeof body.detail).toBe('string');
  expect((body.detail as string).length).toBeGreaterThan(15);
  if (expectation.detail) expect(body.detail).toMatch(expectation.detail);
  const requestId = res.headers['x-request-id'];
  expect(requestId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  expect(body.instance).toBe(`urn:procode:request:${requestId}`);
  expect(res.headers['cache-control']).toMatch(/no-store/);
  expectNoLeak(res);
  return body;
}

/**
 * Asserts an OAuth2 problem of TokenRequest/RefreshToken: the problem plus RFC 6749 section 5.2's `error`
 * and a non-empty `error_description`.
 */
export function expectOAuthProblem(
  res: Response,
  slug: ProblemSlug,
  expectation: ProblemExpectation = {},
): Record<string, unknown> {
  const body = expectProblem(res, slug, expectation);
  expect(body.error).toBe(OAUTH_ERRORS[slug]);
  expect(typeof body.error_description).toBe('string');
  expect((body.error_description as string).length).toBeGreaterThan(0);
  return body;
}

export interface FieldErrorExpectation {
  in: 'body' | 'query' | 'path' | 'header';
  pointer: string;
  /** What the item's detail must say; any non-empty text when left out. */
  detail?: RegExp;
}

/**
 * Asserts that `errors[]` lists exactly these violations (in any order), one item each, every item
 * `{in, pointer, detail}`. A field with two violations (wrong type and not in the enum) has two items.
 */
export function expectFieldErrors(body: Record<string, unknown>, expected: FieldErrorExpectation[]): void {
  const errors = body.errors as { in: string; pointer: string; detail: string }[];
  expect(Array.isArray(errors)).toBe(true);
  for (const e of errors) {
    expect(Object.keys(e).sort()).toEqual(['detail', 'in', 'pointer']);
    expect(e.detail.length).toBeGreaterThan(0);
  }
  const got = errors.map((e) => `${e.in} ${e.pointer}`).sort();
  expect(got).toEqual(expected.map((e) => `${e.in} ${e.pointer}`).sort());
  const unused = [...errors];
  for (const want of expected) {
    const i = unused.findIndex(
      (e) => e.in === want.in && e.pointer === want.pointer && (!want.detail || want.detail.test(e.detail)),
    );
    expect({ want: `${want.in} ${want.pointer} ${want.detail ?? ''}`, found: i >= 0, errors }).toMatchObject({
      found: true,
    });
    unused.splice(i, 1);
  }
}

/** Asserts a validation-error problem whose `errors[]` lists exactly these violations. */
export function expectValidationError(
  res: Response,
  expected: FieldErrorExpectation[],
  expectation: ProblemExpectation = {},
): Record<string, unknown> {
  const body = expectProblem(res, 'validation-error', expectation);
  expectFieldErrors(body, expected);
  return body;
}

/** Asserts the gateway's own 401 (`application/json` `{statusCode, message}`, `WWW-Authenticate: AzureApiManagementKey`). */
export function expectGatewayError(res: Response, message: string): void {
  expect(res.status).toBe(401);
  expect(res.headers['content-type']).toMatch(/^application\/json(;|$)/);
  expect(res.body).toEqual({ statusCode: 401, message });
  expect(res.headers['www-authenticate']).toMatch(
    /^AzureApiManagementKey realm="[^"]+",name="Ocp-Apim-Subscription-Key",type="header"$/,
  );
  expect(res.headers['x-request-id']).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
  expectNoLeak(res);
}

/** Asserts 401 `unauthorized` for a request without a bearer token (RFC 6750 section 3.1: no error code). */
export function expectMissingToken(res: Response): void {
  expectProblem(res, 'unauthorized', { detail: /Authorization: Bearer/ });
  expect(res.headers['www-authenticate']).toBe('Bearer realm="procode"');
}

/** Asserts 401 `invalid-token` (RFC 6750 section 3.1: `error="invalid_token"`). */
export function expectInvalidToken(res: Response): void {
  expectProblem(res, 'invalid-token', { detail: /RefreshToken|TokenRequest/ });
  expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="procode", error="invalid_token"/);
}

/** Asserts 403 `otp-required` (an `otp`-scope token outside SendOTP/VerifyOTP). */
export function expectOtpRequired(res: Response): void {
  expectProblem(res, 'otp-required', { detail: /SendOTP.*VerifyOTP/ });
  // RFC 6750 section 3.1: a token without the scope the resource needs.
  expect(res.headers['www-authenticate']).toMatch(/^Bearer .*error="insufficient_scope"/);
}

/**
 * The statuses the contract declares for an operation that the mock never answered in this test file.
 * An empty list means every declared status was exercised.
 */
export function unexercisedStatuses(mock: TestMock, operationId: string): number[] {
  const declared = [...mock.contract.get(operationId).spec.responses.keys()];
  const seen = new Set(mock.observed.filter((o) => o.operationId === operationId).map((o) => o.status));
  return declared.filter((s) => !seen.has(s)).sort((a, b) => a - b);
}
