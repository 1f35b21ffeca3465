import type { Diff } from 'api-smart-diff';
import { isObject, nodeAt, normalize, pointerOf, splitSchemaPath } from './schema';
import type { Path, SchemaSplit } from './schema';
import type { OpenApiDocument } from './source';
import { CLASSIFICATIONS } from './types';
import type {
  ChangeKind,
  Classification,
  ContractChange,
  ContractDiff,
  Direction,
  OperationRef,
} from './types';

type Action = ContractChange['action'];

/** The two documents being compared, and path templates api-smart-diff matched under another name. */
interface Docs {
  before: OpenApiDocument;
  after: OpenApiDocument;
  /** Old path template -> new one (`/a/{id}` -> `/a/{itemId}`): the library reports changes under the old one. */
  renamed: Map<string, string>;
}

/** A classified change before duplicates are folded together. */
interface Draft extends ContractChange {
  /** Changes with the same key are one change (the values of an enum that appears or goes, a type array). */
  foldKey?: string;
  /** For a field added or removed: the key its `required` entry would have, so that entry is folded in. */
  fieldKey?: string;
  /** For a `required` entry added or removed: see `fieldKey`. */
  requiredKey?: string;
}

/** Where a schema sits in an operation, and from which side consumers meet it. */
interface SchemaPlace {
  direction: 'request' | 'response';
  /** `request body (application/json)`, `query parameter limit`, `response 200 header X-Request-ID`. */
  context: string;
  /** Whether the schema is a parameter's (a query string accepts any scalar as text). */
  parameter: boolean;
  /** Path from the document root to the schema, in the old and the new document. */
  beforeRoot: Path;
  afterRoot: Path;
  /** Path inside the schema. */
  inner: Path;
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
const UPPER_BOUNDS = new Set([
  'maxLength',
  'maximum',
  'exclusiveMaximum',
  'maxItems',
  'maxProperties',
  'maxContains',
]);
const LOWER_BOUNDS = new Set([
  'minLength',
  'minimum',
  'exclusiveMinimum',
  'minItems',
  'minProperties',
  'minContains',
]);
const ANNOTATIONS = new Set([
  'description',
  'title',
  'examples',
  'example',
  '$comment',
  'externalDocs',
  'summary',
]);

/** A Markdown code span that survives backticks in its text. */
export function code(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

/** Renders a value for a one-line description: JSON in a code span, cut at 80 characters. */
export function show(value: unknown): string {
  if (value === undefined) return '(none)';
  const text = JSON.stringify(value) ?? String(value);
  return code(text.length > 80 ? text.slice(0, 77) + '...' : text);
}

function verb(action: Action): string {
  return action === 'add'
    ? 'added'
    : action === 'remove'
      ? 'removed'
      : action === 'rename'
        ? 'renamed'
        : 'changed';
}

/** The parameters api-smart-diff sees for an operation: its own, then its path item's (its own merge order). */
function mergedParameters(
  doc: OpenApiDocument,
  template: string,
  method: string,
): { param: Record<string, unknown>; path: Path }[] {
  const item = normalize(doc, (doc.paths as Record<string, unknown> | undefined)?.[template]);
  if (!isObject(item)) return [];
  const op = normalize(doc, item[method]);
  const list: { param: Record<string, unknown>; path: Path }[] = [];
  const add = (params: unknown, path: Path): void => {
    if (!Array.isArray(params)) return;
    params.forEach((p, i) => {
      const param = normalize(doc, p);
      if (isObject(param)) list.push({ param, path: [...path, i] });
    });
  };
  if (isObject(op)) add(op.parameters, ['paths', template, method, 'parameters']);
  add(item.parameters, ['paths', template, 'parameters']);
  return list;
}

function findParameter(
  doc: OpenApiDocument,
  template: string,
  method: string,
  like: unknown,
): { param: Record<string, unknown>; path: Path } | undefined {
  const wanted = normalize(doc, like);
  if (!isObject(wanted)) return undefined;
  return mergedParameters(doc, template, method).find(
    (p) =>
      p.param.in === wanted.in && String(p.param.name).toLowerCase() === String(wanted.name).toLowerCase(),
  );
}

function operationRef(doc: OpenApiDocument, template: string, method: string): OperationRef | undefined {
  const item = normalize(doc, (doc.paths as Record<string, unknown> | undefined)?.[template]);
  const op = isObject(item) ? normalize(doc, item[method]) : undefined;
  if (!isObject(op)) return undefined;
  return {
    operationId: typeof op.operationId === 'string' ? op.operationId : '(no operationId)',
    method: method.toUpperCase(),
    path: template,
  };
}

/** Type names a schema accepts (`integer` counts as a kind of `number`); undefined for "any type". */
function typeSet(schema: unknown): Set<string> | undefined {
  if (!isObject(schema) || schema.type === undefined) return undefined;
  return new Set(Array.isArray(schema.type) ? schema.type.map(String) : [String(schema.type)]);
}

function accepts(types: Set<string> | undefined, type: string, parameter: boolean): boolean {
  if (types === undefined) return true;
  if (types.has(type)) return true;
  if (type === 'integer' && types.has('number')) return true;
  // A parameter arrives as text: a string parameter accepts whatever a scalar one did.
  return parameter && types.has('string') && ['integer', 'number', 'boolean'].includes(type);
}

/** Whether a change lets more values through, fewer, or different ones. */
type Effect = 'narrowed' | 'widened' | 'changed';

/** Whether the new type set admits more values, fewer, or different ones. */
function typeEffect(
  before: Set<string> | undefined,
  after: Set<string> | undefined,
  parameter: boolean,
): Effect {
  const covers = (a: Set<string> | undefined, b: Set<string> | undefined): boolean =>
    a === undefined || (b !== undefined && [...b].every((t) => accepts(a, t, parameter)));
  if (covers(after, before)) return 'widened';
  if (covers(before, after)) return 'narrowed';
  return 'changed';
}

/** The classification of a change to the set of values a schema admits, by direction. */
function byEffect(
  direction: 'request' | 'response',
  effect: Effect,
  responseChanged: Classification = 'potentially-breaking',
): Classification {
  if (direction === 'request') return effect === 'widened' ? 'non-breaking' : 'breaking';
  if (effect === 'narrowed') return 'non-breaking';
  return effect === 'widened' ? 'potentially-breaking' : responseChanged;
}

/** A bound keyword's effect: `maxLength` 100 -> 50 narrows, a `pattern` added narrows, one removed widens. */
function boundEffect(keyword: string, action: Action, before: unknown, after: unknown): Effect {
  if (action === 'add') return 'narrowed';
  if (action === 'remove') return 'widened';
  if (typeof before === 'boolean' || typeof after === 'boolean') {
    // OpenAPI 3.0's boolean exclusiveMinimum/Maximum, uniqueItems.
    return after === true ? 'narrowed' : 'widened';
  }
  if (typeof before === 'number' && typeof after === 'number') {
    if (UPPER_BOUNDS.has(keyword)) return after < before ? 'narrowed' : 'widened';
    if (LOWER_BOUNDS.has(keyword)) return after > before ? 'narrowed' : 'widened';
    if (keyword === 'multipleOf') {
      if (before % after === 0) return 'widened';
      if (after % before === 0) return 'narrowed';
    }
  }
  return 'changed';
}

/**
 * Classifies a change inside a request or response schema by this project's policy; undefined leaves it
 * to api-smart-diff (keywords the policy does not cover: `default`, `discriminator`, `readOnly`...).
 */
function schemaChange(
  docs: Docs,
  place: SchemaPlace,
  diff: Diff,
): Omit<Draft, 'operation' | 'pointer' | 'libraryType' | 'direction'> | undefined {
  const { direction } = place;
  const beforeRoot = nodeAt(docs.before, docs.before, place.beforeRoot);
  const afterRoot = nodeAt(docs.after, docs.after, place.afterRoot);
  const split: SchemaSplit = splitSchemaPath(
    diff.action === 'add' ? docs.after : docs.before,
    diff.action === 'add' ? afterRoot : beforeRoot,
    place.inner,
  );
  const { keyword, rest } = split;
  const action = diff.action;
  const beforeNode = nodeAt(docs.before, beforeRoot, split.node);
  const afterNode = nodeAt(docs.after, afterRoot, split.node);
  const nodeKey = `${place.context}|${pointerOf(split.node)}`;
  const where = (name = split.field): string => (name ? `${place.context} \`${name}\`` : place.context);
  const base = { action, before: diff.before, after: diff.after };
  const values = `${show(diff.before)} → ${show(diff.after)}`;

  if (keyword === 'properties' && rest.length === 1 && action !== 'replace') {
    const name = String(rest[0]);
    const field = split.field ? `${split.field}.${name}` : name;
    const fieldKey = `${nodeKey}|${name}|${action}`;
    if (action === 'remove') {
      const wasRequired =
        isObject(beforeNode) && Array.isArray(beforeNode.required) && beforeNode.required.includes(name);
      const closed =
        !isObject(beforeNode) ||
        beforeNode.additionalProperties === false ||
        beforeNode.unevaluatedProperties === false;
      const classification: Classification = direction === 'response' || closed ? 'breaking' : 'non-breaking';
      const why =
        direction === 'response'
          ? ''
          : closed
            ? '; the object is closed, so clients that still send it are rejected'
            : '; the object is open, so it is ignored if sent';
      return {
        ...base,
        kind: 'field-removed',
        classification,
        description: `${where()}: field \`${field}\` removed${wasRequired ? ' (it was required)' : ''}${why}`,
        fieldKey,
      };
    }
    const required =
      isObject(afterNode) && Array.isArray(afterNode.required) && afterNode.required.includes(name);
    return {
      ...base,
      kind: 'field-added',
      classification: direction === 'request' && required ? 'breaking' : 'non-breaking',
      description: `${where()}: ${required ? 'required' : 'optional'} field \`${field}\` added`,
      fieldKey,
    };
  }

  if (keyword === 'required' && rest.length === 1) {
    if (action === 'replace') {
      return {
        ...base,
        kind: 'field-required',
        classification: 'breaking',
        description: `${where()}: required field ${show(diff.before)} replaced by ${show(diff.after)}`,
      };
    }
    const name = String(action === 'add' ? diff.after : diff.before);
    const field = split.field ? `${split.field}.${name}` : name;
    const madeRequired = action === 'add';
    return {
      ...base,
      kind: madeRequired ? 'field-required' : 'field-optional',
      // A request field made required breaks clients that omit it; a response field made optional breaks
      // consumers that read it unconditionally.
      classification: madeRequired === (direction === 'request') ? 'breaking' : 'non-breaking',
      description: `${where()}: field \`${field}\` made ${madeRequired ? 'required' : 'optional'}`,
      requiredKey: `${nodeKey}|${name}|${action}`,
    };
  }

  if (keyword === 'enum' || keyword === 'const') {
    // The library turns `const` into a one-value `enum` when the other side has an `enum`, and gives a
    // schema without `enum` an empty one: whether the values were limited at all is read from the documents.
    const limited = (node: unknown): boolean => isObject(node) && ('enum' in node || 'const' in node);
    if (keyword === 'const' && action === 'replace') {
      return {
        ...base,
        kind: 'enum-value-replaced',
        classification: 'breaking',
        description: `${where()}: constant value changed: ${values}`,
      };
    }
    if (keyword === 'const' || rest.length === 0) {
      const added = action === 'add';
      return {
        ...base,
        kind: added ? 'enum-added' : 'enum-dropped',
        classification: byEffect(direction, added ? 'narrowed' : 'widened'),
        description: `${where()}: ${added ? `now limited to ${show(diff.after)}` : `no longer limited to ${show(diff.before)}`}`,
      };
    }
    if (action === 'add' && !limited(beforeNode)) {
      const after = isObject(afterNode) ? (afterNode.enum ?? [afterNode.const]) : diff.after;
      return {
        ...base,
        after,
        kind: 'enum-added',
        classification: byEffect(direction, 'narrowed'),
        description: `${where()}: now limited to ${show(after)}`,
        foldKey: `enum|${nodeKey}`,
      };
    }
    if (action === 'remove' && !limited(afterNode)) {
      const before = isObject(beforeNode) ? (beforeNode.enum ?? [beforeNode.const]) : diff.before;
      return {
        ...base,
        before,
        kind: 'enum-dropped',
        classification: byEffect(direction, 'widened'),
        description: `${where()}: no longer limited to ${show(before)}`,
        foldKey: `enum|${nodeKey}`,
      };
    }
    if (action === 'add') {
      return {
        ...base,
        kind: 'enum-value-added',
        classification: direction === 'request' ? 'non-breaking' : 'potentially-breaking',
        description:
          `${where()}: enum value ${show(diff.after)} added` +
          (direction === 'response' ? ' (consumers that switch over the values may not handle it)' : ''),
      };
    }
    return {
      ...base,
      kind: action === 'remove' ? 'enum-value-removed' : 'enum-value-replaced',
      // A request value removed is rejected from now on; a response value removed breaks consumers' types
      // and the code that handles it.
      classification: 'breaking',
      description:
        action === 'remove'
          ? `${where()}: enum value ${show(diff.before)} removed`
          : `${where()}: enum value replaced: ${values}`,
    };
  }

  if (keyword === 'type') {
    const before = typeSet(beforeNode) ?? typeSet({ type: diff.before });
    const after = typeSet(afterNode) ?? typeSet({ type: diff.after });
    const effect = typeEffect(before, after, place.parameter);
    const list = (s: Set<string> | undefined): string => (s ? [...s].join(' | ') : 'any');
    return {
      ...base,
      before: isObject(beforeNode) ? beforeNode.type : diff.before,
      after: isObject(afterNode) ? afterNode.type : diff.after,
      kind: 'type-changed',
      // A value of another JSON type breaks a parser whichever way it travels, unless the request widened
      // or the response narrowed.
      classification:
        effect === (direction === 'request' ? 'widened' : 'narrowed') ? 'non-breaking' : 'breaking',
      description: `${where()}: type ${effect === 'changed' ? 'changed' : effect}: ${list(before)} → ${list(after)}`,
      foldKey: `type|${nodeKey}`,
    };
  }

  const bound =
    keyword !== undefined &&
    (UPPER_BOUNDS.has(keyword) ||
      LOWER_BOUNDS.has(keyword) ||
      ['pattern', 'format', 'multipleOf', 'uniqueItems', 'contentMediaType', 'contentEncoding'].includes(
        keyword,
      ) ||
      ((keyword === 'additionalProperties' || keyword === 'unevaluatedProperties') &&
        rest.length === 0 &&
        (diff.before === false || diff.after === false)));
  if (keyword !== undefined && bound && rest.length === 0) {
    let effect: Effect = boundEffect(keyword, action, diff.before, diff.after);
    if (keyword === 'additionalProperties' || keyword === 'unevaluatedProperties') {
      effect = diff.after === false ? 'narrowed' : 'widened';
    }
    const kind: ChangeKind =
      effect === 'narrowed' ? 'bound-narrowed' : effect === 'widened' ? 'bound-widened' : 'bound-changed';
    const how =
      action === 'replace' && (UPPER_BOUNDS.has(keyword) || LOWER_BOUNDS.has(keyword))
        ? (diff.after as number) > (diff.before as number)
          ? 'raised'
          : 'lowered'
        : verb(action);
    return {
      ...base,
      kind,
      classification: byEffect(direction, effect),
      description: `${where()}: \`${keyword}\` ${how}${action === 'replace' ? `: ${values}` : action === 'add' ? `: ${show(diff.after)}` : ''}`,
    };
  }

  if (keyword !== undefined && ANNOTATIONS.has(keyword) && rest.length <= 1) {
    return {
      ...base,
      kind: 'annotation',
      classification: 'annotation',
      description: `${where()}: \`${keyword}\` ${verb(action)}`,
    };
  }
  return undefined;
}

/** How a change inside a schema is placed for a reader: `response 200 (application/json) \`items[].uprn\``. */
function schemaContext(docs: Docs, place: SchemaPlace, diff: Diff): string {
  const doc = diff.action === 'add' ? docs.after : docs.before;
  const root = nodeAt(doc, doc, diff.action === 'add' ? place.afterRoot : place.beforeRoot);
  const { field } = splitSchemaPath(doc, root, place.inner);
  return field ? `${place.context} \`${field}\`` : place.context;
}

/** Fields common to every draft of one library diff. */
interface Located {
  direction: Direction;
  operation?: OperationRef;
  pointer: string;
}

/**
 * Classifies one api-smart-diff change. Returns no draft for changes under `components/` other than
 * security schemes: the library also reports each of those where an operation uses it, which is what a
 * consumer meets, so the component itself would only repeat it.
 */
function classify(docs: Docs, diff: Diff): Draft[] {
  const path = diff.path;
  const action = diff.action as Action;
  const lib = diff.type as Classification;
  const generic = (located: Located, context: string, kind: ChangeKind = 'other'): Draft => {
    const key = String(path[path.length - 1] ?? 'document');
    const values =
      action === 'replace' || action === 'rename'
        ? `: ${show(diff.before)} → ${show(diff.after)}`
        : action === 'add' && !isObject(diff.after)
          ? `: ${show(diff.after)}`
          : '';
    return {
      ...located,
      kind: lib === 'annotation' ? 'annotation' : kind,
      classification: lib,
      action,
      before: diff.before,
      after: diff.after,
      description: `${context ? context + ': ' : ''}\`${key}\` ${verb(action)}${values}`,
      libraryType: diff.type,
    };
  };

  if (path[0] === 'components' && path[1] !== 'securitySchemes') return [];
  if (path[0] === 'paths' && path.length === 1 && action === 'rename') {
    return [
      {
        direction: 'operation',
        pointer: '/paths',
        kind: 'other',
        classification: lib,
        action,
        before: diff.before,
        after: diff.after,
        description: `path template renamed: ${show(diff.before)} → ${show(diff.after)}`,
        libraryType: diff.type,
      },
    ];
  }
  if (path[0] !== 'paths' || path.length < 3 || !HTTP_METHODS.has(String(path[2]))) {
    const located: Located = { direction: 'document', pointer: pointerOf(path) };
    const change = generic(located, path.slice(0, -1).join('/'));
    if (['info', 'tags', 'externalDocs'].includes(String(path[0]))) {
      return [{ ...change, kind: 'annotation', classification: 'annotation' }];
    }
    if (path[0] === 'components' && path.length <= 3 && action !== 'replace') {
      // A scheme matters where an operation requires it, and a requirement added or removed is reported
      // there; the library calls any scheme added breaking.
      const names = path.length === 3 ? [String(path[2])] : keysOf(diff, action);
      return names.map((name) => ({
        ...change,
        pointer: pointerOf(['components', 'securitySchemes', name]),
        kind: 'other',
        classification: 'non-breaking',
        description: `security scheme \`${name}\` ${verb(action)}`,
      }));
    }
    return [change];
  }

  const template = String(path[1]);
  const method = String(path[2]);
  const afterTemplate = docs.renamed.get(template) ?? template;
  const operation =
    action === 'add'
      ? operationRef(docs.after, afterTemplate, method)
      : (operationRef(docs.before, template, method) ?? operationRef(docs.after, afterTemplate, method));
  const afterPath = (p: Path): Path => ['paths', afterTemplate, ...p.slice(2)];
  const rest = path.slice(3);
  const located = (direction: Direction, p: Path = path): Located => ({
    direction,
    operation,
    pointer: pointerOf(action === 'add' && p[1] === template ? afterPath(p) : p),
  });
  const draft = (
    direction: Direction,
    kind: ChangeKind,
    classification: Classification,
    description: string,
    p: Path = path,
  ): Draft => ({
    ...located(direction, p),
    kind,
    classification,
    action,
    before: diff.before,
    after: diff.after,
    description,
    libraryType: diff.type,
  });
  const schema = (place: SchemaPlace, p: Path = path): Draft[] => {
    const found = schemaChange(docs, place, diff);
    if (!found) return [generic(located(place.direction, p), schemaContext(docs, place, diff))];
    // A folded change (an enum that appears or goes, a type array) is located at its keyword, not an item.
    const at = found.foldKey && typeof p[p.length - 1] === 'number' ? p.slice(0, -1) : p;
    return [{ ...found, ...located(place.direction, at), libraryType: diff.type }];
  };

  // The operation itself.
  if (rest.length === 0) {
    if (action === 'add') return [draft('operation', 'operation-added', 'non-breaking', 'operation added')];
    if (action === 'remove')
      return [draft('operation', 'operation-removed', 'breaking', 'operation removed')];
  }
  const area = rest[0];
  if (area === 'operationId') {
    // The mock routes by operationId, generated clients and types name operations by it.
    return [
      draft(
        'operation',
        'operation-id-changed',
        'breaking',
        `operationId ${verb(action)}: ${show(diff.before)} → ${show(diff.after)}`,
      ),
    ];
  }

  if (area === 'parameters' && rest.length >= 2) {
    const index = Number(rest[1]);
    const whole = rest.length === 2;
    const found =
      whole && action === 'add'
        ? findParameter(docs.after, afterTemplate, method, diff.after)
        : whole && action === 'remove'
          ? findParameter(docs.before, template, method, diff.before)
          : mergedParameters(docs.before, template, method)[index];
    const param =
      found?.param ?? (isObject(diff.after) ? diff.after : isObject(diff.before) ? diff.before : {});
    const name = `${String(param.in ?? '?')} parameter \`${String(param.name ?? index)}\``;
    const realPath = found ? [...found.path, ...rest.slice(2)] : path;
    if (whole && action !== 'replace') {
      const required = param.required === true;
      return [
        draft(
          'request',
          action === 'add' ? 'parameter-added' : 'parameter-removed',
          lib,
          `${name} ${verb(action)}${required ? ' (required)' : ''}`,
          realPath,
        ),
      ];
    }
    if (rest[2] === 'schema') {
      const afterFound = findParameter(docs.after, afterTemplate, method, found?.param);
      return schema(
        {
          direction: 'request',
          context: name,
          parameter: true,
          beforeRoot: found ? [...found.path, 'schema'] : ['(unresolved)'],
          afterRoot: afterFound ? [...afterFound.path, 'schema'] : ['(unresolved)'],
          inner: rest.slice(3),
        },
        action === 'add' && afterFound ? [...afterFound.path, ...rest.slice(2)] : realPath,
      );
    }
    if (rest[2] === 'required' && rest.length === 3) {
      return [
        draft(
          'request',
          'parameter-changed',
          lib,
          `${name} made ${diff.after === true ? 'required' : 'optional'}`,
          realPath,
        ),
      ];
    }
    return [generic(located('request', realPath), name)];
  }

  if (area === 'requestBody') {
    const context = 'request body';
    if (rest.length === 1) return [draft('request', 'other', lib, `request body ${verb(action)}`)];
    if (rest[1] === 'required' && rest.length === 2) {
      return [
        draft('request', 'other', lib, `request body made ${diff.after === true ? 'required' : 'optional'}`),
      ];
    }
    if (rest[1] === 'content') {
      if (rest.length === 2 && action !== 'replace') {
        return keysOf(diff, action).map((media) =>
          draft(
            'request',
            action === 'add' ? 'media-type-added' : 'media-type-removed',
            action === 'add' ? 'non-breaking' : 'breaking',
            `${context}: media type \`${media}\` ${action === 'add' ? 'added' : 'dropped'}`,
            [...path, media],
          ),
        );
      }
      const media = String(rest[2]);
      if (rest.length === 3 && action !== 'replace') {
        return [
          draft(
            'request',
            action === 'add' ? 'media-type-added' : 'media-type-removed',
            action === 'add' ? 'non-breaking' : 'breaking',
            `${context}: media type \`${media}\` ${action === 'add' ? 'added' : 'dropped'}`,
          ),
        ];
      }
      if (rest[3] === 'schema') {
        const root: Path = ['paths', template, method, 'requestBody', 'content', media, 'schema'];
        return schema({
          direction: 'request',
          context: `${context} (${media})`,
          parameter: false,
          beforeRoot: root,
          afterRoot: afterPath(root),
          inner: rest.slice(4),
        });
      }
    }
    return [generic(located('request'), context)];
  }

  if (area === 'responses' && rest.length >= 2) {
    const status = String(rest[1]);
    const context = `response ${status}`;
    if (rest.length === 2 && action !== 'replace') {
      return [
        draft(
          'response',
          action === 'add' ? 'status-added' : 'status-removed',
          action === 'add' ? 'non-breaking' : 'breaking',
          `${context} ${action === 'add' ? 'added' : 'removed'}`,
        ),
      ];
    }
    if (rest[2] === 'content') {
      if (rest.length === 3 && action !== 'replace') {
        return keysOf(diff, action).map((media) =>
          draft(
            'response',
            action === 'add' ? 'media-type-added' : 'media-type-removed',
            action === 'add' ? 'non-breaking' : 'breaking',
            `${context}: media type \`${media}\` ${action === 'add' ? 'added' : 'dropped'}`,
            [...path, media],
          ),
        );
      }
      const media = String(rest[3]);
      if (rest.length === 4 && action !== 'replace') {
        return [
          draft(
            'response',
            action === 'add' ? 'media-type-added' : 'media-type-removed',
            action === 'add' ? 'non-breaking' : 'breaking',
            `${context}: media type \`${media}\` ${action === 'add' ? 'added' : 'dropped'}`,
          ),
        ];
      }
      if (rest[4] === 'schema') {
        const root: Path = ['paths', template, method, 'responses', status, 'content', media, 'schema'];
        return schema({
          direction: 'response',
          context: `${context} (${media})`,
          parameter: false,
          beforeRoot: root,
          afterRoot: afterPath(root),
          inner: rest.slice(5),
        });
      }
    }
    if (rest[2] === 'headers') {
      if (rest.length === 3 && action !== 'replace') {
        return keysOf(diff, action).map((header) =>
          headerDraft(draft, action, `${context}: header \`${header}\``, [...path, header]),
        );
      }
      const header = String(rest[3]);
      const hContext = `${context} header \`${header}\``;
      if (rest.length === 4 && action !== 'replace') return [headerDraft(draft, action, hContext, path)];
      if (rest[4] === 'required' && rest.length === 5) {
        const required = diff.after === true;
        return [
          draft(
            'response',
            required ? 'header-required' : 'header-optional',
            required ? 'non-breaking' : 'breaking',
            `${hContext} made ${required ? 'required' : 'optional'}`,
          ),
        ];
      }
      if (rest[4] === 'schema') {
        const root: Path = ['paths', template, method, 'responses', status, 'headers', header, 'schema'];
        return schema({
          direction: 'response',
          context: hContext,
          parameter: true,
          beforeRoot: root,
          afterRoot: afterPath(root),
          inner: rest.slice(5),
        });
      }
    }
    return [generic(located('response'), context)];
  }
  return [generic(located('operation'), '')];
}

/** The keys of a map added or removed whole (all media types of a body, all headers of a response, all security schemes). */
function keysOf(diff: Diff, action: Action): string[] {
  const value = action === 'add' ? diff.after : diff.before;
  return isObject(value) ? Object.keys(value) : [];
}

function headerDraft(
  draft: (d: Direction, k: ChangeKind, c: Classification, text: string, p?: Path) => Draft,
  action: Action,
  context: string,
  path: Path,
): Draft {
  return action === 'add'
    ? draft('response', 'header-added', 'non-breaking', `${context} added`, path)
    : draft('response', 'header-removed', 'breaking', `${context} removed`, path);
}

/** Folds what the library reports as several changes but a reader sees as one. */
function fold(drafts: Draft[]): ContractChange[] {
  const fieldKeys = new Set(drafts.map((d) => d.fieldKey).filter(Boolean));
  const seen = new Set<string>();
  const out: ContractChange[] = [];
  for (const d of drafts) {
    // A required field added or removed is also a `required` entry added or removed: one change.
    if (d.requiredKey && fieldKeys.has(d.requiredKey)) continue;
    if (d.foldKey) {
      if (seen.has(d.foldKey)) continue;
      seen.add(d.foldKey);
    }
    const change: Draft = { ...d };
    delete change.foldKey;
    delete change.fieldKey;
    delete change.requiredKey;
    out.push(change);
  }
  return out;
}

/**
 * Compares two bundled OpenAPI 3.x contracts and classifies each change for consumers. api-smart-diff
 * finds and matches the changes (operations, parameters by name, media types, `$ref`s followed,
 * `allOf` merged) and classifies what this project's policy does not cover; the policy decides
 * operations, statuses, media types, fields, enum values, types and bounds by direction (a request
 * narrowed breaks clients, a response narrowed does not). See docs/decisions.md, "Contract diff".
 * @param before the old contract (swagger-parser bundle: internal `$ref`s only).
 * @param after the new contract.
 * @param labels how to name the two sides in the result.
 */
export async function diffContracts(
  before: OpenApiDocument,
  after: OpenApiDocument,
  labels: { old: string; new: string } = { old: 'old', new: 'new' },
): Promise<ContractDiff> {
  // Loaded here, not at the top: `procode-mock serve` imports the harness CLI and need not load it.
  const { apiDiff } = await import('api-smart-diff');
  const docs: Docs = { before: structuredClone(before), after: structuredClone(after), renamed: new Map() };
  const diffs = apiDiff(structuredClone(before), structuredClone(after));
  for (const d of diffs) {
    if (d.path.length === 1 && d.path[0] === 'paths' && d.action === 'rename') {
      docs.renamed.set(String(d.before), String(d.after));
    }
  }
  const changes = fold(diffs.flatMap((d) => classify(docs, d)));
  const rank = (c: ContractChange): number => CLASSIFICATIONS.indexOf(c.classification);
  const sorted = changes.map((c, i) => ({ c, i })).sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i);
  const summary = Object.fromEntries(CLASSIFICATIONS.map((k) => [k, 0])) as Record<Classification, number>;
  for (const c of changes) summary[c.classification]++;
  return { old: labels.old, new: labels.new, changes: sorted.map((s) => s.c), summary };
}
