import type { Response } from 'express';
import type { FieldError, Problem } from '../problem';
import { problemTypeUri } from '../problem';

/** The RFC 9457 body of a problem, with its extension members. */
export type ProblemBody = Record<string, unknown>;

/** A reply ready to be written: the one shape both successes and problems take before the wire. */
export interface WireReply {
  status: number;
  contentType: string;
  headers: Record<string, string>;
  /** Parsed body (undefined for none). */
  body: unknown;
  /** For a problem: its type's slug (`validation-error`) and field errors, for the request log line. */
  problem?: { slug: string; errors?: FieldError[] };
}

/** What the serializer leaves on `res.locals` for the request log and the journal. */
export interface ReplyLocals {
  /** The body as written. */
  responseBody?: string;
  /** True when `responseBody` is JSON this serializer wrote (for the journal). */
  responseBodyIsJson?: boolean;
  /** The problem of an error reply. */
  problem?: WireReply['problem'];
}

/** Request ids echoed back only when they are this tame; others are replaced (no header injection). */
export const TAME_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** `instance` of every problem: names the request (api.md "X-Request-ID"). */
export function instanceOf(requestId: string): string {
  return `urn:procode:request:${requestId}`;
}

/**
 * Builds the wire form of a problem. OAuth2 problems also carry RFC 6749 section 5.2's `error` and
 * `error_description`. The gateway's own answers (problem types with `gateway` set: 401 subscription key,
 * 403 quota, 429 rate limit, 500, 503) take Azure API Management's `application/json`
 * `{ statusCode, message }` shape (`message` = the detail); only the subscription-key 401 becomes
 * problem+json when `gatewayErrors` is `problem`, because the contract declares the others only as
 * GatewayError. Headers never go into the body.
 */
export function problemReply(p: Problem, requestId: string, gatewayErrors: 'apim' | 'problem'): WireReply {
  const headers = { ...p.headers };
  const { gateway } = p.type;
  if (gateway === 'always' || (gateway === 'unless-problem' && gatewayErrors === 'apim')) {
    return {
      status: p.type.status,
      contentType: 'application/json',
      headers,
      body: { statusCode: p.type.status, message: p.detail },
      problem: { slug: p.type.slug },
    };
  }
  const body: ProblemBody = {
    type: problemTypeUri(p.type),
    title: p.type.title,
    status: p.type.status,
    detail: p.detail,
    instance: instanceOf(requestId),
  };
  const { errors, error_description, attemptsRemaining, paymentId, declared } = p.extensions;
  if (errors) body.errors = errors;
  const oauthError = p.type.oauthError ?? p.extensions.oauthError;
  if (oauthError) {
    body.error = oauthError;
    body.error_description = error_description ?? p.detail;
  }
  if (attemptsRemaining !== undefined) body.attemptsRemaining = attemptsRemaining;
  if (paymentId !== undefined) body.paymentId = paymentId;
  if (declared !== undefined) body.declared = declared;
  return {
    status: p.type.status,
    contentType: 'application/problem+json',
    headers,
    body,
    problem: { slug: p.type.slug, ...(errors ? { errors } : {}) },
  };
}

/** The one place that writes a reply to the wire. */
export function writeReply(res: Response, reply: WireReply): void {
  if (reply.problem) (res.locals as ReplyLocals).problem = reply.problem;
  // Node's own setter: every status here is one of the contract's (Express's status() checks again).
  res.statusCode = reply.status;
  for (const name in reply.headers) res.setHeader(name, reply.headers[name]!);
  if (reply.body === undefined) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', `${reply.contentType}; charset=utf-8`);
  const isJson = /[/+]json$/.test(reply.contentType);
  const text = isJson ? JSON.stringify(reply.body) : String(reply.body);
  (res.locals as ReplyLocals).responseBody = text;
  (res.locals as ReplyLocals).responseBodyIsJson = isJson;
  res.end(text);
}
