import type { ValidateFunction } from 'ajv';
import type { CompiledContract, CompiledOperation, ResponseSpec, Schema, Violation } from '../contract-kit';
import { SCHEMA_BASE, checkResponse, mediaTypeOf } from '../contract-kit';
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
    // The gateway's own answers (401, 403 quota, 429, 500, 503) are its JSON where the contract says so.
    const gatewayDeclared = op.spec.responses.get(res.status)?.content.has('application/json') === true;
    if (mediaType === 'application/problem+json' && !(isObject(body) && typeof body.type === 'string')) {
      out.push(
        v(
          '#',
          'a problem document (RFC 9457) under application/problem+json',
          JSON.stringify(body) ?? 'none',
        ),
      );
    } else if (mediaType === 'application/json' && !(gatewayShape && gatewayDeclared)) {
      // One line per departure: the schema check may already have said the media type is not declared.
      if (!out.some((x) => x.pointer === 'content-type'))
        out.push(
          v(
            'content-type',
            "application/problem+json (application/json only for the gateway's own answers the contract declares)",
            mediaType,
          ),
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
  if (res.status >= 400 && mediaType === 'application/json' && isObject(body) && 'statusCode' in body) {
    // The gateway's JSON names the HTTP status too.
    if (body.statusCode !== res.status)
      out.push(
        v('#/statusCode', `${res.status} (the HTTP status)`, JSON.stringify(body.statusCode) ?? 'absent'),
      );
  }
  if (res.status >= 400 && mediaType === 'application/problem+json' && isObject(body)) {
    // RFC 9457 section 3.1.2: the status member, when present, is the HTTP status.
    if (body.status !== res.status)
      out.push(v('#/status', `${res.status} (the HTTP status)`, JSON.stringify(body.status) ?? 'absent'));
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

/** The operationId under which the router's own answers (`x-router-responses`) are checked and reported. */
export const ROUTER = '(router)';

/** Follows internal `$ref`s of `doc`; a schema file reference becomes the URI ajv registered it under. */
function derefAll(doc: Record<string, unknown>, node: unknown, depth = 0): unknown {
  if (depth > 32) throw new Error('x-router-responses: $ref nesting too deep');
  if (Array.isArray(node)) return node.map((n) => derefAll(doc, n, depth + 1));
  if (!isObject(node)) return node;
  const ref = node.$ref;
  if (typeof ref === 'string' && ref.startsWith('#/')) {
    const target = ref
      .slice(2)
      .split('/')
      .reduce<unknown>(
        (n, t) => (isObject(n) ? n[t.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined),
        doc,
      );
    return derefAll(doc, target, depth + 1);
  }
  if (typeof ref === 'string')
    return { ...node, $ref: SCHEMA_BASE + ref.replace(/^\.\//, '').replace(/^schemas\//, '') };
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, derefAll(doc, v, depth + 1)]));
}

const routers = new WeakMap<CompiledContract, CompiledOperation | null>();

/**
 * The contract's router answers (`x-router-responses`: 404 for an unknown path, 405 with `Allow` for
 * another method on a known path) as one operation, `(router)`, so `expectContract` checks them like
 * any declared response; undefined when the contract declares none. Compiled once per contract.
 */
export function routerOperation(contract: CompiledContract): CompiledOperation | undefined {
  if (routers.has(contract)) return routers.get(contract) ?? undefined;
  const doc = contract.contract.document;
  const raw = doc['x-router-responses'];
  if (!isObject(raw)) {
    routers.set(contract, null);
    return undefined;
  }
  const responses = new Map<number, ResponseSpec>();
  const bodies = new Map<string, ValidateFunction>();
  const headers = new Map<string, ValidateFunction>();
  for (const [code, r] of Object.entries(derefAll(doc, raw) as Record<string, unknown>)) {
    if (!/^\d{3}$/.test(code) || !isObject(r)) continue;
    const status = Number(code);
    const content = new Map<string, { schema?: Schema; example?: unknown; examples: Map<string, unknown> }>();
    for (const [mediaType, m] of Object.entries(isObject(r.content) ? r.content : {})) {
      const schema = isObject(m) && isObject(m.schema) ? m.schema : undefined;
      content.set(mediaType, { schema, examples: new Map() });
      if (schema) bodies.set(`${status} ${mediaType}`, contract.ajv.compile(schema));
    }
    const declaredHeaders = new Map<string, { required: boolean; schema?: Schema }>();
    for (const [name, h] of Object.entries(isObject(r.headers) ? r.headers : {})) {
      if (!isObject(h)) continue;
      const schema = isObject(h.schema) ? h.schema : undefined;
      declaredHeaders.set(name, { required: h.required === true, schema });
      // Router headers are strings (X-Request-ID, Allow): the strict validator reads them as they come.
      if (schema) headers.set(`${status} ${name.toLowerCase()}`, contract.ajv.compile(schema));
    }
    responses.set(status, {
      status,
      description: String(r.description ?? ''),
      content,
      headers: declaredHeaders,
    });
  }
  const op: CompiledOperation = {
    spec: {
      operationId: ROUTER,
      method: 'get',
      path: '',
      summary: "The router's answers before an operation is chosen",
      tags: [],
      parameters: [],
      responses,
      security: [],
      requiresBearer: false,
    },
    request: { body: new Map() },
    responses: bodies,
    responseHeaders: headers,
  };
  routers.set(contract, op);
  return op;
}
