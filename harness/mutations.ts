import type { Contract, Schema } from '../contract-kit';
import { SCHEMA_BASE } from '../contract-kit';
import { pointer as toPointer } from '../contract-kit';

/** One generated way to break a request, and where the answer's `errors[]` must point. */
export interface Mutation {
  /** e.g. `#/amountPence below minimum 100`. */
  label: string;
  /** The JSON Pointer (URI fragment form) of the broken field. */
  pointer: string;
  /** Applies the mutation to a copy of a valid value. */
  apply: (valid: Record<string, unknown>) => Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Resolves a contract schema for case generation: follows `$ref`s into the schema files, merges `allOf`,
 * and takes the `then` (or `else`) branch of an `if` whose `const`/`enum` conditions the sample meets.
 */
export function resolveSchema(
  contract: Contract,
  schema: Schema,
  sample: unknown,
  base = SCHEMA_BASE,
): Schema {
  let s: Schema = schema;
  let at = base;
  for (let hops = 0; typeof s.$ref === 'string' && hops < 16; hops++) {
    const uri = new URL(s.$ref, at).href;
    const target = contract.schemaFiles.get(uri);
    if (!target) throw new Error(`Cannot resolve ${s.$ref}`);
    s = target;
    at = uri;
  }
  let merged: Schema = {
    ...s,
    properties: { ...((s.properties as Schema) ?? {}) },
    required: [...((s.required as string[]) ?? [])],
  };
  const fold = (part: Schema): void => {
    const r = resolveSchema(contract, part, sample, at);
    Object.assign(merged.properties as Schema, (r.properties as Schema) ?? {});
    merged.required = [...new Set([...(merged.required as string[]), ...((r.required as string[]) ?? [])])];
    if (r.additionalProperties === false) merged.additionalProperties = false;
  };
  for (const part of (s.allOf as Schema[]) ?? []) fold(part);
  if (isObject(s.if)) {
    const cond = (s.if as Schema).properties as Record<string, Schema> | undefined;
    const holds =
      isObject(sample) &&
      Object.entries(cond ?? {}).every(([k, c]) =>
        'const' in c ? sample[k] === c.const : Array.isArray(c.enum) ? c.enum.includes(sample[k]) : true,
      );
    const branch = holds ? s.then : s.else;
    if (isObject(branch)) fold(branch);
  }
  // A property schema that is itself a $ref resolves lazily in the generator; keep the base with it.
  merged = { ...merged, $base: at };
  return merged;
}

const PATTERN_BREAKERS = ['!', '~not valid~', 'x', '0', ' '];

/** A string that does not match `pattern`, or undefined when every candidate matches. */
function breakPattern(pattern: string): string | undefined {
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'u');
  } catch {
    return undefined;
  }
  return PATTERN_BREAKERS.find((c) => !re.test(c));
}

function wrongTypeValue(schema: Schema): unknown {
  switch (schema.type) {
    case 'string':
      return 12345;
    case 'integer':
    case 'number':
      return '12';
    case 'boolean':
      return 'true';
    case 'array':
      return 'not-an-array';
    case 'object':
      return 'not-an-object';
    default:
      return undefined;
  }
}

function withValue(pointerTokens: string[], value: unknown, remove = false) {
  return (valid: Record<string, unknown>): Record<string, unknown> => {
    const copy = structuredClone(valid);
    let node: Record<string, unknown> = copy;
    for (const t of pointerTokens.slice(0, -1)) {
      if (!isObject(node[t])) node[t] = {};
      node = node[t] as Record<string, unknown>;
    }
    const last = pointerTokens[pointerTokens.length - 1]!;
    if (remove) delete node[last];
    else node[last] = value;
    return copy;
  };
}

