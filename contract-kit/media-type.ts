import { parse } from 'content-type';
import Negotiator from 'negotiator';
import type { CompiledOperation } from './compiled';

/**
 * Media types and media ranges, one set of rules for the mock (406, 415) and the harness (the
 * Content-Type of a response): RFC 9110 section 8.3.1 (`type "/" subtype *( OWS ";" OWS parameter )`,
 * type, subtype and parameter names case-insensitive, values token or quoted-string) and section 12.5.1
 * (Accept). Parsing is jshttp's `content-type` and matching of Accept is jshttp's `negotiator` (the
 * libraries Express itself uses); this module only adds what the contract decides on top: which charset
 * a body may be in (docs/decisions.md, "Media types").
 */

/** A media type of a Content-Type header, normalised. */
export interface MediaType {
  /** `type/subtype`, lower-cased (`application/json`). */
  essence: string;
  /** Parameters by lower-cased name (RFC 9110 section 5.6.6), values unquoted and as sent. */
  parameters: Readonly<Record<string, string>>;
}

/** `type/subtype` of two RFC 9110 tokens (section 5.6.2); no wildcard in a media type. */
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/;

const NO_PARAMETERS: Readonly<Record<string, string>> = Object.freeze({});

/** JSON media types: `application/json` and any `+json` structured syntax suffix (RFC 6839 section 3.1). */
const JSON_TYPE = /^application\/(?:json|[^/]+\+json)$/;

/** The form media type of RFC 6749's token requests. */
export const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

/** The charset every body the mock writes is in, and the one JSON must be in (RFC 8259 section 8.1). */
export const UTF8 = 'utf-8';

/**
 * Parses a Content-Type header (RFC 9110 section 8.3); a repeated header counts by its first value.
 * @returns the normalised media type, or undefined when the header is absent, empty or not
 *   `type/subtype` (a wildcard, a missing subtype, a space inside).
 */
export function parseMediaType(value: string | readonly string[] | undefined): MediaType | undefined {
  const raw = typeof value === 'string' ? value : value?.[0];
  if (raw === undefined || raw.trim() === '') return undefined;
  // No parameters (as the mock's own replies are checked): no parsing needed.
  if (!raw.includes(';')) {
    const essence = raw.trim().toLowerCase();
    return MEDIA_TYPE.test(essence) ? { essence, parameters: NO_PARAMETERS } : undefined;
  }
  const { type, parameters } = parse(raw);
  if (!MEDIA_TYPE.test(type)) return undefined;
  return { essence: type, parameters: { ...parameters } };
}

/** The `type/subtype` of a Content-Type header, lower-cased, without parameters; '' when there is none. */
export function mediaTypeOf(value: string | readonly string[] | undefined): string {
  return parseMediaType(value)?.essence ?? '';
}

/** Whether a media type is JSON (`application/json` or `+json`, RFC 6839 section 3.1). */
export function isJsonMediaType(essence: string): boolean {
  return JSON_TYPE.test(essence);
}

/**
 * The charsets a request body of this media type may declare, lower-cased (charset names are
 * case-insensitive, RFC 9110 section 8.3.2). JSON: UTF-8 only (RFC 8259 section 8.1). A form: UTF-8,
 * or ISO-8859-1, which Java's `UrlEncodedFormEntity` declares by default and the body parser decodes.
 * No charset at all is always fine (JSON is UTF-8; a form of ASCII is the same in both).
 */
export function requestCharsets(essence: string): readonly string[] {
  return essence === FORM_MEDIA_TYPE ? [UTF8, 'iso-8859-1'] : [UTF8];
}

/** What a request's Content-Type means for an operation's declared request media types. */
export type ContentTypeMatch =
  | { kind: 'match'; mediaType: string }
  /** No Content-Type, or one that is not `type/subtype`. */
  | { kind: 'missing' }
  /** A media type the operation does not declare. */
  | { kind: 'not-declared'; essence: string }
  /** A declared media type in a charset the mock does not read. */
  | { kind: 'charset'; mediaType: string; charset: string; allowed: readonly string[] };

