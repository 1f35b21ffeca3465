import fc from 'fast-check';
import type { Arbitrary } from 'fast-check';
import type { Contract, OperationSpec, Schema } from '../../contract-kit';
import products from '../../fixtures/products.json';
import { CLIENT, KEY, personas } from './mock';

/**
 * Request generators for the property-based fuzz suite (test/mock/fuzz.test.ts), built from the
 * contract: every operation's path, query and header parameters and request bodies, as valid-ish values
 * (persona ids, schema-shaped bodies) and hostile ones (wrong types, lone surrogates, deep nesting, bytes
 * that are not UTF-8, forged tokens).
 */

/** Ids and secrets the fuzzer mixes into requests so that authenticated paths reach the handlers. */
export interface FuzzWorld {
  /** Bearer tokens by kind: full-scope tokens of personas, the two-factor persona's `otp`-scope token, forged ones. */
  bearer: Record<BearerKind, string | undefined>;
  /** A live refresh token of the basic persona. */
  refreshToken: string;
  /** Ids of the personas' premises, MPAN cores / MPRNs and devices (EUI-64). */
  premiseIds: string[];
  servicePointIds: string[];
  deviceIds: string[];
  /** The basic persona's prepayment meters (the devices MakePayment tops up). */
  meterIds: string[];
  /** Ids of payments and one-time code challenges made before the run. */
  paymentIds: string[];
  otpIds: string[];
}

/** The bearer tokens a fuzzed request may carry (`absent` sends no Authorization header). */
export const BEARER_KINDS = [
  'basic',
  'in-debt',
  'gas-only',
  'otp',
  'forged',
  'alg-none',
  'garbage',
  'absent',
] as const;
export type BearerKind = (typeof BEARER_KINDS)[number];

/** The subscription keys a fuzzed request may carry, by product (`garbage` is no product's, `absent` none). */
export const KEY_KINDS = [
  'unlimited',
  'query',
  'identity',
  'energy-read',
  'limited',
  'garbage',
  'absent',
] as const;
export type KeyKind = (typeof KEY_KINDS)[number];

const PRODUCT_KEY: Record<'identity' | 'energy-read' | 'limited', string> = {
  identity: '1d3e7117c0de4d0c8a5e5a4db0c0de02',
  'energy-read': 'e7e5ead0c0de4d0c8a5e5a4db0c0de03',
  limited: '11a17ed0c0de4d0c8a5e5a4db0c0de04',
};

/** Whether the subscription key of this kind belongs to a product that includes the operation's API (its first tag). */
export function keyAllows(kind: KeyKind, op: OperationSpec): boolean {
  if (kind === 'absent' || kind === 'garbage') return false;
  if (kind === 'unlimited' || kind === 'query') return true;
  const product = products.products.find((p) => p.id === kind);
  const apis = product?.apis;
  return apis === '*' || (Array.isArray(apis) && apis.includes(op.tags[0] ?? ''));
}

/** A request body as bytes on the wire, or none. */
export type FuzzBody =
  { kind: 'none' } | { kind: 'text'; text: string; form?: boolean } | { kind: 'bytes'; bytes: Buffer };

/** One generated request. */
export interface FuzzRequest {
  method: 'get' | 'post' | 'put' | 'delete' | 'patch' | 'options' | 'head';
  /** The path with its parameters filled in (already percent-encoded), plus the query string. */
  url: string;
  key: KeyKind;
  bearer: BearerKind;
  /** Header name -> value, besides the subscription key and bearer token. */
  headers: Record<string, string>;
  body: FuzzBody;
}

/** Undefined `weight` times as often as a value of `arb`. */
function rarely<T>(arb: Arbitrary<T>, weight: number): Arbitrary<T | undefined> {
  return fc.oneof({ weight, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
}

/** Characters Node's HTTP client lets through in a header value (visible ASCII, space, tab, Latin-1). */
const HEADER_CHARS = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0x80, max: 0xff }),
  fc.constant(0x09),
);
const headerValue = (maxLength = 64): Arbitrary<string> =>
  fc.array(HEADER_CHARS, { maxLength }).map((codes) => String.fromCharCode(...codes));

