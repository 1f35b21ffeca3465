import { bundleContract } from '../../mock/docs';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CONTRACT_DIR, loadContract } from '../../contract-kit';
import { PROBLEMS } from '../../mock/problem';
import type { ProblemType } from '../../mock/problem';
import { OTP_SCOPE_OPERATIONS } from '../../mock/security';
import { MAX_ERRORS } from '../../mock/validate';

/** Issue 8: what common OpenAPI tools read in the contract is what the mock does. One test per input. */
const contract = loadContract();
/* eslint-disable @typescript-eslint/no-explicit-any -- the contract's JSON, read as it is */
const doc = contract.document as Record<string, any>;
const schemaFile = (name: string): Record<string, any> =>
  JSON.parse(readFileSync(join(CONTRACT_DIR, 'schemas', name), 'utf8'));

/** Every node of a JSON value, with its path. */
function* walk(node: unknown, path: string[] = []): Generator<[string[], Record<string, unknown>]> {
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) yield* walk(node[i], [...path, String(i)]);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  yield [path, node as Record<string, unknown>];
  for (const [k, v] of Object.entries(node)) yield* walk(v, [...path, k]);
}

const schemaFiles = readdirSync(join(CONTRACT_DIR, 'schemas')).filter((f) => f.endsWith('.json'));

test('1: TokenRequest and RefreshToken declare HTTP Basic client authentication in every security alternative', () => {
  expect(doc.components.securitySchemes.clientBasic).toMatchObject({ type: 'http', scheme: 'basic' });
  for (const id of ['TokenRequest', 'RefreshToken']) {
    const op = contract.byId.get(id)!;
    expect(op.security.length).toBeGreaterThan(0);
    for (const alt of op.security) expect(alt).toContain('clientBasic');
  }
});

test('2 and 13: each error media type has its one schema: the gateway’s JSON or the problem document', () => {
  for (const op of contract.operations) {
    for (const [status, response] of op.responses) {
      if (status < 400) continue;
      for (const [mediaType, media] of response.content) {
        const text = JSON.stringify(media.schema);
        const gateway = text.includes('gateway-error.json');
        const problem = text.includes('error-response.json');
        expect({ op: op.operationId, status, mediaType, gateway, problem }).toEqual({
          op: op.operationId,
          status,
          mediaType,
          gateway: mediaType === 'application/json',
          problem: mediaType === 'application/problem+json',
        });
      }
    }
  }
});

test('3: errors[] declares the cap the mock enforces (100 items and one summary)', () => {
  expect(schemaFile('error-response.json').properties.errors.maxItems).toBe(MAX_ERRORS + 1);
});

test('4: offset declares the largest value the mock accepts', () => {
  expect(doc.components.parameters.Offset.schema.maximum).toBe(Number.MAX_SAFE_INTEGER);
});

test('5: every problem type the mock can send is in the contract’s catalogue table, and 431 is declared everywhere', () => {
  const table = String(doc.info.description);
  for (const type of Object.values(PROBLEMS) as ProblemType[]) {
    if (type.gateway === 'always') continue; // the gateway's own JSON, described beside the table
    expect({
      slug: type.slug,
      listed: table.includes(`| ${type.slug} | ${type.status} | ${type.title} |`),
    }).toEqual({
      slug: type.slug,
      listed: true,
    });
  }
  for (const op of contract.operations)
    expect([op.operationId, op.responses.has(431)]).toEqual([op.operationId, true]);
  expect(Object.keys(doc['x-router-responses'])).toEqual([
    '400',
    '404',
    '405',
    '408',
    '417',
    '431',
    '501',
    '505',
  ]);
});

test('6: no $ref points into another schema’s $defs', () => {
  const texts = [
    readFileSync(join(CONTRACT_DIR, 'procode.openapi.yaml'), 'utf8'),
    ...schemaFiles.map((f) => readFileSync(join(CONTRACT_DIR, 'schemas', f), 'utf8')),
  ];
  for (const text of texts) expect(text).not.toMatch(/\$defs/);
});