/**
 * Matches a request's Content-Type against an operation's declared request media types: the essence
 * case-insensitively (`Application/JSON;Charset="UTF-8"` is `application/json`), other parameters
 * ignored (`application/json` defines none, RFC 8259 section 11), and a `charset` parameter, when
 * present, one of `requestCharsets` (case-insensitive).
 * @param declared the contract's media types (keys of `requestBody.content`).
 */
export function matchContentType(
  value: string | readonly string[] | undefined,
  declared: Iterable<string>,
): ContentTypeMatch {
  const parsed = parseMediaType(value);
  if (!parsed) return { kind: 'missing' };
  let mediaType: string | undefined;
  for (const d of declared) if (d.toLowerCase() === parsed.essence) mediaType = d;
  if (mediaType === undefined) return { kind: 'not-declared', essence: parsed.essence };
  const charset = parsed.parameters.charset;
  const allowed = requestCharsets(parsed.essence);
  if (charset !== undefined && !allowed.includes(charset.toLowerCase()))
    return { kind: 'charset', mediaType, charset, allowed };
  return { kind: 'match', mediaType };
}

/**
 * The Content-Type the mock writes for a media type: its essence with `charset=utf-8` (every body it
 * writes is UTF-8). Accept is matched against this, so `application/json; charset=utf-8` in Accept
 * matches and `application/json; charset=iso-8859-1` does not.
 */
export function representationOf(essence: string): string {
  return `${essence}; charset=${UTF8}`;
}

/**
 * Which of the offered representations an Accept header allows, the client's preferred first (RFC 9110
 * section 12.5.1). A media range applies to a representation when its type and subtype match (`*`
 * matches any; case-insensitive) and each of its parameters equals the representation's (names and, for
 * charset, values case-insensitive); the most specific range that applies decides the weight, and
 * weight 0 (`q=0`) excludes. No Accept, or an empty one, accepts anything; members that are not media
 * ranges are ignored, so an Accept of nothing but those accepts nothing.
 * @param offered full media types with parameters, as written (see `representationOf`).
 * @returns the acceptable subset of `offered`, in the client's order of preference (frozen; the same
 *   array for the same header and list); empty: 406.
 */
export function acceptable(
  accept: string | readonly string[] | undefined,
  offered: readonly string[],
): readonly string[] {
  const header = typeof accept === 'string' ? accept : accept?.join(', ');
  if (header === undefined || header.trim() === '') return offered;
  // A client sends the same Accept on every request: parse and match each header once per list offered.
  let answers = remembered.get(offered);
  if (!answers) remembered.set(offered, (answers = new Map()));
  let answer = answers.get(header);
  if (!answer) {
    answer = Object.freeze(new Negotiator({ headers: { accept: header } }).mediaTypes(offered));
    if (answers.size >= REMEMBERED_PER_LIST) answers.delete(answers.keys().next().value!);
    answers.set(header, answer);
  }
  return answer;
}

/** Accept headers remembered per offered list (the oldest forgotten first). */
const REMEMBERED_PER_LIST = 256;
const remembered = new WeakMap<readonly string[], Map<string, readonly string[]>>();

/**
 * The media types an operation's successes are written in: those its 2xx responses declare, or
 * `application/json` when none has a body (a 204), so that Accept still has something to be matched
 * against and `Accept: text/html` is a 406 on every operation that declares one.
 */
export function successMediaTypes(op: CompiledOperation): string[] {
  const types = new Set<string>();
  for (const [status, response] of op.spec.responses)
    if (status >= 200 && status < 300) for (const media of response.content.keys()) types.add(media);
  return types.size > 0 ? [...types] : ['application/json'];
}

/**
 * The Accept header a client of an operation sends: its success media types (`successMediaTypes`),
 * then every other media type its responses declare (`application/json, application/problem+json`;
 * the admin API's certificate `application/x-pem-file, application/problem+json, application/json`),
 * so no declared answer is refused with a 406.
 */
export function acceptHeaderOf(op: CompiledOperation): string {
  const types = new Set(successMediaTypes(op));
  for (const response of op.spec.responses.values())
    for (const media of response.content.keys()) types.add(media);
  return [...types].join(', ');
}
