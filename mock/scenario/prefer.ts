import type { FieldError } from '../problem';
import { PROBLEMS, pointer, problem } from '../problem';

/** Largest `delay` a request may ask for, in milliseconds (the bound: a test never hangs). */
export const MAX_DELAY_MS = 30_000;

/** Query parameters that stand in for `Prefer` for clients that cannot set headers (Prism-style). */
export const PREFER_QUERY = { code: '__code', example: '__example', delay: '__delay' } as const;

/** What a request asked the mock for (RFC 7240 preferences, Prism's names). */
export interface Preferences {
  /** A declared HTTP status to answer with (`code=503`). */
  code?: number;
  /** A named example of the contract to answer with (`example=pending`). */
  example?: string;
  /** Milliseconds to wait before the reply (`delay=2000`), 0 to 30,000. */
  delayMs?: number;
}

/**
 * Splits a `Prefer` field value into preferences (RFC 7240 section 2: comma-separated `token [= word]`,
 * parameters after `;` ignored, names case-insensitive, values optionally quoted). The first occurrence
 * of a preference wins (section 2). Unrecognised preferences are ignored, as the RFC requires.
 */
export function parsePreferHeader(value: string | string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  const fields = value === undefined ? [] : Array.isArray(value) ? value : [value];
  for (const field of fields) {
    // Commas inside a quoted value do not split (RFC 9110 section 5.6.4 quoted-string).
    for (const part of field.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
      const pref = part.split(';')[0]!.trim();
      if (pref === '') continue;
      const eq = pref.indexOf('=');
      const name = (eq < 0 ? pref : pref.slice(0, eq)).trim().toLowerCase();
      let raw = eq < 0 ? '' : pref.slice(eq + 1).trim();
      if (raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2)
        raw = raw.slice(1, -1).replace(/\\(.)/g, '$1');
      if (!out.has(name)) out.set(name, raw);
    }
  }
  return out;
}

/**
 * Reads the request's preferences: `Prefer` (RFC 7240) first, then the `__code`, `__example` and `__delay`
 * query parameters for what the header did not say.
 * @param header the `Prefer` header as Node gives it.
 * @param query the request's query (only the three `__` parameters are read).
 * @throws Problem validation-error (400) naming the header or query parameter whose value is not a status
 *   code, a short example name, or a delay of 0 to 30,000 ms.
 */
export function readPreferences(
  header: string | string[] | undefined,
  query: Record<string, unknown>,
): Preferences {
  if (
    query[PREFER_QUERY.code] === undefined &&
    query[PREFER_QUERY.example] === undefined &&
    query[PREFER_QUERY.delay] === undefined
  ) {
    if (header === undefined) return NO_PREFERENCES;
    if (typeof header === 'string') {
      const known = rememberedPreferences.get(header);
      if (known) return known;
      const prefs = Object.freeze(parsePreferences(header, query));
      if (rememberedPreferences.size >= PREFER_VALUES_KEPT) rememberedPreferences.clear();
      rememberedPreferences.set(header, prefs);
      return prefs;
    }
  }
  return parsePreferences(header, query);
}

/** Distinct `Prefer` values whose preferences are remembered; the map starts again when full. */
export const PREFER_VALUES_KEPT = 256;
const NO_PREFERENCES: Preferences = Object.freeze({});
/** Preferences of `Prefer` values seen lately (a suite sends the same few on every request). */
const rememberedPreferences = new Map<string, Preferences>();

/** `readPreferences` without the memory. */
function parsePreferences(
  header: string | string[] | undefined,
  query: Record<string, unknown>,
): Preferences {
  const fromHeader = parsePreferHeader(header);
  const errors: FieldError[] = [];
  const take = (name: keyof typeof PREFER_QUERY): { value: string; at: FieldError['in'] } | undefined => {
    const h = fromHeader.get(name);
    if (h !== undefined) return { value: h, at: 'header' };
    const q = query[PREFER_QUERY[name]];
    if (q === undefined) return undefined;
    // A repeated parameter is no single value: it fails the checks below like any other bad value.
    return { value: Array.isArray(q) ? '' : String(q), at: 'query' };
  };
  const fail = (name: keyof typeof PREFER_QUERY, at: FieldError['in'], detail: string): void => {
    errors.push({
      in: at,
      pointer: at === 'header' ? pointer(['prefer']) : pointer([PREFER_QUERY[name]]),
      detail: `${at === 'header' ? name : PREFER_QUERY[name]} ${detail}`,
    });
  };
  const prefs: Preferences = {};
  const code = take('code');
  if (code) {
    if (/^[1-5][0-9]{2}$/.test(code.value)) prefs.code = Number(code.value);
    else fail('code', code.at, 'must be a three-digit HTTP status code the operation declares');
  }
  const example = take('example');
  if (example) {
    if (/^[A-Za-z0-9._-]{1,100}$/.test(example.value)) prefs.example = example.value;
    else fail('example', example.at, 'must be the name of an example of the operation (A-Z a-z 0-9 . _ -)');
  }
  const delay = take('delay');
  if (delay) {
    const ms = /^(0|[1-9][0-9]{0,5})$/.test(delay.value) ? Number(delay.value) : NaN;
    if (ms >= 0 && ms <= MAX_DELAY_MS) prefs.delayMs = ms;
    else fail('delay', delay.at, `must be a whole number of milliseconds from 0 to ${MAX_DELAY_MS}`);
  }
  if (errors.length > 0) {
    throw problem(
      PROBLEMS.VALIDATION_ERROR,
      `The request's preferences are not valid: ${errors.map((e) => e.detail).join('; ')}.`,
      { errors },
    );
  }
  return prefs;
}

/** The `Preference-Applied` value (RFC 7240 section 3) for what was honoured, or undefined for nothing. */
export function preferenceApplied(prefs: Preferences): string | undefined {
  const parts: string[] = [];
  if (prefs.code !== undefined) parts.push(`code=${prefs.code}`);
  if (prefs.example !== undefined) parts.push(`example=${prefs.example}`);
  if (prefs.delayMs !== undefined) parts.push(`delay=${prefs.delayMs}`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/** True when any preference was given. */
export function hasPreferences(prefs: Preferences): boolean {
  return prefs.code !== undefined || prefs.example !== undefined || prefs.delayMs !== undefined;
}
