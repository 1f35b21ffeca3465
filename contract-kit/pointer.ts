/**
 * JSON Pointers (RFC 6901) in URI-fragment form (section 6), as the problem details' `errors[].pointer` and
 * the harness's violations carry them.
 */

/** Where in the request a validation error points (RFC 9457 section 3's `errors` extension). */
export interface FieldError {
  in: 'body' | 'query' | 'path' | 'header';
  /** JSON Pointer (RFC 6901) in URI-fragment form into that part, e.g. `#/amountPence`. */
  pointer: string;
  detail: string;
}

/** RFC 6901 escaping of one reference token (`~` -> `~0`, `/` -> `~1`). */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A lone UTF-16 surrogate (half of a pair without its other half). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The string with every lone surrogate replaced by U+FFFD: a client's JSON may name a member
 * `"\ud800"` (valid JSON, RFC 8259 section 8.2), which has no UTF-8 form, so it cannot be
 * percent-encoded (RFC 3986 section 2.5) or written as UTF-8 as it is.
 */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/**
 * Builds a URI-fragment JSON Pointer (RFC 6901 section 6) from path tokens:
 * `pointer(['address', 'postcode'])` -> `#/address/postcode`. Any token is safe, whatever Unicode it
 * holds: a lone surrogate becomes U+FFFD (`%EF%BF%BD`) instead of throwing.
 */
export function pointer(tokens: readonly (string | number)[]): string {
  return (
    '#' + tokens.map((t) => '/' + encodeURIComponent(escapePointerToken(wellFormed(String(t))))).join('')
  );
}
