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

/** Builds a URI-fragment JSON Pointer from path tokens: `pointer(['address', 'postcode'])` -> `#/address/postcode`. */
export function pointer(tokens: readonly (string | number)[]): string {
  return '#' + tokens.map((t) => '/' + encodeURIComponent(escapePointerToken(String(t)))).join('');
}
