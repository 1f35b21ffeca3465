import { CONTRACT_DIR, CompiledContract, SCHEMA_BASE, loadContract } from '../../contract-kit';
import type { ValidateFunction } from '../../contract-kit';
import { PROBLEM_BASE } from '../../mock/problem';
import { PERSONAS } from '../../fixtures/personas';
import { World } from '../../fixtures/world';

/**
 * contracts/admin.openapi.yaml, the mock's control plane: it loads with the API contract's loader,
 * compiles with the strict ajv of the mock, and every example in it validates against its schema.
 */
const contract = loadContract(CONTRACT_DIR, 'admin.openapi.yaml');
const compiled = new CompiledContract(contract);
const doc = contract.document;

type Node = Record<string, unknown>;
const isObject = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Follows internal `$ref`s (`#/components/...`) until a node that is not one. */
function deref(node: unknown): Node {
  let n = node;
  while (isObject(n) && typeof n.$ref === 'string' && n.$ref.startsWith('#/')) {
    let target: unknown = doc;
    for (const token of n.$ref.slice(2).split('/')) target = (target as Node)[token.replace(/~1/g, '/')];
    n = target;
  }
  if (!isObject(n)) throw new Error(`not an object: ${JSON.stringify(node)}`);
  return n;
}

/** The named examples (or the single `example`) of a media type, parameter or header, dereferenced. */
function examplesOf(holder: Node): [string, unknown][] {
  const out: [string, unknown][] = [];
  if (holder.example !== undefined) out.push(['example', holder.example]);
  if (isObject(holder.examples))
    for (const [name, ex] of Object.entries(holder.examples)) out.push([name, deref(ex).value]);
  return out;
}

/** Every operation of the raw document: method, path, operation object. */
const rawOperations = Object.entries(doc.paths as Node).flatMap(([path, item]) =>
  Object.entries(item as Node)
    .filter(([method]) => ['get', 'put', 'post', 'delete', 'patch'].includes(method))
    .map(([method, op]) => ({ method, path, op: op as Node })),
);

function check(validate: ValidateFunction | undefined, value: unknown, where: string): string | undefined {
  if (!validate) return `${where}: no compiled validator`;
  return validate(value) ? undefined : `${where}: ${JSON.stringify(validate.errors)}`;
}

test('loads with the shared loader; the default is still the Procode API contract', () => {
  expect(String((doc.info as Node).title)).toMatch(/procode-mock admin/);
  expect(loadContract().byId.has('MakePayment')).toBe(true);
  expect(contract.byId.has('MakePayment')).toBe(false);
  // Its bodies come from the same schema files, registered under the same base.
  expect(contract.schemaFiles.has(`${SCHEMA_BASE}token.json`)).toBe(true);
});

test.each([
  ['GetAdminIndex', 'get', '/__admin'],
  ['GetHealth', 'get', '/__admin/health'],
  ['ListOutbox', 'get', '/__admin/outbox'],
  ['ResetMock', 'post', '/__admin/reset'],
  ['GetCertificate', 'get', '/__admin/certificate'],
  ['GetExpiredToken', 'get', '/__admin/tokens/expired'],
  ['IssueToken', 'post', '/__admin/tokens'],
  ['ListPersonas', 'get', '/__admin/personas'],
  ['GetClock', 'get', '/__admin/clock'],
  ['SetClock', 'put', '/__admin/clock'],
  ['AdvanceClock', 'post', '/__admin/clock/advance'],
  ['ResetClock', 'delete', '/__admin/clock'],
  ['ListFaults', 'get', '/__admin/faults'],
  ['AddFault', 'post', '/__admin/faults'],
  ['DeleteFault', 'delete', '/__admin/faults/{faultId}'],
  ['ClearFaults', 'delete', '/__admin/faults'],
  ['ListRequests', 'get', '/__admin/requests'],
  ['CountRequests', 'get', '/__admin/requests/count'],
  ['ClearRequests', 'delete', '/__admin/requests'],
  ['GetState', 'get', '/__admin/state'],
  ['PutState', 'put', '/__admin/state'],
])('%s is %s %s', (operationId, method, path) => {
  const op = contract.byId.get(operationId);
  expect(op).toMatchObject({ method, path });
  expect(op?.summary).not.toBe('');
  expect(op?.tags).toHaveLength(1);
});

