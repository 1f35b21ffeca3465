import type { OpenApiDocument } from './source';

/** A path into a document: object keys and array indices (api-smart-diff's `JsonPath`). */
export type Path = (string | number)[];

/** Whether a JSON value is an object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 6901: `~` -> `~0`, `/` -> `~1`. */
export function pointerOf(path: Path): string {
  return path.map((t) => '/' + String(t).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** Follows an internal reference (`#/components/schemas/X`); undefined when it does not resolve. */
function follow(doc: OpenApiDocument, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node)) node = node[token];
    else return undefined;
  }
  return node;
}

/** Keywords whose values are merged, not replaced, when schemas are combined. */
function mergeInto(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    if (key === 'properties' && isObject(value) && isObject(target.properties)) {
      target.properties = { ...target.properties, ...value };
    } else if (key === 'required' && Array.isArray(value) && Array.isArray(target.required)) {
      target.required = [...new Set([...(target.required as unknown[]), ...value])];
    } else target[key] = value;
  }
}

/**
 * A node as api-smart-diff sees it: `$ref`s followed (3.1 sibling keywords kept) and `allOf` members merged
 * into one schema, since the library compares merged schemas and reports paths through them.
 */
export function normalize(doc: OpenApiDocument, node: unknown, depth = 0): unknown {
  if (depth > 32 || !isObject(node)) return node;
  let current: Record<string, unknown> = node;
  if (typeof current.$ref === 'string') {
    const { $ref, ...siblings } = current;
    const target = normalize(doc, follow(doc, $ref as string), depth + 1);
    if (!isObject(target)) return Object.keys(siblings).length ? siblings : target;
    current = { ...target, ...siblings };
  }
  if (Array.isArray(current.allOf)) {
    const { allOf, ...rest } = current;
    const merged: Record<string, unknown> = {};
    for (const member of allOf as unknown[]) {
      const m = normalize(doc, member, depth + 1);
      if (isObject(m)) mergeInto(merged, m);
    }
    mergeInto(merged, rest);
    current = merged;
  }
  return current;
}

/**
 * The node at `path` below `root`, read as api-smart-diff reads it: references followed, `allOf` merged,
 * and a `oneOf`/`anyOf` branch seen with its parent's sibling keywords (the library copies them into
 * each branch). Undefined when the path does not exist.
 */
export function nodeAt(doc: OpenApiDocument, root: unknown, path: Path): unknown {
  let node = normalize(doc, root);
  for (let i = 0; i < path.length; i++) {
    const token = path[i]!;
    if ((token === 'oneOf' || token === 'anyOf') && i + 1 < path.length && isObject(node)) {
      const branches = node[token];
      const branch = Array.isArray(branches) ? normalize(doc, branches[Number(path[i + 1])]) : undefined;
      if (!isObject(branch)) return undefined;
      const parent: Record<string, unknown> = { ...node };
      delete parent.oneOf;
      delete parent.anyOf;
      delete parent.discriminator;
      mergeInto(parent, branch);
      node = parent;
      i++;
      continue;
    }
    if (Array.isArray(node)) node = normalize(doc, node[Number(token)]);
    else if (isObject(node)) node = normalize(doc, node[String(token)]);
    else return undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

/** Schema keywords whose value is one subschema. */
const SUBSCHEMA = new Set([
  'items',
  'additionalProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'additionalItems',
  'not',
  'contains',
  'propertyNames',
  'if',
  'then',
  'else',
  'contentSchema',
]);
/** Schema keywords whose value is an array of subschemas. */
const SUBSCHEMA_ARRAY = new Set(['prefixItems', 'allOf', 'anyOf', 'oneOf']);
/** Schema keywords whose value is a map of subschemas. */
const SUBSCHEMA_MAP = new Set([
  'properties',
  'patternProperties',
  '$defs',
  'definitions',
  'dependentSchemas',
]);

/** A path inside a schema, split at the schema node that holds the changed keyword. */
export interface SchemaSplit {
  /** Path from the schema root to the node that holds the change. */
  node: Path;
  /** The changed keyword of that node (`maxLength`, `enum`, `properties`...); undefined when the whole node changed. */
  keyword?: string;
  /** What follows the keyword: a property name, an enum index, a branch index... */
  rest: Path;
  /** Human name of the node: `items[].uprn`, `AppliedPayment.utrn`; empty at the root. */
  field: string;
}

/**
 * Splits a path inside a schema (as api-smart-diff reports it) into the schema node, the changed keyword
 * and the rest, naming the node after the fields it is reached through.
 * @param doc the document, to name `oneOf` branches by their `title`.
 * @param root the schema the path starts from.
 */
export function splitSchemaPath(doc: OpenApiDocument, root: unknown, path: Path): SchemaSplit {
  const node: Path = [];
  let field = '';
  const join = (part: string): void => {
    field = field === '' ? part.replace(/^\./, '') : field + part;
  };
  let i = 0;
  while (i < path.length) {
    const t = String(path[i]);
    const hasKey = i + 1 < path.length;
    if (SUBSCHEMA_MAP.has(t) && hasKey) {
      if (i + 2 === path.length) return { node, keyword: t, rest: [path[i + 1]!], field };
      const key = String(path[i + 1]);
      node.push(t, key);
      join(t === 'properties' ? `.${key}` : `.(${t} ${key})`);
      i += 2;
    } else if (SUBSCHEMA_ARRAY.has(t) && hasKey) {
      if (i + 2 === path.length) return { node, keyword: t, rest: [path[i + 1]!], field };
      const index = path[i + 1]!;
      node.push(t, index);
      if (t === 'prefixItems') join(`[${index}]`);
      else if (t !== 'allOf') {
        const branch = nodeAt(doc, root, node);
        const title = isObject(branch) && typeof branch.title === 'string' ? branch.title : `${t}[${index}]`;
        join(`.(${title})`);
      }
      i += 2;
    } else if (SUBSCHEMA.has(t) && hasKey) {
      node.push(t);
      join(t === 'items' ? '[]' : `.(${t})`);
      i += 1;
    } else {
      return { node, keyword: t, rest: path.slice(i + 1), field };
    }
  }
  return { node, keyword: undefined, rest: [], field };
}
