import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** The `contracts/` folder of this package, found upwards from here (works from `mock/` and `dist/mock/`). */
function findContractDir(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'contracts');
    if (existsSync(join(candidate, 'procode.openapi.yaml'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`No contracts/procode.openapi.yaml above ${start}`);
  }
}

/** Where the contract lives in this repository. */
export const CONTRACT_DIR = findContractDir(__dirname);
/** This package's version (its package.json sits beside contracts/). */
export const PACKAGE_VERSION = (
  JSON.parse(readFileSync(join(CONTRACT_DIR, '..', 'package.json'), 'utf8')) as { version: string }
).version;
/** Base URI under which the schema files are registered with ajv (their `$ref`s resolve against it). */
export const SCHEMA_BASE = 'https://procode.example/contracts/schemas/';

export type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'patch' | 'head' | 'options' | 'trace';
const METHODS: readonly HttpMethod[] = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/** A JSON Schema as it appears in the contract (after reference rewriting). */
export type Schema = Record<string, unknown>;

/** One parameter of an operation (OpenAPI 3.1 section 4.8.12). */
export interface ParameterSpec {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: Schema;
}

/** One declared response: its media types (with their schema) and headers. */
export interface ResponseSpec {
  status: number;
  description: string;
  /** Media type -> schema, first example, and every named example (`examples`, by name). */
  content: Map<string, { schema?: Schema; example?: unknown; examples: Map<string, unknown> }>;
  /** Header name -> whether required, its schema and an example value (for answers made up from the contract). */
  headers: Map<string, { required: boolean; schema?: Schema; example?: unknown }>;
}

/** One operation of the contract, keyed by its operationId. */
export interface OperationSpec {
  operationId: string;
  method: HttpMethod;
  /** The OpenAPI path template, e.g. `/api/energy/premises/{premiseId}`. */
  path: string;
  summary: string;
  tags: string[];
  parameters: ParameterSpec[];
  requestBody?: { required: boolean; content: Map<string, { schema?: Schema }> };
  responses: Map<number, ResponseSpec>;
  /** Alternatives of security requirements: each a list of scheme names that must all hold. */
  security: string[][];
  /** True when some alternative requires a bearer token. */
  requiresBearer: boolean;
}

/** The whole contract: the raw document, its operations and its schema files. */
export interface Contract {
  document: Record<string, unknown>;
  operations: OperationSpec[];
  byId: Map<string, OperationSpec>;
  /** Schema files by their registered URI (`SCHEMA_BASE` + file name). */
  schemaFiles: Map<string, Schema>;
  securitySchemes: Record<string, Record<string, unknown>>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Follows an internal JSON Pointer (`#/components/...`) in `doc`. */
function lookup(doc: Record<string, unknown>, ref: string): unknown {
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(node) || !(token in node)) throw new Error(`Unresolvable $ref ${ref} in the contract`);
    node = node[token];
  }
  return node;
}

/**
 * Inlines internal references and turns file references (`./schemas/x.json`) into absolute URIs that
 * ajv knows, so each operation's schemas stand on their own.
 */
function resolveRefs(doc: Record<string, unknown>, node: unknown, seen: string[] = []): unknown {
  if (Array.isArray(node)) return node.map((n) => resolveRefs(doc, n, seen));
  if (!isObject(node)) return node;
  const ref = node.$ref;
  if (typeof ref === 'string') {
    if (ref.startsWith('#/')) {
      if (seen.includes(ref)) throw new Error(`Circular $ref ${ref} in the contract`);
      const target = resolveRefs(doc, lookup(doc, ref), [...seen, ref]);
      const siblings = Object.fromEntries(Object.entries(node).filter(([k]) => k !== '$ref'));
      return Object.keys(siblings).length ? { ...(target as object), ...siblings } : target;
    }
    const file = ref.replace(/^\.\//, '').replace(/^schemas\//, '');
    return { ...node, $ref: SCHEMA_BASE + file };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    // An example is data, not schema: keep it verbatim (named `examples` may still be `$ref`s).
    out[k] = k === 'example' ? v : resolveRefs(doc, v, seen);
  }
  return out;
}

/** A media type's `example`, or the value of its first named `examples` entry. */
function firstExample(media: Record<string, unknown>): unknown {
  if (media.example !== undefined) return media.example;
  const first = isObject(media.examples) ? Object.values(media.examples)[0] : undefined;
  return isObject(first) ? first.value : undefined;
}

function toMap<T>(obj: unknown, f: (value: Record<string, unknown>, key: string) => T): Map<string, T> {
  const m = new Map<string, T>();
  if (isObject(obj)) for (const [k, v] of Object.entries(obj)) if (isObject(v)) m.set(k, f(v, k));
  return m;
}

/**
 * Where parsed contracts are kept as JSON between runs: the usual cache folder of a package
 * (`node_modules/.cache/<name>`), ignored by git and left out of the image's copy of the sources.
 */
const PARSE_CACHE_DIR = join(CONTRACT_DIR, '..', 'node_modules', '.cache', 'procode-mock');

/**
 * A YAML document, parsed. Parsing the contract with `yaml` took a third of the mock's start-up, so the
 * result is kept as JSON under the SHA-256 of the text: a later start with the same text reads the JSON
 * (an edited contract has another hash, so it is parsed afresh). A cache that cannot be written (a
 * read-only install) is skipped.
 */
function readYaml(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 32);
  const cached = join(PARSE_CACHE_DIR, `${basename(path)}.${hash}.json`);
  if (existsSync(cached)) {
    try {
      return JSON.parse(readFileSync(cached, 'utf8'));
    } catch {
      // A torn or foreign file: parse the YAML instead.
    }
  }
  // Loaded only on a miss: with the cache warm, the YAML parser is not even read from disk.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const document: unknown = (require('yaml') as typeof import('yaml')).parse(text);
  try {
    mkdirSync(PARSE_CACHE_DIR, { recursive: true });
    // Written whole and renamed, so a reader in another process never sees half a file.
    const partial = `${cached}.${process.pid}.tmp`;
    writeFileSync(partial, JSON.stringify(document));
    renameSync(partial, cached);
    // Earlier versions of this document are of no more use.
    for (const old of readdirSync(PARSE_CACHE_DIR))
      if (
        old.startsWith(`${basename(path)}.`) &&
        old.endsWith('.json') &&
        join(PARSE_CACHE_DIR, old) !== cached
      )
        rmSync(join(PARSE_CACHE_DIR, old), { force: true });
  } catch {
    // Not writable here (a read-only install): parse every time.
  }
  return document;
}

