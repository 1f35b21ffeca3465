import type Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { DOMAIN_FORMATS } from '../fixtures/domain/formats';
import type { Contract, Schema } from './load';
import type { FieldError } from './pointer';
import { pointer } from './pointer';

/** OpenAPI 3.1 keywords that are not JSON Schema vocabulary; ajv's strict mode must be told of them. */
const OPENAPI_KEYWORDS = ['example', 'discriminator', 'xml', 'externalDocs'];

/**
 * An ajv instance (JSON Schema 2020-12, strict, all errors, formats on) that knows every schema file of
 * the contract and the domain formats (`mpan-core`, `mprn`, `utrn`).
 * @param coerce true for parameters, which arrive as strings; bodies are never coerced (`"100"` is not a number).
 */
export function createAjv(contract: Contract, coerce: boolean): Ajv2020 {
  // Loaded on first use (the first request, or a harness run), not at the mock's start-up.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const Ajv = (require('ajv/dist/2020') as typeof import('ajv/dist/2020')).default;
  const addFormats = (require('ajv-formats') as typeof import('ajv-formats')).default;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const ajv = new Ajv({
    strict: true,
    allErrors: true,
    coerceTypes: coerce,
    useDefaults: coerce,
    validateFormats: true,
    // if/then branches in the contract need their own types; the contract declares them.
    allowUnionTypes: true,
  });
  addFormats(ajv);
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && Math.abs(n) < 2 ** 31,
  });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  for (const [name, check] of Object.entries(DOMAIN_FORMATS)) ajv.addFormat(name, check);
  ajv.addVocabulary(OPENAPI_KEYWORDS);
  for (const [uri, schema] of contract.schemaFiles) ajv.addSchema(schema, uri);
  return ajv;
}

export type { ValidateFunction };

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
    case 'unevaluatedProperties':
      return 'is not a known field; remove it';
    case 'type':
      return `must be ${String(p.type).replace(/,/g, ' or ')}`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `must be ${JSON.stringify(p.allowedValue)}`;
    case 'pattern':
      return `must match the pattern ${String(p.pattern)}`;
    case 'format':
      return `must be a valid ${String(p.format)}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${String(p.comparison)} ${String(p.limit)}`;
    case 'minLength':
      return `must be at least ${String(p.limit)} characters long`;
    case 'maxLength':
      return `must be at most ${String(p.limit)} characters long`;
    case 'minItems':
      return `must have at least ${String(p.limit)} items`;
    case 'maxItems':
      return `must have at most ${String(p.limit)} items`;
    case 'not':
      return 'is not allowed here';
    default:
      return e.message ?? 'is not valid';
  }
}

/** Splits an ajv instancePath (`/address/postcode`, RFC 6901) into unescaped tokens. */
export function pointerTokens(instancePath: string): string[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Turns ajv errors into RFC 9457 `errors[]` items, one per violated field, pointing at the field itself
 * (a missing or unknown property gets its own pointer). Summary errors of `if`/`oneOf` are dropped when a
 * more precise error names the same place.
 * @param where which part of the request the pointers refer to.
 */
export function toFieldErrors(
  errors: readonly ErrorObject[] | null | undefined,
  where: FieldError['in'],
): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  const precise = (errors ?? []).filter((e) => !['if', 'oneOf', 'anyOf', 'allOf'].includes(e.keyword));
  // A value that breaks several keywords gets one item: the most telling (the wrong type first, then
  // format, which names the kind of value; a pattern is the least readable), stably.
  const rank = (e: ErrorObject): number =>
    e.keyword === 'type' ? -1 : e.keyword === 'format' ? 0 : e.keyword === 'pattern' ? 2 : 1;
  const list = (precise.length ? precise : (errors ?? [])).slice().sort((a, b) => rank(a) - rank(b));
  for (const e of list) {
    const path = pointerTokens(e.instancePath);
    const p = e.params as Record<string, unknown>;
    if (e.keyword === 'required') path.push(String(p.missingProperty));
    if (e.keyword === 'additionalProperties') path.push(String(p.additionalProperty));
    if (e.keyword === 'unevaluatedProperties') path.push(String(p.unevaluatedProperty));
    const ptr = pointer(where === 'header' ? path.map((t) => t.toLowerCase()) : path);
    const detail = describe(e);
    // One item per field: a value that breaks both its pattern and its format needs one fix.
    if (seen.has(ptr)) continue;
    seen.add(ptr);
    out.push({ in: where, pointer: ptr, detail });
  }
  return out;
}

/** Compiles `schema` (a contract schema, possibly a `$ref` to a schema file). */
export function compile(ajv: Ajv2020, schema: Schema): ValidateFunction {
  return ajv.compile(schema);
}
