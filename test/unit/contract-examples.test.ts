import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { dereference, format, validate } from '@cfworker/json-schema';
import type { OutputUnit, Schema } from '@cfworker/json-schema';
import { DOMAIN_FORMATS } from '../../fixtures/domain/formats';

/**
 * Every example of both contracts validates against its schema with a second JSON Schema 2020-12
 * validator, @cfworker/json-schema, that shares no code with the mock's ajv: media-type `example` and
 * `examples` (request bodies, responses, `x-router-responses`), parameter and header examples, and the
 * `examples` (and `example`) of every schema and subschema, in the documents and in `schemas/*.json`.
 * The documents are read here, not through the mock's loader, so a loader bug cannot hide a bad example.
 */
const CONTRACTS = join(__dirname, '..', '..', 'contracts');
const DOCUMENTS = ['procode.openapi.yaml', 'admin.openapi.yaml'];
/** Base URI of the contracts folder: `./schemas/x.json` in a document resolves beside it, as on disk. */
const BASE = 'https://procode.example/contracts/';

type Node = Record<string, unknown>;
const isObject = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

// Format assertion on, as the mock's ajv does: the domain formats join cfworker's standard ones.
Object.assign(format, DOMAIN_FORMATS);

/** Every schema (schema files and both documents) by URI, with each `$ref` resolved by cfworker. */
const lookup: Record<string, Schema | boolean> = {};
const schemaFiles = readdirSync(join(CONTRACTS, 'schemas'))
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => ({
    file: `schemas/${file}`,
    schema: JSON.parse(readFileSync(join(CONTRACTS, 'schemas', file), 'utf8')) as Schema,
  }));
for (const { file, schema } of schemaFiles) dereference(Object.assign(schema, { $id: BASE + file }), lookup);
const documents = DOCUMENTS.map((file) => {
  const doc = parseYaml(readFileSync(join(CONTRACTS, file), 'utf8')) as Node;
  // The whole document is registered, so `#/components/...` and `./schemas/x.json` resolve in it.
  dereference(Object.assign(doc, { $id: BASE + file }) as Schema, lookup);
  return { file, doc };
});

/**
 * Registers a schema found at `where` (`file#pointer`). cfworker walks a document only through schema
 * keywords and objects, so a schema inside an array (an operation's `parameters`) needs this for the
 * `$ref`s in it to resolve against its document.
 */
function register(schema: Schema, where: string): Schema {
  const [file = '', ptr = ''] = where.split('#');
  dereference(schema, lookup, new URL(BASE + file), ptr);
  return schema;
}

/** One example and the schema it must satisfy. */
interface Case {
  where: string;
  value: unknown;
  schema: Schema | boolean;
}

const escape = (token: string | number): string => String(token).replace(/~/g, '~0').replace(/\//g, '~1');
const pointer = (tokens: (string | number)[]): string => tokens.map((t) => `/${escape(t)}`).join('');

/** Follows an internal reference (`#/components/...`) of `doc`. */
function resolve(doc: Node, ref: string): unknown {
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = isObject(node) ? node[token] : undefined;
  }
  if (node === undefined) throw new Error(`unresolvable $ref ${ref}`);
  return node;
}

/** Schema keywords whose value is one subschema, an array of them, or a map of them (JSON Schema 2020-12). */
const ONE = ['additionalProperties', 'unevaluatedProperties', 'propertyNames', 'not', 'if', 'then', 'else'];
const ONE_MORE = ['contains', 'items', 'unevaluatedItems', 'contentSchema'];
const LIST = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
const MAP = ['properties', 'patternProperties', '$defs', 'dependentSchemas'];

/** The schema's own `examples` (and deprecated `example`), then those of every subschema. */
function schemaCases(schema: unknown, where: string, out: Case[]): void {
  if (!isObject(schema)) return;
  const target = schema as Schema;
  if (Array.isArray(schema.examples))
    schema.examples.forEach((value, i) =>
      out.push({ where: `${where}/examples/${i}`, value, schema: target }),
    );
  if (schema.example !== undefined)
    out.push({ where: `${where}/example`, value: schema.example, schema: target });
  for (const key of [...ONE, ...ONE_MORE]) schemaCases(schema[key], `${where}/${key}`, out);
  for (const key of LIST) {
    const list = schema[key];
    if (Array.isArray(list)) list.forEach((s, i) => schemaCases(s, `${where}/${key}/${i}`, out));
  }
  for (const key of MAP) {
    const map = schema[key];
    if (isObject(map))
      for (const [name, s] of Object.entries(map)) schemaCases(s, `${where}/${key}/${escape(name)}`, out);
  }
}

/**
 * The `example` or named `examples` of a media type, parameter or header against its `schema`; a named
 * example may be a `$ref` to `components/examples`, checked against the schema of each place that uses it.
 */
