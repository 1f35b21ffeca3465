import type { Request } from 'express';
import type { CompiledOperation } from '../contract';
import { toFieldErrors } from '../contract';
import type { FieldError } from '../problem';
import { PROBLEMS, problem } from '../problem';
import { SUBSCRIPTION_KEY_QUERY } from '../gateway';

/** The request's parts after validation, with parameters coerced to their declared types and defaults applied. */
export interface ValidatedRequest {
  path: Record<string, unknown>;
  query: Record<string, unknown>;
  headers: Record<string, unknown>;
  body: unknown;
}

/**
 * Picks the contract media type that a request's Content-Type matches, or undefined.
 * `application/json; charset=utf-8` matches `application/json`.
 */
export function matchRequestMediaType(
  contentType: string | undefined,
  declared: Iterable<string>,
): string | undefined {
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  for (const d of declared) if (d === mediaType) return d;
  return undefined;
}

/**
 * The validate stage (ajv, compiled once at start-up): path, query, header parameters and the body, all
 * checked, every violation listed. Parameters are coerced from strings; bodies never are.
 * @param mediaType the request body's media type as matched by `matchRequestMediaType`.
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
  const { request } = op;
  if (request.path && !request.path(path)) errors.push(...toFieldErrors(request.path.errors, 'path'));
  if (request.query && !request.query(query)) errors.push(...toFieldErrors(request.query.errors, 'query'));
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