/** Strings with the awkward parts of Unicode: lone surrogates, pairs, NUL, RTL marks, combining marks. */
const HOSTILE_STRING = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme-composite', maxLength: 20 }),
  fc.constantFrom(
    '\ud800',
    '\udfff\ud800',
    'a\udc00b',
    '\u0000',
    '\u202e\u202d',
    '\ufeff',
    '\ud83d\ude00',
    'e\u0301',
    '%00',
    '../../etc/passwd',
    '__proto__',
    'constructor',
    '<script>alert(1)</script>',
    "' OR 1=1 --",
    '\r\nX-Injected: 1',
  ),
);

/** A path segment exactly as sent: percent-encoded, or raw bytes escapes that decode to no valid UTF-8. */
const HOSTILE_SEGMENT = fc.oneof(
  HOSTILE_STRING.map((s) => encodeSegment(s)),
  fc.constantFrom(
    '%',
    '%2',
    '%zz',
    '%ED%A0%80',
    '%FF',
    '%C0%80',
    '%00',
    '%2F',
    '..',
    '.',
    '%2e%2e',
    'x'.repeat(2000),
    '9'.repeat(1025),
    '%F0%9F%98%80',
  ),
);

/** Percent-encodes a string as UTF-8 (a lone surrogate becomes U+FFFD, as Buffer encodes it). */
export function encodeSegment(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/** A JSON Schema of the contract, with file references (`SCHEMA_BASE` + name) followed. */
function deref(contract: Contract, schema: Schema): Schema {
  let s = schema;
  for (let i = 0; i < 10 && typeof s.$ref === 'string'; i++) {
    const target = contract.schemaFiles.get(s.$ref);
    if (!target) break;
    s = target;
  }
  return s;
}

/** Known values by property name, so schema-shaped bodies also reach past validation into the handlers. */
function knownValues(world: FuzzWorld): Record<string, string[]> {
  const ps = personas.personas;
  return {
    username: ps.map((p) => p.username),
    password: ps.map((p) => p.password),
    accountNumber: ps.map((p) => p.accountNumber),
    postcode: ps.map((p) => p.postcode),
    // Mostly meters the basic persona may top up, so MakePayment reaches 201, 202 and 402.
    deviceId: [...world.meterIds, ...world.meterIds, ...world.meterIds, ...world.deviceIds],
    paymentToken: Object.values(personas.paymentTokens),
    refresh_token: [world.refreshToken],
    client_id: [CLIENT.id],
    client_secret: [CLIENT.secret],
    otpId: world.otpIds,
    grant_type: ['password', 'refresh_token'],
  };
}

/** Values of a JSON Schema (types, enums, patterns, bounds), mixed with known ids for the property names. */
export function schemaValue(
  contract: Contract,
  schema: Schema,
  world: FuzzWorld,
  name = '',
  depth = 0,
): Arbitrary<unknown> {
  const s = deref(contract, schema);
  const known = knownValues(world)[name];
  const own = ((): Arbitrary<unknown> => {
    if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
    if (s.const !== undefined) return fc.constant(s.const);
    switch (s.type) {
      case 'object': {
        if (depth > 4) return fc.constant({});
        const props = (s.properties ?? {}) as Record<string, Schema>;
        const required = new Set((s.required ?? []) as string[]);
        const record: Record<string, Arbitrary<unknown>> = {};
        for (const [k, v] of Object.entries(props)) record[k] = schemaValue(contract, v, world, k, depth + 1);
        // Optional members are left out at random; required ones always appear (mutations drop them).
        return fc.record(record, { requiredKeys: [...required].filter((k) => k in props) });
      }
      case 'array':
        return fc.array(schemaValue(contract, (s.items ?? {}) as Schema, world, name, depth + 1), {
          maxLength: 3,
        });
      case 'integer':
        return fc.integer({
          min: typeof s.minimum === 'number' ? Math.max(s.minimum, -1e9) : -1e9,
          max: typeof s.maximum === 'number' ? Math.min(s.maximum, 1e9) : 1e9,
        });
      case 'number':
        return fc.double({ noNaN: true, noDefaultInfinity: true });
      case 'boolean':
        return fc.boolean();
      case 'string': {
        if (typeof s.pattern === 'string') {
          try {
            return fc
              .stringMatching(new RegExp(s.pattern))
              .filter((x) => x.length <= ((s.maxLength as number) ?? 1e6));
          } catch {
            // A pattern fast-check cannot generate from: any string.
          }
        }
        if (s.format === 'uuid') return fc.uuid();
        if (s.format === 'email') return fc.emailAddress();
        return fc.string({ maxLength: typeof s.maxLength === 'number' ? Math.min(s.maxLength, 64) : 64 });
      }
      default:
        return fc.jsonValue({ maxDepth: 2 });
    }
  })();
  return known && known.length > 0
    ? fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: own })
    : own;
}

