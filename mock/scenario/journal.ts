import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { isoTimestamp } from '../clock';
import { maskEmail, maskPhone } from '../auth/otp';

/** One request as the pipeline saw it; kept raw and cheap, redacted only when read. */
export interface RawJournalEntry {
  requestId: string;
  /** Epoch ms of the mock's clock when the request arrived. */
  at: number;
  method: string;
  /** The path without the query string. */
  path: string;
  operationId?: string;
  status: number;
  problemType?: string;
  accountNumber?: string;
  durationMs: number;
  requestHeaders: IncomingHttpHeaders;
  query: Record<string, unknown>;
  requestBody?: unknown;
  responseHeaders: OutgoingHttpHeaders;
  /** The body as written (JSON text), if any. */
  responseBody?: string;
  /** True when `responseBody` is the serializer's own `JSON.stringify` (never a fault's broken JSON). */
  responseBodyIsJson?: boolean;
  /** The fault rule that acted on the request (`/__admin/faults`), if any. */
  fault?: string;
}

/** A journal entry as `GET /__admin/requests` shows it (admin.openapi.yaml `JournalEntry`). */
export interface JournalEntry {
  requestId: string;
  at: string;
  method: string;
  path: string;
  operationId?: string;
  status: number;
  problemType?: string;
  accountNumber?: string;
  fault?: string;
  durationMs: number;
  request: { headers: Record<string, string>; query: Record<string, unknown>; body?: unknown };
  response: { headers: Record<string, string>; body?: unknown };
}

/** Filters of `GET /__admin/requests` and `/count` (all optional, all must hold). */
export interface JournalFilter {
  operationId?: string;
  status?: number;
  accountNumber?: string;
  /** Epoch ms: entries at or after it. */
  since?: number;
}

/** What replaces a secret: tokens, passwords, codes, client secrets, subscription keys. */
export const REDACTED = '[redacted]';

/** Field names whose values are secrets wherever they appear (bodies, queries). */
const SECRET_FIELDS = new Set([
  'password',
  'code',
  'client_secret',
  'refresh_token',
  'access_token',
  'id_token',
  'paymenttoken',
  'subscription-key',
  'passwordhash',
]);
/** Header names whose values are secrets: credentials of any scheme, keys, tokens, cookies, sessions. */
const SECRET_HEADER =
  /authori[sz]ation|token|secret|password|passwd|cookie|session|api-?key|subscription-key|credential/i;
/** Authentication schemes whose name may stay visible (RFC 9110 section 11.1); the credentials never do. */
const AUTH_SCHEME = /^(Bearer|Basic|Digest|Negotiate|AzureApiManagementKey) /i;

/** Field names (lower case) `maskPersonal` masks. */
const PERSONAL_FIELDS = [
  'email',
  'username',
  'mobilephone',
  'to',
  'title',
  'firstname',
  'lastname',
  'addressline1',
  'addressline2',
  'addressline3',
  'postcode',
];

/**
 * A member name, as `JSON.stringify` writes it, that redaction acts on (a secret or a personal field,
 * any case). None of these names holds a character JSON escapes, so the text shows each as written.
 */
const TOUCHED_MEMBER = new RegExp(`"(?:${[...SECRET_FIELDS, ...PERSONAL_FIELDS].join('|')})":`, 'i');

/** Personal fields (GDPR): masked, so a journal shows their shape but never the person (the names: PERSONAL_FIELDS). */
function maskPersonal(key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  switch (key.toLowerCase()) {
    case 'email':
    case 'username':
      return value.includes('@') ? maskEmail(value) : REDACTED;
    case 'mobilephone':
    case 'to':
      return /^\+447[0-9]{9}$/.test(value)
        ? maskPhone(value)
        : value.includes('@')
          ? maskEmail(value)
          : REDACTED;
    case 'title':
    case 'firstname':
    case 'lastname':
    case 'addressline1':
    case 'addressline2':
    case 'addressline3':
    case 'postcode':
      return value === '' ? value : `${value.slice(0, 1)}***`;
    default:
      return undefined;
  }
}

/** A deep copy of a JSON value with secrets replaced and personal fields masked. */
export function redactJson(value: unknown, depth = 0): unknown {
  if (depth > 32) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactJson(v, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  const record = value as Record<string, unknown>;
  // A problem document's `title` names its type, not a person.
  const isProblem = typeof record.type === 'string' && typeof record.instance === 'string';
  for (const [k, v] of Object.entries(record)) {
    if (SECRET_FIELDS.has(k.toLowerCase())) {
      out[k] = REDACTED;
      continue;
    }
    const masked = isProblem && k === 'title' ? undefined : maskPersonal(k, v);
    out[k] = masked !== undefined ? masked : redactJson(v, depth + 1);
  }
  return out;
}

function redactHeaders(headers: IncomingHttpHeaders | OutgoingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined) continue;
    const lower = name.toLowerCase();
    const value = Array.isArray(raw) ? raw.join(', ') : String(raw);
    if (!SECRET_HEADER.test(lower)) out[lower] = value;
    else {
      const scheme = AUTH_SCHEME.exec(value);
      out[lower] = scheme ? `${scheme[1]} ${REDACTED}` : REDACTED;
    }
  }
  return out;
}