/**
 * Reads a contract of `dir` (the Procode API's `procode.openapi.yaml` unless `file` names another, such
 * as the mock's own `admin.openapi.yaml`) and every `schemas/*.json` beside it.
 * @param dir the contracts folder (default: this repository's).
 * @param file the OpenAPI document's file name in `dir`.
 * @throws Error when the document is not OpenAPI 3.1 or a `$ref` does not resolve.
 */
export function loadContract(dir: string = CONTRACT_DIR, file: string = 'procode.openapi.yaml'): Contract {
  const document = readYaml(join(dir, file)) as Record<string, unknown>;
  if (typeof document.openapi !== 'string' || !document.openapi.startsWith('3.1')) {
    throw new Error('The contract must be an OpenAPI 3.1 document');
  }
  const schemaFiles = new Map<string, Schema>();
  for (const file of readdirSync(join(dir, 'schemas'))
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    schemaFiles.set(
      SCHEMA_BASE + file,
      JSON.parse(readFileSync(join(dir, 'schemas', file), 'utf8')) as Schema,
    );
  }
  const components = isObject(document.components) ? document.components : {};
  const securitySchemes = (resolveRefs(document, components.securitySchemes ?? {}) ?? {}) as Record<
    string,
    Record<string, unknown>
  >;
  const globalSecurity = Array.isArray(document.security) ? document.security : [];
  const operations: OperationSpec[] = [];
  const paths = isObject(document.paths) ? document.paths : {};
  for (const [path, rawItem] of Object.entries(paths)) {
    const item = resolveRefs(document, rawItem) as Record<string, unknown>;
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      if (typeof op.operationId !== 'string')
        throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
      const params = new Map<string, ParameterSpec>();
      for (const p of [...shared, ...(Array.isArray(op.parameters) ? op.parameters : [])]) {
        if (!isObject(p)) continue;
        const spec: ParameterSpec = {
          name: String(p.name),
          in: p.in as ParameterSpec['in'],
          required: p.required === true,
          schema: isObject(p.schema) ? p.schema : {},
        };
        params.set(`${spec.in}:${spec.name.toLowerCase()}`, spec);
      }
      const body = isObject(op.requestBody) ? op.requestBody : undefined;
      const security = (Array.isArray(op.security) ? op.security : globalSecurity)
        .filter(isObject)
        .map((alt) => Object.keys(alt));
      const responses = new Map<number, ResponseSpec>();
      for (const [code, r] of Object.entries(isObject(op.responses) ? op.responses : {})) {
        if (!/^\d{3}$/.test(code) || !isObject(r)) continue;
        responses.set(Number(code), {
          status: Number(code),
          description: String(r.description ?? ''),
          content: toMap(r.content, (m) => ({
            schema: isObject(m.schema) ? m.schema : undefined,
            example: firstExample(m),
            examples: toMap(m.examples, (e) => e.value),
          })),
          headers: toMap(r.headers, (h) => ({
            required: h.required === true,
            schema: isObject(h.schema) ? h.schema : undefined,
            example: firstExample(h),
          })),
        });
      }
      operations.push({
        operationId: op.operationId,
        method,
        path,
        summary: String(op.summary ?? ''),
        tags: Array.isArray(op.tags) ? op.tags.map(String) : [],
        parameters: [...params.values()],
        requestBody: body
          ? {
              required: body.required === true,
              content: toMap(body.content, (m) => ({ schema: isObject(m.schema) ? m.schema : undefined })),
            }
          : undefined,
        responses,
        security,
        requiresBearer: security.some((alt) =>
          alt.some((name) => {
            const scheme = securitySchemes[name];
            // RFC 6750 bearer tokens: an http bearer scheme, or OAuth2 / OpenID Connect access tokens.
            return (
              (scheme?.type === 'http' && String(scheme.scheme).toLowerCase() === 'bearer') ||
              scheme?.type === 'oauth2' ||
              scheme?.type === 'openIdConnect'
            );
          }),
        ),
      });
    }
  }
  return {
    document,
    operations,
    byId: new Map(operations.map((o) => [o.operationId, o])),
    schemaFiles,
    securitySchemes,
  };
}