/** A JSON value of another type than the schema asks for, or out of its range. */
const WRONG_VALUE: Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, -0, 1e308, -1e308, 2 ** 53 + 2, [], {}, [[]], '', ' '),
  HOSTILE_STRING,
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 1, max: 70_000 }).map((n) => 'x'.repeat(n)),
);

/** A value `depth` levels of arrays or objects deep (JSON text, so no recursion builds it). */
function deepJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? '['.repeat(depth) + ']'.repeat(depth)
    : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** JSON texts the parser takes but whose numbers are out of any range (RFC 8259 section 6 allows them). */
const ODD_NUMBERS = ['1e400', '-1e400', '123456789012345678901234567890', '1.0', '1E2', '-0', '0.1e-400'];

/** Request bodies: schema-shaped, then mutated (wrong types, extra members, huge strings, nesting, raw bytes). */
export function bodyArbitrary(contract: Contract, op: OperationSpec, world: FuzzWorld): Arbitrary<FuzzBody> {
  const media =
    op.requestBody?.content.get('application/json') ?? [...(op.requestBody?.content.values() ?? [])][0];
  const shaped = media?.schema ? schemaValue(contract, media.schema, world) : fc.jsonValue({ maxDepth: 2 });
  const asObject = shaped.map((v) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {},
  );
  const json = (v: unknown): FuzzBody => ({ kind: 'text', text: JSON.stringify(v) });
  return fc.oneof(
    { weight: 12, arbitrary: shaped.map(json) },
    // One member of another type or out of range.
    {
      weight: 3,
      arbitrary: fc.tuple(asObject, fc.nat(), WRONG_VALUE).map(([o, i, v]) => {
        const keys = Object.keys(o);
        const k = keys.length > 0 ? keys[i % keys.length]! : 'x';
        return json({ ...o, [k]: v });
      }),
    },
    // Extra members, including prototype names.
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          asObject,
          fc.oneof(HOSTILE_STRING, fc.constantFrom('__proto__', 'constructor', 'prototype')),
          WRONG_VALUE,
        )
        .map(
          ([o, k, v]) =>
            ({
              kind: 'text',
              text: `${JSON.stringify(o).slice(0, -1)}${Object.keys(o).length ? ',' : ''}${JSON.stringify(k)}:${JSON.stringify(v)}}`,
            }) as FuzzBody,
        ),
    },
    // A member nested very deeply (the body limit still allows ~30,000 levels).
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          asObject,
          fc.integer({ min: 100, max: 20_000 }),
          fc.constantFrom('array', 'object') as Arbitrary<'array' | 'object'>,
          fc.boolean(),
        )
        .map(([o, depth, kind, whole]) => {
          const deep = deepJson(depth, kind);
          if (whole) return { kind: 'text', text: deep } as FuzzBody;
          const keys = Object.keys(o);
          const k = keys[0] ?? 'x';
          const rest = { ...o };
          delete rest[k];
          return {
            kind: 'text',
            text: `{${JSON.stringify(k)}:${deep}${Object.keys(rest).length ? ',' + JSON.stringify(rest).slice(1) : '}'}`,
          } as FuzzBody;
        }),
    },
    // Numbers out of every range, written as JSON text.
    {
      weight: 1,
      arbitrary: fc.tuple(asObject, fc.constantFrom(...ODD_NUMBERS)).map(([o, n]) => {
        const k = Object.keys(o)[0] ?? 'amountPence';
        return { kind: 'text', text: `{${JSON.stringify(k)}:${n}}` } as FuzzBody;
      }),
    },
    // Not JSON: random bytes, invalid UTF-8, a BOM, truncated JSON, another top-level value.
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.uint8Array({ maxLength: 64 }).map((b) => ({ kind: 'bytes', bytes: Buffer.from(b) }) as FuzzBody),
        fc.constantFrom<FuzzBody>(
          { kind: 'bytes', bytes: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) },
          { kind: 'bytes', bytes: Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]) },
          { kind: 'bytes', bytes: Buffer.from('{"channel":"sms"}', 'utf16le') },
          { kind: 'text', text: '{"channel": sms' },
          { kind: 'text', text: 'null' },
          { kind: 'text', text: '[]' },
          { kind: 'text', text: '"x"' },
          { kind: 'text', text: '' },
          { kind: 'text', text: '{"a":1,"a":2}' },
          { kind: 'text', text: '{"\\ud800":"\\udfff"}' },
        ),
      ),
    },
    // Form-encoded, as the token endpoints take it (repeated and undecodable parameters too).
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          asObject,
          fc.boolean(),
          fc.constantFrom('', '&', '&grant_type=password', '&%ZZ=1', '&a=%ED%A0%80', '&=', '&&&'),
        )
        .map(
          ([o, encode, extra]) =>
            ({
              kind: 'text',
              form: true,
              text:
                Object.entries(o)
                  .map(
                    ([k, v]) =>
                      `${encode ? encodeURIComponent(k) : k}=${encode ? encodeSegment(String(v)) : String(v)}`,
                  )
                  .join('&') + extra,
            }) as FuzzBody,
        ),
    },
    // Over the 64 KiB limit.
    {
      weight: 1,
      arbitrary: fc.integer({ min: 60_000, max: 70_000 }).map((n) => json({ padding: 'x'.repeat(n) })),
    },
    { weight: 1, arbitrary: fc.constant<FuzzBody>({ kind: 'none' }) },
  );
}

