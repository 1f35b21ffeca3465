import type { CompiledOperation, Violation } from '../mock/contract';
import { checkResponse, mediaTypeOf } from '../mock/contract';
import type { Expectation, HttpResponse } from './types';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `expectContract` (architecture.md): the response conforms to the operation in the contract (status
 * declared, content type declared, required headers present with valid values, body valid: ajv 2020-12,
 * strict, formats on, closed objects), errors are problem+json (the gateway's 401 excepted, which must
 * then have the gateway's shape), and the case's own expectation holds.
 * @returns every violation; empty means the response passed.
 */
export function expectContract(
  op: CompiledOperation,
  res: HttpResponse,
  expectation: Expectation = {},
): Violation[] {
  const { operationId } = op.spec;
  const v = (pointer: string, expected: string, actual: string): Violation => ({
    operationId,
    status: res.status,
    pointer,
    expected,
    actual,
  });
  const body = res.body ?? (res.text === '' ? undefined : res.text);
  const out = checkResponse(op, { status: res.status, headers: res.headers, body });
  const mediaType = mediaTypeOf(res.headers['content-type']);
  if (res.status >= 400) {
    const gatewayShape = isObject(body) && 'statusCode' in body && 'message' in body;
    if (mediaType === 'application/problem+json' && !(isObject(body) && typeof body.type === 'string')) {
      out.push(v('#', 'a problem document (RFC 9457) under application/problem+json', JSON.stringify(body)));
    } else if (mediaType === 'application/json' && !(res.status === 401 && gatewayShape)) {
      out.push(
        v('content-type', 'application/problem+json (only the gateway 401 is application/json)', mediaType),
      );
    } else if (mediaType !== 'application/json' && mediaType !== 'application/problem+json') {
      if (!out.some((x) => x.pointer === 'content-type')) {
        out.push(v('content-type', 'application/problem+json', mediaType || 'none'));
      }
    }
  }
  if (res.requestId !== undefined && res.headers['x-request-id'] !== res.requestId) {
    out.push(
      v(
        'header:X-Request-ID',
        `the X-Request-ID sent (${res.requestId})`,
        res.headers['x-request-id'] ?? 'absent',
      ),
    );
  }
  if (res.status >= 400 && mediaType === 'application/problem+json' && isObject(body)) {
    // RFC 9457 section 3.1.2: the status member, when present, is the HTTP status.
    if (body.status !== res.status)
      out.push(v('#/status', `${res.status} (the HTTP status)`, JSON.stringify(body.status)));
    if (
      res.requestId !== undefined &&
      typeof body.instance === 'string' &&
      !body.instance.endsWith(res.requestId)
    ) {
      out.push(v('#/instance', `naming the request (${res.requestId})`, body.instance));
    }
  }
  if (res.status === 401) {
    // RFC 6750 section 3 / the gateway: the challenge names the scheme that failed.
    const challenge = res.headers['www-authenticate'] ?? '';
    const gatewayShape = isObject(body) && 'statusCode' in body;
    const type = isObject(body) && typeof body.type === 'string' ? body.type : '';
    const want =
      gatewayShape || type.endsWith('/subscription-key')
        ? /^AzureApiManagementKey /
        : type.endsWith('/invalid-client')
          ? /^Basic /
          : /^Bearer /;
    if (challenge && !want.test(challenge))
      out.push(v('header:WWW-Authenticate', `a challenge matching ${want.source}`, challenge));
  }
  const declared4xx = [...op.spec.responses.keys()].filter((s) => s >= 400 && s < 500);
  const statuses = expectation.statuses ?? (expectation.anyDeclared4xx ? declared4xx : undefined);
  if (statuses && !statuses.includes(res.status)) {
    out.push(v('status', `one of ${statuses.join(', ')}`, String(res.status)));
  }
  if (expectation.header && res.headers[expectation.header.toLowerCase()] === undefined) {
    out.push(v(`header:${expectation.header}`, 'present', 'absent'));
  }
  if (expectation.pointer && res.status >= 400) {
    const errors = isObject(body) && Array.isArray(body.errors) ? body.errors : [];
    const want = expectation.pointer;
    const hit = errors.some(
      (e) => isObject(e) && e.pointer === want.pointer && (e.in === undefined || e.in === want.in),
    );
    if (!hit) {
      out.push(
        v(
          '#/errors',
          `an item with in=${want.in} pointer=${want.pointer}`,
          JSON.stringify(errors.map((e) => (isObject(e) ? { in: e.in, pointer: e.pointer } : e))),
        ),
      );
    }
  }
  return out;
}