/** The mutations of one value schema at `tokens` (type, bounds, enum, const, pattern, format). */
export function valueMutations(schema: Schema, tokens: string[], name = tokens.join('.')): Mutation[] {
  const out: Mutation[] = [];
  const pointer = toPointer(tokens);
  const add = (label: string, value: unknown): void => {
    out.push({ label: `${pointer} ${label}`, pointer, apply: withValue(tokens, value) });
  };
  const wrong = wrongTypeValue(schema);
  if (wrong !== undefined) add(`of the wrong type (${typeof wrong} for ${String(schema.type)})`, wrong);
  if (schema.type === 'integer') add('not an integer', 1.5);
  if (typeof schema.minimum === 'number') add(`below minimum ${schema.minimum}`, schema.minimum - 1);
  if (typeof schema.maximum === 'number') add(`above maximum ${schema.maximum}`, schema.maximum + 1);
  if (typeof schema.exclusiveMinimum === 'number')
    add(`at exclusiveMinimum ${schema.exclusiveMinimum}`, schema.exclusiveMinimum);
  if (typeof schema.exclusiveMaximum === 'number')
    add(`at exclusiveMaximum ${schema.exclusiveMaximum}`, schema.exclusiveMaximum);
  if (typeof schema.minLength === 'number' && schema.minLength > 0)
    add(`shorter than ${schema.minLength}`, 'a'.repeat(schema.minLength - 1));
  if (typeof schema.maxLength === 'number')
    add(`longer than ${schema.maxLength}`, 'a'.repeat(schema.maxLength + 1));
  if (Array.isArray(schema.enum)) add('not in the enum', '__NOT_IN_ENUM__');
  if ('const' in schema)
    add('not the constant', typeof schema.const === 'string' ? `${schema.const}_x` : '__NOT_CONST__');
  if (typeof schema.pattern === 'string') {
    const bad = breakPattern(schema.pattern);
    if (bad !== undefined) add(`not matching ${schema.pattern}`, bad);
  }
  if (typeof schema.format === 'string' && schema.type !== 'integer' && schema.type !== 'number') {
    add(`not a valid ${schema.format}`, `not-a-valid-${schema.format}-${name}`);
  }
  return out;
}

/**
 * Every generated mutation of a JSON body: each required field missing, each present field of the
 * wrong type and past each bound, an unknown field where the object is closed; nested objects too.
 * Only fields that are required or present in the valid sample are mutated (breaking an optional field
 * that is absent tests nothing the contract promises).
 */
export function bodyMutations(
  contract: Contract,
  schema: Schema,
  valid: Record<string, unknown>,
  prefix: string[] = [],
): Mutation[] {
  const resolved = resolveSchema(contract, schema, valid, (schema.$base as string) ?? SCHEMA_BASE);
  const base = resolved.$base as string;
  const props = (resolved.properties as Record<string, Schema>) ?? {};
  const required = (resolved.required as string[]) ?? [];
  const out: Mutation[] = [];
  for (const [name, rawProp] of Object.entries(props)) {
    const tokens = [...prefix, name];
    const pointer = toPointer(tokens);
    if (!(name in valid) && !required.includes(name)) continue;
    if (required.includes(name)) {
      out.push({
        label: `${pointer} missing (required)`,
        pointer,
        apply: withValue(tokens, undefined, true),
      });
    }
    const prop =
      typeof rawProp.$ref === 'string' ? resolveSchema(contract, rawProp, valid[name], base) : rawProp;
    if (prop.type === 'object' && isObject(valid[name])) {
      out.push(
        ...bodyMutations(contract, { ...prop, $base: base }, valid[name] as Record<string, unknown>, tokens),
      );
      const wrong = wrongTypeValue(prop);
      out.push({ label: `${pointer} of the wrong type`, pointer, apply: withValue(tokens, wrong) });
    } else {
      out.push(...valueMutations(prop, tokens, name));
    }
  }
  if (resolved.additionalProperties === false) {
    const tokens = [...prefix, 'unexpectedField'];
    out.push({
      label: `${toPointer(tokens)} unknown field`,
      pointer: toPointer(tokens),
      apply: withValue(tokens, 'x'),
    });
  }
  return out;
}