/** Values of one query parameter: from its schema, of the wrong form, or hostile. */
function queryValue(contract: Contract, schema: Schema, world: FuzzWorld, name: string): Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: schemaValue(contract, schema, world, name).map((v) => encodeSegment(String(v))) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '',
        '-1',
        '0',
        '101',
        '1e400',
        'Infinity',
        'NaN',
        '0x10',
        '%201',
        '9007199254740993',
        '1.5',
        '00',
        'true',
        '%ED%A0%80',
        '%',
        'a[b]=1',
      ),
    },
    { weight: 1, arbitrary: HOSTILE_SEGMENT },
  );
}

/**
 * Requests for one operation: its method (sometimes another), its path with persona ids or hostile
 * segments, declared and undeclared query parameters (also repeated), the subscription key and bearer
 * token of any kind, Content-Type, Accept and Prefer variants, and a body.
 */
export function requestArbitrary(
  contract: Contract,
  op: OperationSpec,
  world: FuzzWorld,
): Arbitrary<FuzzRequest> {
  const idsFor: Record<string, string[]> = {
    premiseId: world.premiseIds,
    servicePointId: world.servicePointIds,
    // Mostly meters the basic persona may top up, so MakePayment reaches 201, 202 and 402.
    deviceId: [...world.meterIds, ...world.meterIds, ...world.meterIds, ...world.deviceIds],
    paymentId: world.paymentIds,
  };
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const segment = (name: string, schema: Schema): Arbitrary<string> =>
    fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...(idsFor[name]?.length ? idsFor[name] : ['x'])) },
      {
        weight: 2,
        arbitrary: schemaValue(contract, schema, world, name).map((v) => encodeSegment(String(v))),
      },
      { weight: 1, arbitrary: fc.constantFrom(...(idsFor[name] ?? ['x'])).map((id) => id.toLowerCase()) },
      { weight: 2, arbitrary: HOSTILE_SEGMENT },
    );
  const path = fc
    .tuple(
      ...pathParams.map((p) => segment(p.name, p.schema)),
      fc.oneof(
        { weight: 15, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: fc.constantFrom('/', '//', '/extra', '%2F', ';x=1') },
      ),
    )
    .map((parts) => {
      const suffix = parts.pop()!;
      let url = op.path;
      pathParams.forEach((p, i) => (url = url.replace(`{${p.name}}`, parts[i]!)));
      return url + suffix;
    });
  const declared = op.parameters.filter((p) => p.in === 'query');
  const queryPair = fc.oneof(
    ...declared.map((p) => queryValue(contract, p.schema, world, p.name).map((v) => `${p.name}=${v}`)),
    fc.constantFrom(
      '__code=404',
      '__code=400',
      '__code=abc',
      '__delay=1',
      '__example=nope',
      'subscription-key=garbage',
    ),
    fc.tuple(HOSTILE_SEGMENT, HOSTILE_SEGMENT).map(([k, v]) => `${k}=${v}`),
  );
  const query = fc
    .array(queryPair, { maxLength: 4 })
    .map((pairs) => (pairs.length ? `?${pairs.join('&')}` : ''));
  const declaredErrors = [...op.responses.keys()].filter((s) => s >= 400 && s < 500);
  const declaredSuccess = [...op.responses.keys()].filter((s) => s < 300);
  const prefer = rarely(
    fc.oneof(
      fc.constantFrom(...[...declaredErrors, ...declaredSuccess, 418, 299].map((s) => `code=${s}`)),
      fc.constantFrom(
        'delay=1',
        'delay=abc',
        'delay=99999999',
        'example=nope',
        'code=',
        'code=4000',
        'respond-async',
        'handling=strict',
        'return=minimal',
        'code=404, delay=1',
        ';;;',
        'code="400"',
      ),
      headerValue(40),
    ),
    6,
  );
  const accept = rarely(
    fc.oneof(
      fc.constantFrom(
        'application/json',
        '*/*',
        'application/*',
        'application/json;charset=UTF-8',
        'text/html',
        'application/json;q=0',
        '*/*;q=0',
        'application/problem+json',
        'application/json; charset=iso-8859-1',
        ';;;',
        'application/json;q=abc',
        'APPLICATION/JSON',
        `${'a'.repeat(4000)}/json`,
      ),
      headerValue(40),
    ),
    4,
  );
  /** Undefined: the Content-Type that matches the body (JSON, or a form for form-encoded bodies). */
  const contentType = rarely(
    fc.oneof(
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'application/json;charset=UTF-16',
        'application/json; charset=',
        'application/x-www-form-urlencoded',
        'application/x-www-form-urlencoded; charset=iso-8859-1',
        'application/x-www-form-urlencoded; charset=koi8-r',
        'text/plain',
        'application/merge-patch+json',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
        '/',
        ';',
        'application/json; charset="utf-8"; foo=bar',
      ),
      headerValue(40),
    ),
    4,
  );
  const noContentType = fc.oneof(
    { weight: 8, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  );
  const extraHeaders = fc.dictionary(
    fc.constantFrom(
      'X-Request-ID',
      'Origin',
      'Content-Encoding',
      'Accept-Charset',
      'X-Forwarded-For',
      'Idempotency-Key',
      'Range',
      'If-None-Match',
    ),
    fc.oneof(
      headerValue(80),
      fc.uuid(),
      fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'https://evil.example'),
    ),
    { maxKeys: 2 },
  );
  const needsClient = op.operationId === 'TokenRequest' || op.operationId === 'RefreshToken';
  const clientAuthValid = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;
  const clientAuth = fc.constantFrom(
    clientAuthValid,
    `Basic ${Buffer.from(`${CLIENT.id}:wrong`).toString('base64')}`,
    `Basic ${Buffer.from('no-colon').toString('base64')}`,
    `Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0xed, 0xa0, 0x80]).toString('base64')}`,
    'Basic %%%',
    'Basic',
    'Digest x',
  );
  const method = fc.oneof(
    { weight: 15, arbitrary: fc.constant(op.method as FuzzRequest['method']) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<FuzzRequest['method']>(
        'get',
        'post',
        'put',
        'delete',
        'patch',
        'options',
        'head',
      ),
    },
  );
  return fc
    .record({
      // Half the requests are clean but for their ids, query and body, so more of them reach the handlers.
      clean: fc.boolean(),
      method,
      path,
      query,
      key: fc.oneof(
        { weight: 8, arbitrary: fc.constant<KeyKind>('unlimited') },
        { weight: 2, arbitrary: fc.constantFrom(...KEY_KINDS) },
      ),
      bearer: fc.oneof(
        { weight: 6, arbitrary: fc.constant<BearerKind>('basic') },
        { weight: 3, arbitrary: fc.constantFrom(...BEARER_KINDS) },
      ),
      client: fc.option(clientAuth, { nil: undefined, freq: 5 }),
      idempotencyKey: fc.option(
        fc.oneof(
          { weight: 8, arbitrary: fc.uuid() },
          { weight: 1, arbitrary: headerValue(40) },
          { weight: 1, arbitrary: fc.constantFrom('urn:uuid:2b0d7b3e-8c1a-4f1e-9b2a-0c3d4e5f6a7b', '') },
        ),
        { nil: undefined, freq: 8 },
      ),
      prefer,
      accept,
      contentType,
      noContentType,
      extraHeaders,
      body: op.requestBody
        ? bodyArbitrary(contract, op, world)
        : fc.oneof(
            { weight: 5, arbitrary: fc.constant<FuzzBody>({ kind: 'none' }) },
            { weight: 1, arbitrary: bodyArbitrary(contract, op, world) },
          ),
    })
    .map((generated) => {
      const r = generated.clean
        ? {
            ...generated,
            method: op.method as FuzzRequest['method'],
            path: generated.path.replace(/(\/|\/\/|\/extra|%2F|;x=1)$/, ''),
            key: 'unlimited' as KeyKind,
            bearer: 'basic' as BearerKind,
            prefer: undefined,
            accept: undefined,
            contentType: undefined,
            noContentType: false,
            extraHeaders: {},
            client: generated.client === undefined ? undefined : clientAuthValid,
          }
        : generated;
      const headers: Record<string, string> = { ...r.extraHeaders };
      if (r.prefer !== undefined) headers.Prefer = r.prefer;
      if (r.accept !== undefined) headers.Accept = r.accept;
      if (r.body.kind !== 'none' && !r.noContentType)
        headers['Content-Type'] =
          r.contentType ??
          (r.body.kind === 'text' && r.body.form ? 'application/x-www-form-urlencoded' : 'application/json');
      if (op.operationId === 'MakePayment' && r.idempotencyKey !== undefined)
        headers['Idempotency-Key'] = r.idempotencyKey;
      // The token endpoints authenticate the client with HTTP Basic; the bearer kind is then not sent.
      if (needsClient && r.client !== undefined) headers.Authorization = r.client;
      return {
        method: r.method,
        url: r.path + r.query,
        key: r.key,
        bearer: needsClient && r.client !== undefined ? ('absent' as BearerKind) : r.bearer,
        headers,
        body: r.body,
      };
    });
}

/** The subscription key header (or query parameter) of a key kind. */
export function keyFor(kind: KeyKind): { header?: string; query?: string } {
  switch (kind) {
    case 'unlimited':
      return { header: KEY };
    case 'query':
      return { query: KEY };
    case 'garbage':
      return { header: `${KEY.slice(0, -1)}0` };
    case 'absent':
      return {};
    default:
      return { header: PRODUCT_KEY[kind] };
  }
}