function holderCases(doc: Node, holder: Node, where: string, out: Case[]): void {
  if (isObject(holder.schema)) {
    const schema = register(holder.schema as Schema, `${where}/schema`);
    if (holder.example !== undefined) out.push({ where: `${where}/example`, value: holder.example, schema });
    if (isObject(holder.examples)) {
      for (const [name, raw] of Object.entries(holder.examples)) {
        const ref = isObject(raw) && typeof raw.$ref === 'string' ? raw.$ref : undefined;
        const example = ref ? resolve(doc, ref) : raw;
        if (!isObject(example) || !('value' in example)) continue; // externalValue: nothing inline to check
        const via = ref ? ` (${ref})` : '';
        out.push({ where: `${where}/examples/${escape(name)}${via}`, value: example.value, schema });
      }
    }
    schemaCases(holder.schema, `${where}/schema`, out);
  }
  // A parameter or header may describe its value with `content` instead of `schema`.
  if (isObject(holder.content)) contentCases(doc, holder.content, `${where}/content`, out);
}

function contentCases(doc: Node, content: Node, where: string, out: Case[]): void {
  for (const [type, media] of Object.entries(content))
    if (isObject(media)) holderCases(doc, media, `${where}/${escape(type)}`, out);
}

/** A parameter, header, request body or response at its definition (a `$ref` is checked where it points). */
function objectCases(
  doc: Node,
  kind: 'holder' | 'body' | 'response',
  node: unknown,
  where: string,
  out: Case[],
) {
  if (!isObject(node) || typeof node.$ref === 'string') return;
  if (kind === 'holder') return holderCases(doc, node, where, out);
  if (isObject(node.content)) contentCases(doc, node.content, `${where}/content`, out);
  if (kind === 'response' && isObject(node.headers))
    for (const [name, header] of Object.entries(node.headers))
      objectCases(doc, 'holder', header, `${where}/headers/${escape(name)}`, out);
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function documentCases(file: string, doc: Node): Case[] {
  const out: Case[] = [];
  const at = (tokens: (string | number)[]): string => `${file}#${pointer(tokens)}`;
  const each = (map: unknown, f: (key: string, value: unknown) => void): void => {
    if (isObject(map)) for (const [k, v] of Object.entries(map)) f(k, v);
  };
  const list = (arr: unknown, f: (value: unknown, i: number) => void): void => {
    if (Array.isArray(arr)) arr.forEach(f);
  };
  each(doc.paths, (path, item) => {
    if (!isObject(item)) return;
    list(item.parameters, (p, i) => objectCases(doc, 'holder', p, at(['paths', path, 'parameters', i]), out));
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const base = ['paths', path, method];
      list(op.parameters, (p, i) => objectCases(doc, 'holder', p, at([...base, 'parameters', i]), out));
      objectCases(doc, 'body', op.requestBody, at([...base, 'requestBody']), out);
      each(op.responses, (code, r) => objectCases(doc, 'response', r, at([...base, 'responses', code]), out));
    }
  });
  const components = isObject(doc.components) ? doc.components : {};
  each(components.parameters, (n, p) =>
    objectCases(doc, 'holder', p, at(['components', 'parameters', n]), out),
  );
  each(components.headers, (n, h) => objectCases(doc, 'holder', h, at(['components', 'headers', n]), out));
  each(components.requestBodies, (n, b) =>
    objectCases(doc, 'body', b, at(['components', 'requestBodies', n]), out),
  );
  each(components.responses, (n, r) =>
    objectCases(doc, 'response', r, at(['components', 'responses', n]), out),
  );
  each(components.schemas, (n, s) => schemaCases(s, at(['components', 'schemas', n]), out));
  each(doc['x-router-responses'], (code, r) =>
    objectCases(doc, 'response', r, at(['x-router-responses', code]), out),
  );
  return out;
}

const cases: Case[] = [
  ...documents.flatMap(({ file, doc }) => documentCases(file, doc)),
  ...schemaFiles.flatMap(({ file, schema }) => {
    const out: Case[] = [];
    schemaCases(schema, `${file}#`, out);
    return out;
  }),
];

/** The errors that name a fault (not the "a subschema had errors" wrappers around them). */
function faults(errors: readonly OutputUnit[]): string[] {
  return errors
    .filter(
      (e) => !/^(A subschema had errors|Items did not match|Property .* does not match schema)/.test(e.error),
    )
    .map((e) => `${e.instanceLocation || '#'}: ${e.error} (${e.keywordLocation})`);
}

test('finds the examples of both contracts', () => {
  const files = new Set(cases.map((c) => c.where.split('#')[0]));
  for (const file of DOCUMENTS) expect(files).toContain(file);
  expect(cases.length).toBeGreaterThan(100);
});

test.each(cases)('$where validates against its schema', ({ value, schema }) => {
  expect(faults(validate(value, schema, '2020-12', lookup, false).errors)).toEqual([]);
});