test('has exactly the 21 admin operations, each with a description', () => {
  expect(contract.operations).toHaveLength(21);
  for (const { op } of rawOperations) expect(String(op.description ?? '').length).toBeGreaterThan(20);
});

test('GetAdminIndex example lists every operation with its method, path and summary', () => {
  const example = contract.byId.get('GetAdminIndex')!.responses.get(200)!.content.get('application/json')!
    .example as { operations: { operationId: string; method: string; path: string; summary: string }[] };
  const listed = [...example.operations].sort((a, b) => a.operationId.localeCompare(b.operationId));
  const declared = contract.operations
    .map((o) => ({
      operationId: o.operationId,
      method: o.method.toUpperCase(),
      path: o.path,
      summary: o.summary,
    }))
    .sort((a, b) => a.operationId.localeCompare(b.operationId));
  expect(listed).toEqual(declared);
});

test('every response carries the required X-Request-ID; every error is a problem+json ErrorResponse', () => {
  for (const op of contract.operations)
    for (const [status, response] of op.responses) {
      expect([op.operationId, status, response.headers.get('X-Request-ID')?.required]).toEqual([
        op.operationId,
        status,
        true,
      ]);
      if (status >= 400) {
        expect([op.operationId, status, [...response.content.keys()]]).toEqual([
          op.operationId,
          status,
          ['application/problem+json'],
        ]);
        expect(response.content.get('application/problem+json')?.schema).toEqual({
          $ref: `${SCHEMA_BASE}error-response.json`,
        });
      }
    }
});

test('401 everywhere but the open health check (with the admin challenge); 400 wherever a body or query parameter is taken', () => {
  for (const op of contract.operations) {
    if (op.operationId === 'GetHealth') {
      // A probe needs no credential: `security: []` and no 401.
      expect(op.security).toEqual([]);
      expect(op.responses.has(401)).toBe(false);
      continue;
    }
    const unauthorized = op.responses.get(401);
    expect([op.operationId, unauthorized?.headers.get('WWW-Authenticate')?.required]).toEqual([
      op.operationId,
      true,
    ]);
    const takesInput = op.requestBody !== undefined || op.parameters.some((p) => p.in === 'query');
    if (takesInput) expect([op.operationId, op.responses.has(400)]).toEqual([op.operationId, true]);
    expect(op.security).toEqual([[], ['adminToken']]);
  }
  expect(contract.securitySchemes.adminToken).toMatchObject({ type: 'http', scheme: 'bearer' });
  const router = doc['x-router-responses'] as Node;
  expect(Object.keys(router).sort()).toEqual(['404', '405']);
});