function parsed(text: string | undefined): unknown {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // A fault's malformed JSON, or a non-JSON body: shown as text, bounded.
    return text.length > 2048 ? `${text.slice(0, 2048)}...` : text;
  }
}

/** The entry with every secret redacted and personal field masked (admin.openapi.yaml `JournalEntry`). */
export function redactEntry(e: RawJournalEntry): JournalEntry {
  const requestBody = redactJson(e.requestBody);
  const responseBody = redactJson(parsed(e.responseBody));
  return {
    requestId: e.requestId,
    at: isoTimestamp(e.at),
    method: e.method,
    path: e.path,
    ...(e.operationId !== undefined ? { operationId: e.operationId } : {}),
    status: e.status,
    ...(e.problemType !== undefined ? { problemType: e.problemType } : {}),
    ...(e.accountNumber !== undefined ? { accountNumber: e.accountNumber } : {}),
    ...(e.fault !== undefined ? { fault: e.fault } : {}),
    durationMs: Math.round(e.durationMs * 1000) / 1000,
    request: {
      headers: redactHeaders(e.requestHeaders),
      query: redactJson(e.query) as Record<string, unknown>,
      ...(requestBody !== undefined ? { body: requestBody } : {}),
    },
    response: {
      headers: redactHeaders(e.responseHeaders),
      ...(responseBody !== undefined ? { body: responseBody } : {}),
    },
  };
}

/** Most `{` and `[` in a body copied as text: at most this many, it is no deeper than `redactJson` goes. */
const MAX_COPIED_NESTING = 32;

/**
 * `JSON.stringify(redactEntry(e))`, for a store that keeps entries as text (Redis), without parsing and
 * copying a response body that redaction would leave as it is: the serializer's own JSON, with no member
 * redaction acts on and no deeper than `redactJson` goes, is copied in as written (`JSON.stringify` of
 * its parse is the same text).
 */
export function redactedEntryJson(e: RawJournalEntry): string {
  const body = e.responseBody;
  const asWritten =
    e.responseBodyIsJson === true &&
    body !== undefined &&
    body !== '' &&
    !TOUCHED_MEMBER.test(body) &&
    (body.match(/[[{]/g)?.length ?? 0) <= MAX_COPIED_NESTING;
  if (!asWritten) return JSON.stringify(redactEntry(e));
  const json = JSON.stringify(redactEntry({ ...e, responseBody: undefined }));
  // `response` is the entry's last member and `body` would be the last of it: `...}}` gets `,"body":...`.
  return `${json.slice(0, -2)},"body":${body}}}`;
}

function matches(e: RawJournalEntry, f: JournalFilter): boolean {
  return (
    (f.operationId === undefined || e.operationId === f.operationId) &&
    (f.status === undefined || e.status === f.status) &&
    (f.accountNumber === undefined || e.accountNumber === f.accountNumber) &&
    (f.since === undefined || e.at >= f.since)
  );
}

/**
 * The request journal (WireMock's, for "which requests did my app make" and "was it called exactly
 * once"): a ring of the last `capacity` requests, oldest dropped. Entries are stored raw and redacted
 * only when read, so recording costs one object per request.
 */
export class Journal {
  private entries: RawJournalEntry[] = [];
  private start = 0;

  constructor(readonly capacity: number) {}

  /** Records one request (nothing when the capacity is 0). */
  record(entry: RawJournalEntry): void {
    if (this.capacity === 0) return;
    if (this.entries.length < this.capacity) this.entries.push(entry);
    else {
      this.entries[this.start] = entry;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** Entries matching `filter`, newest first, at most `limit`, redacted; `total` counts every match. */
  query(filter: JournalFilter, limit: number): { items: JournalEntry[]; total: number } {
    const items: JournalEntry[] = [];
    let total = 0;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[(this.start + i) % this.entries.length]!;
      if (!matches(e, filter)) continue;
      total += 1;
      if (items.length < limit) items.push(redactEntry(e));
    }
    return { items, total };
  }

  /** How many entries match `filter`. */
  count(filter: JournalFilter): number {
    return this.entries.reduce((n, e) => n + (matches(e, filter) ? 1 : 0), 0);
  }

  clear(): void {
    this.entries = [];
    this.start = 0;
  }
}
