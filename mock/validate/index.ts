import type { Request } from 'express';
import type { CompiledOperation } from '../../contract-kit';
import { toFieldErrors } from '../../contract-kit';
import type { FieldError } from '../problem';
import { pointer } from '../problem';
import { PROBLEMS, problem } from '../problem';
import { SUBSCRIPTION_KEY_QUERY } from '../gateway';

/** The request's parts after validation, with parameters coerced to their declared types and defaults applied. */
export interface ValidatedRequest {
  path: Record<string, unknown>;
  query: Record<string, unknown>;
  headers: Record<string, unknown>;
  body: unknown;
}

/** At most this many items in `errors[]`; a hostile body with thousands of faults gets a bounded answer. */
export const MAX_ERRORS = 100;

/** Parameter errors already reported by the text checks win over ajv's for the same pointer. */
function dedupe(have: FieldError[], more: FieldError[]): FieldError[] {
  return more.filter((e) => !have.some((h) => h.in === e.in && h.pointer === e.pointer));
}

/**
 * What is wrong with a parameter's text before ajv coerces it: a repeated parameter, or a number not
 * written as plain decimal digits (`1e1`, `0x10`, ` 1`, `Infinity` are not integers here; the
 * contract says `type: integer`, and JavaScript's Number() would accept them).
 */
function textFault(value: unknown, schema: Record<string, unknown>): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return 'was sent more than once; send it once';
  if (typeof value !== 'string') return undefined;
  if (schema.type === 'integer') {
    // Leading zeros are still decimal digits (`offset=01` is 1); the contract's `maximum` is 2^53 - 1.
    if (!/^-?[0-9]+$/.test(value)) return 'must be an integer written in decimal digits';
    if (!Number.isSafeInteger(Number(value))) return 'must be at most 9007199254740991 (2^53 - 1)';
  }
  if (schema.type === 'number' && !/^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(value))
    return 'must be a decimal number';
  return undefined;
}

/**
 * The validate stage (ajv, compiled once at start-up): path, query, header parameters and the body, all
 * checked, every violation listed. Parameters are coerced from strings; bodies never are.
 * @param mediaType the request body's media type as the contract kit's `matchContentType` matched it.
 * @throws Problem validation-error (400) with `errors[]` of every violation.
 */
export function validateRequest(
  req: Request,
  op: CompiledOperation,
  body: unknown,
  mediaType: string | undefined,
): ValidatedRequest {
  const errors: FieldError[] = [];
  const path: Record<string, unknown> = { ...(req.params as Record<string, unknown>) };
  const query: Record<string, unknown> = { ...(req.query as Record<string, unknown>) };
  delete query[SUBSCRIPTION_KEY_QUERY];
  const headers: Record<string, unknown> = {};
  for (const p of op.spec.parameters) {
    if (p.in !== 'header') continue;
    const name = p.name.toLowerCase();
    if (req.headers[name] !== undefined) headers[name] = req.headers[name];
  }
  for (const p of op.spec.parameters) {
    if (p.in !== 'path' && p.in !== 'query') continue;
    const part = p.in === 'path' ? path : query;
    // A parameter declared as an array (style form, explode: OpenAPI 3.1 section 4.8.12.4) is repeated to
    // give several values; one value is an array of one.
    if (p.schema.type === 'array') {
      if (typeof part[p.name] === 'string') part[p.name] = [part[p.name]];
      continue;
    }
    const fault = textFault(part[p.name], p.schema);
    if (fault) {
      errors.push({ in: p.in, pointer: pointer([p.name]), detail: fault });
      // Already reported: keep ajv from reporting the same parameter again in its own words.
      delete part[p.name];
      if (p.required) part[p.name] = p.schema.type === 'string' ? '' : 0;
    }
  }
  const { request } = op;
  if (request.path && !request.path(path))
    errors.push(...dedupe(errors, toFieldErrors(request.path.errors, 'path')));
  if (request.query && !request.query(query))
    errors.push(...dedupe(errors, toFieldErrors(request.query.errors, 'query')));
  if (request.header && !request.header(headers))
    errors.push(...toFieldErrors(request.header.errors, 'header'));
  const requestBody = op.spec.requestBody;
  if (requestBody) {
    if (body === undefined) {
      if (requestBody.required) {
        errors.push({
          in: 'body',
          pointer: '#',
          detail: `a request body is required (${[...requestBody.content.keys()].join(' or ')})`,
        });
      }
    } else {
      const validate = mediaType ? request.body.get(mediaType) : undefined;
      if (validate && !validate(body)) errors.push(...toFieldErrors(validate.errors, 'body'));
    }
  }
  if (errors.length > MAX_ERRORS) {
    const total = errors.length;
    errors.length = MAX_ERRORS;
    errors.push({
      in: errors[0]!.in,
      pointer: '#',
      detail: `and ${total - MAX_ERRORS} more; fix these first`,
    });
  }
  if (errors.length > 0) {
    const first = errors[0]!;
    const detail =
      errors.length === 1
        ? `${first.in} ${first.pointer} ${first.detail}.`
        : `${errors.length} problems, the first: ${first.in} ${first.pointer} ${first.detail}. See errors[].`;
    throw problem(PROBLEMS.VALIDATION_ERROR, detail, { errors });
  }
  return { path, query, headers, body };
}