test('7: bearer operations declare the oauth2 scheme with the scopes the mock accepts', () => {
  const otpAllowed = new Set<string>();
  for (const op of contract.operations) {
    if (!op.requiresBearer) continue;
    const raw = doc.paths[op.path][op.method].security as Record<string, string[]>[];
    for (const alt of raw) expect(alt.oauth2).toBeDefined();
    if (raw.some((alt) => alt.oauth2!.includes('otp'))) otpAllowed.add(op.operationId);
  }
  expect([...otpAllowed].sort()).toEqual([...OTP_SCOPE_OPERATIONS].sort());
  expect(Object.keys(doc.components.securitySchemes.oauth2.flows.password.scopes).sort()).toEqual([
    'customer',
    'otp',
  ]);
});

test('8: info.license has a url', () => {
  expect(doc.info.license.url).toMatch(/^https:\/\//);
});

test('10: every string of TokenRequest and RefreshTokenRequest is bounded', () => {
  for (const file of ['token-request.json', 'refresh-token-request.json']) {
    for (const [path, node] of walk(schemaFile(file))) {
      if (node.type === 'string' && node.enum === undefined && node.const === undefined) {
        expect({ file, at: path.join('/'), maxLength: typeof node.maxLength }).toEqual({
          file,
          at: path.join('/'),
          maxLength: 'number',
        });
      }
    }
  }
});

test('11: every custom format also carries a pattern, for tools that do not know the format', () => {
  for (const file of schemaFiles) {
    for (const [path, node] of walk(schemaFile(file))) {
      if (['mpan-core', 'mprn', 'utrn'].includes(String(node.format))) {
        expect({ file, at: path.join('/'), pattern: typeof node.pattern }).toEqual({
          file,
          at: path.join('/'),
          pattern: 'string',
        });
      }
    }
  }
});

test.each([
  ['service-point.json', 'fuelType'],
  ['payment.json', 'status'],
  ['device.json', 'deviceType'],
])(
  '12: %s is a oneOf discriminated on %s, each member a named, closed schema naming its values',
  (file, property) => {
    const schema = schemaFile(file);
    expect(schema.if).toBeUndefined();
    const mapping = (schema.discriminator as { propertyName: string; mapping: Record<string, string> })
      .mapping;
    expect(schema.discriminator).toEqual({ propertyName: property, mapping: expect.any(Object) });
    const values: string[] = [];
    const components = loadContract().document.components as { schemas: Record<string, { $ref?: string }> };
    for (const { $ref } of schema.oneOf as { $ref: string }[]) {
      // A $ref to a schema file that is a component of its own (Redocly: the discriminator can select it).
      expect(Object.values(components.schemas).map((c) => c.$ref)).toContain(`./schemas/${$ref}`);
      const member = schemaFile($ref);
      expect(member.additionalProperties).toBe(false);
      expect(member.required).toContain(property);
      const p = member.properties[property];
      const own: string[] = p.const !== undefined ? [p.const] : p.enum;
      // The mapping sends each value to the member that holds it.
      for (const v of own) expect(mapping[v]).toBe($ref);
      values.push(...own);
    }
    expect(Object.keys(mapping).sort()).toEqual([...values].sort());
    expect(new Set(values).size).toBe(values.length);
  },
);

test("12: the docs' bundled contract maps each discriminator value to a component, not a file", () => {
  const bundled = bundleContract(loadContract()) as {
    components: { schemas: Record<string, Record<string, any>> };
  };
  const schemas = bundled.components.schemas;
  for (const name of ['ServicePoint', 'Device', 'Payment']) {
    const mapping = schemas[name]!.discriminator.mapping as Record<string, string>;
    for (const ref of Object.values(mapping)) {
      expect(ref).toMatch(/^#\/components\/schemas\/[A-Za-z]+$/);
      expect(schemas[ref.split('/').pop()!]).toBeDefined();
    }
    for (const member of schemas[name]!.oneOf as { $ref: string }[])
      expect(Object.values(mapping)).toContain(member.$ref);
  }
});