test('every example validates against its schema with the compiled validators', () => {
  const failures: string[] = [];
  let checked = 0;
  const fail = (message: string | undefined): void => {
    checked += 1;
    if (message) failures.push(message);
  };
  for (const { op: raw } of rawOperations) {
    const operationId = String(raw.operationId);
    const op = compiled.get(operationId);
    // Parameters: all examples of one location together, through that location's validator.
    const byLocation = new Map<string, Node>();
    for (const p of (raw.parameters as unknown[] | undefined) ?? []) {
      const param = deref(p);
      const where = String(param.in);
      const name = where === 'header' ? String(param.name).toLowerCase() : String(param.name);
      const examples = examplesOf(param);
      expect([operationId, param.name, examples.length > 0]).toEqual([operationId, param.name, true]);
      for (const [, value] of examples) byLocation.set(where, { ...byLocation.get(where), [name]: value });
    }
    for (const [where, values] of byLocation)
      fail(
        check(op.request[where as 'path' | 'query' | 'header'], values, `${operationId} ${where} parameters`),
      );
    // Request bodies.
    const body = raw.requestBody === undefined ? undefined : deref(raw.requestBody);
    for (const [mediaType, media] of Object.entries((body?.content as Node | undefined) ?? {})) {
      const examples = examplesOf(media as Node);
      expect([operationId, mediaType, examples.length > 0]).toEqual([operationId, mediaType, true]);
      for (const [name, value] of examples)
        fail(check(op.request.body.get(mediaType), value, `${operationId} request ${mediaType} ${name}`));
    }
    // Responses: bodies and headers.
    for (const [status, r] of Object.entries(raw.responses as Node)) {
      const response = deref(r);
      for (const [mediaType, media] of Object.entries((response.content as Node | undefined) ?? {})) {
        const examples = examplesOf(media as Node);
        expect([operationId, status, mediaType, examples.length > 0]).toEqual([
          operationId,
          status,
          mediaType,
          true,
        ]);
        for (const [name, value] of examples)
          fail(check(op.responses.get(`${status} ${mediaType}`), value, `${operationId} ${status} ${name}`));
      }
      for (const [header, h] of Object.entries((response.headers as Node | undefined) ?? {}))
        for (const [name, value] of examplesOf(deref(h)))
          fail(
            check(
              op.responseHeaders.get(`${status} ${header.toLowerCase()}`),
              value,
              `${operationId} ${status} ${header} ${name}`,
            ),
          );
    }
  }
  // The router's responses, through any operation's validator for the same schema.
  for (const [status, r] of Object.entries(doc['x-router-responses'] as Node)) {
    const media = (deref(r).content as Node)['application/problem+json'] as Node;
    for (const [name, value] of examplesOf(media))
      fail(check(compiled.get('DeleteFault').responses.get('404 application/problem+json'), value, name));
    expect(examplesOf(media).every(([, v]) => (v as { status: number }).status === Number(status))).toBe(
      true,
    );
  }
  // Schema-level `examples` of the components that stand alone.
  for (const [name, schema] of Object.entries((doc.components as Node).schemas as Node)) {
    const s = schema as Node;
    if (!Array.isArray(s.examples) || JSON.stringify(s).includes('$ref')) continue;
    const validate = compiled.ajv.compile(s);
    for (const value of s.examples) fail(check(validate, value, `components.schemas.${name}`));
  }
  expect(failures).toEqual([]);
  expect(checked).toBeGreaterThan(60);
});

test('every problem example names a catalogue type whose status is the response status', () => {
  const seen: string[] = [];
  for (const { op: raw } of rawOperations)
    for (const [status, r] of Object.entries(raw.responses as Node)) {
      const media = (deref(r).content as Node | undefined)?.['application/problem+json'];
      if (!isObject(media)) continue;
      for (const [, value] of examplesOf(media)) {
        const problem = value as { type: string; status: number };
        expect(problem.type.startsWith(PROBLEM_BASE)).toBe(true);
        expect(problem.status).toBe(Number(status));
        seen.push(problem.type.slice(PROBLEM_BASE.length));
      }
    }
  expect([...new Set(seen)].sort()).toEqual([
    'internal-error',
    'malformed-json',
    'not-acceptable',
    'not-found',
    'payload-too-large',
    'service-unavailable',
    'unauthorized',
    'unsupported-media-type',
    'validation-error',
  ]);
});

/**
 * The schema nodes below `node` (properties, items, combinators, conditionals), depth first. A
 * combinator's or conditional's restatement of a property its object declares (strict ajv wants one
 * beside each `required`) is skipped: the declaration carries the bounds.
 */
function* schemaNodes(node: unknown, path: string, declared: Node = {}): Generator<[string, Node]> {
  if (!isObject(node) || typeof node.$ref === 'string') return;
  yield [path, node];
  const properties = (node.properties as Node | undefined) ?? {};
  for (const [k, v] of Object.entries(properties))
    if (!(k in declared)) yield* schemaNodes(v, `${path}.${k}`);
  for (const key of ['items', 'additionalProperties', 'propertyNames'])
    yield* schemaNodes(node[key], `${path}/${key}`);
  const scope = { ...declared, ...properties };
  for (const key of ['if', 'then', 'else']) yield* schemaNodes(node[key], `${path}/${key}`, scope);
  for (const key of ['anyOf', 'allOf', 'oneOf'])
    for (const [i, sub] of ((node[key] as unknown[] | undefined) ?? []).entries())
      yield* schemaNodes(sub, `${path}/${key}/${i}`, scope);
}

