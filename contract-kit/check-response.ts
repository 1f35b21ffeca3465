import type { CompiledOperation } from './compiled';
import { pointer } from './pointer';
import { pointerTokens } from './ajv';
import { UTF8, isJsonMediaType, parseMediaType } from './media-type';

/** A response as any client sees it: status, headers (lower-case names) and parsed body. */
export interface ObservedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or the raw text when it is not JSON, or undefined when empty. */
  body: unknown;
}

/** One way a response departs from the contract. */
export interface Violation {
  operationId: string;
  status: number;
  /** Where: `#/...` into the body, `header:<name>`, `status` or `content-type`. */
  pointer: string;
  expected: string;
  actual: string;
  /** The semantic rule broken (harness/semantics.ts), absent for a departure from the schema. */
  rule?: string;
}

function short(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 120 ? s.slice(0, 117) + '...' : s;
}

/**
 * Checks a response against its operation in the contract: the status is declared, the content type is
 * one declared for that status, every required header is present, and the body validates (ajv 2020-12,
 * strict, formats on; response objects are closed). Returns every violation; empty means it conforms.
 */
export function checkResponse(op: CompiledOperation, res: ObservedResponse): Violation[] {
  const { operationId } = op.spec;
  const v = (ptr: string, expected: string, actual: string): Violation => ({
    operationId,
    status: res.status,
    pointer: ptr,
    expected,
    actual,
  });
  const declared = op.spec.responses.get(res.status);
  if (!declared) {
    return [v('status', `one of ${[...op.spec.responses.keys()].join(', ')}`, String(res.status))];
  }
  const out: Violation[] = [];
  for (const [name, header] of declared.headers) {
    const value = res.headers[name.toLowerCase()];
    if (value === undefined) {
      if (header.required) out.push(v(`header:${name}`, 'present', 'absent'));
      continue;
    }
    const validate = op.responseHeaders.get(`${res.status} ${name.toLowerCase()}`);
    // Header values are strings; the coercing ajv reads "540" as the integer the schema declares.
    if (validate && !validate(Array.isArray(value) ? value.join(', ') : value)) {
      out.push(
        v(
          `header:${name}`,
          `${validate.errors?.[0]?.message ?? 'valid'} (${JSON.stringify(header.schema)})`,
          short(value),
        ),
      );
    }
  }
  if (declared.content.size === 0) {
    if (res.body !== undefined && res.body !== '') out.push(v('#', 'no body', short(res.body)));
    return out;
  }
  const parsed = parseMediaType(res.headers['content-type']);
  const mediaType = parsed?.essence ?? '';
  if (!declared.content.has(mediaType)) {
    out.push(v('content-type', [...declared.content.keys()].join(' or '), mediaType || 'none'));
    return out;
  }
  const charset = parsed?.parameters.charset;
  if (charset !== undefined && isJsonMediaType(mediaType) && charset.toLowerCase() !== UTF8) {
    // RFC 8259 section 8.1: JSON exchanged between systems is UTF-8.
    out.push(v('content-type', `${mediaType} in UTF-8 (charset=utf-8 or none)`, `charset=${charset}`));
  }
  const validate = op.responses.get(`${res.status} ${mediaType}`);
  if (validate && !validate(res.body)) {
    for (const e of validate.errors ?? []) {
      if (['if', 'oneOf', 'anyOf'].includes(e.keyword) && (validate.errors?.length ?? 0) > 1) continue;
      const tokens = pointerTokens(e.instancePath);
      const p = e.params as Record<string, unknown>;
      if (e.keyword === 'required') tokens.push(String(p.missingProperty));
      if (e.keyword === 'additionalProperties') tokens.push(String(p.additionalProperty));
      const at = tokens.reduce<unknown>(
        (node, t) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[t] : undefined),
        res.body,
      );
      const expected =
        e.keyword === 'required'
          ? 'present'
          : e.keyword === 'additionalProperties'
            ? 'absent (closed object)'
            : `${e.keyword}: ${e.message ?? ''}`.trim();
      out.push(v(pointer(tokens), expected, e.keyword === 'required' ? 'absent' : short(at)));
    }
  }
  return out;
}