test("the admin contract's own schemas are closed and bounded", () => {
  const roots: [string, unknown][] = Object.entries((doc.components as Node).schemas as Node);
  for (const { op } of rawOperations) {
    for (const p of (op.parameters as unknown[] | undefined) ?? [])
      roots.push([`${String(op.operationId)} ${String(deref(p).name)}`, deref(p).schema]);
    for (const [status, r] of Object.entries(op.responses as Node))
      for (const [mediaType, media] of Object.entries((deref(r).content as Node | undefined) ?? {}))
        roots.push([`${String(op.operationId)} ${status} ${mediaType}`, (media as Node).schema]);
  }
  const problems: string[] = [];
  for (const [root, schema] of roots)
    for (const [path, node] of schemaNodes(schema, root)) {
      const bounded = (...keys: string[]): boolean => keys.some((k) => node[k] !== undefined);
      switch (node.type) {
        case 'object':
          if (node.additionalProperties === undefined) problems.push(`${path}: open object`);
          break;
        case 'string':
          if (!bounded('maxLength', 'pattern', 'format', 'enum', 'const'))
            problems.push(`${path}: unbounded string`);
          break;
        case 'array':
          if (!bounded('maxItems')) problems.push(`${path}: array without maxItems`);
          break;
        case 'integer':
        case 'number':
          if (!bounded('minimum', 'exclusiveMinimum', 'const')) problems.push(`${path}: no lower bound`);
          // BalanceState repeats balance.json's fields with balance.json's limits (no upper ones).
          if (!bounded('maximum', 'exclusiveMaximum', 'const') && !root.startsWith('BalanceState'))
            problems.push(`${path}: no upper bound`);
          break;
      }
    }
  expect(problems).toEqual([]);
});

test('FaultRuleInput needs a match and an action, and nothing else', () => {
  const validate = compiled.get('AddFault').request.body.get('application/json')!;
  expect(validate({ operationId: 'MakePayment', status: 503 })).toBe(true);
  expect(validate({ method: 'GET', path: '/api/energy/premises', fault: 'hang' })).toBe(true);
  expect(validate({ status: 503 })).toBe(false); // no match
  expect(validate({ method: 'GET', status: 503 })).toBe(false); // method without path
  expect(validate({ operationId: 'MakePayment' })).toBe(false); // no action
  expect(validate({ operationId: 'MakePayment', delayMs: 10, colour: 'red' })).toBe(false);
  expect(validate({ operationId: 'MakePayment', probability: 1.5, status: 503 })).toBe(false);
});

test('the ListPersonas example is what the default world (seed 42, 1000 accounts) holds', () => {
  type Example = {
    subscriptionKey: string;
    clientId: string;
    personas: {
      id: string;
      accountNumber: string;
      premises: {
        premiseId: string;
        servicePoints: { servicePointId: string; devices: { deviceId: string; deviceType: string }[] }[];
      }[];
    }[];
  };
  const example = contract.byId.get('ListPersonas')!.responses.get(200)!.content.get('application/json')!
    .example as Example;
  expect(example.subscriptionKey).toBe(PERSONAS.subscriptionKey);
  expect(example.clientId).toBe(PERSONAS.clientId);
  const world = new World({ seed: 42, accounts: 1000 });
  for (const persona of example.personas) {
    const pinned = PERSONAS.personas.find((p) => p.id === persona.id);
    expect(pinned).toMatchObject({ accountNumber: persona.accountNumber });
    const account = world.account(world.findAccountByNumber(persona.accountNumber)!);
    expect(
      persona.premises.map((p) => [
        p.premiseId,
        p.servicePoints.map((sp) => [sp.servicePointId, sp.devices.map((d) => [d.deviceId, d.deviceType])]),
      ]),
    ).toEqual(
      account.premises.map((p) => [
        p.premise.premiseId,
        p.servicePoints.map((sp) => [
          sp.servicePoint.servicePointId,
          sp.devices.map((d) => [d.device.deviceId, d.device.deviceType]),
        ]),
      ]),
    );
  }
});
