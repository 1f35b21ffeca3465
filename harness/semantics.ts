import type { CompiledOperation, Violation } from '../contract-kit';
import { isValidMpanCore } from '../fixtures/domain/mpan';
import { isValidMprn } from '../fixtures/domain/mprn';
import type { HttpResponse } from './types';

/**
 * Semantic checks: what a body means, not only its shape (Schemathesis calls them stateful and semantic
 * checks). Every rule is a row of {@link RULES}: an id (reported as the violation's `rule`), one line
 * of what it checks, the operations it applies to, and its check. A rule with `check` runs on every
 * 2xx answer of its operations the harness receives; the others (`kind: 'flow'`) are checked by steps of
 * the flow that need several requests (a walk through pages, a top-up between two balances), which
 * report under the same ids. Adding a rule is a few lines here.
 *
 * Rules never run against a stateless mock (Prism's examples name nothing that was asked for).
 */

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One request and its answer, as a rule sees it. */
export interface Observed {
  op: CompiledOperation;
  /** Path parameters and query parameters as sent (strings). */
  pathParams: Readonly<Record<string, string>>;
  query: Readonly<Record<string, string>>;
  /** The bearer token the request carried, if any. */
  bearer?: string;
  res: HttpResponse;
}

/** What the run remembers between requests, for rules that compare one answer with an earlier one. */
export class SemanticMemory {
  /** List items seen, by `<list operationId> <id>`: the item as the list gave it. */
  readonly items = new Map<string, Json>();
  /** Service points seen (lists and details), by id: their fuel. */
  readonly fuelOf = new Map<string, string>();
  /** The login name the run used (TokenRequest's `username`), when known. */
  username?: string;
  /**
   * Milliseconds to add to this machine's clock to get the target's (a mock whose clock was advanced
   * through `/__admin/clock`); 0 for a real environment.
   */
  clockOffsetMs = 0;
  /** This machine's time in milliseconds (the harness's injected clock; tests may replace it). */
  now: () => number = () => new Date().getTime();
}

/** A finding of a rule, before it becomes a {@link Violation}. */
export interface Finding {
  pointer: string;
  expected: string;
  actual: string;
}

/** One named semantic rule. */
export interface SemanticRule {
  /** Reported as the violation's `rule`, e.g. `page-total`. */
  id: string;
  /** One line: what must hold (README's list of rules comes from here). */
  summary: string;
  /** The operations it applies to. */
  operations: readonly string[];
  /** Checks one 2xx answer; absent for rules checked by flow steps (`kind: 'flow'`). */
  check?: (o: Observed, memory: SemanticMemory) => Finding[];
  kind?: 'flow';
}

/** Largest future offset accepted for a timestamp, in seconds (clocks of two hosts never agree exactly). */
export const CLOCK_SKEW_SECONDS = 300;

/** The list operations and the id member of their items. */
export const LISTS: Readonly<Record<string, string>> = {
  ListPremises: 'premiseId',
  ListServicePoints: 'servicePointId',
  ListDevices: 'deviceId',
  ListPayments: 'paymentId',
};

/** Detail operation -> [its id parameter, the list it is an item of]. */
const DETAILS: Record<string, [string, string]> = {
  GetPremise: ['premiseId', 'ListPremises'],
  GetServicePoint: ['servicePointId', 'ListServicePoints'],
  GetDevice: ['deviceId', 'ListDevices'],
  GetPayment: ['paymentId', 'ListPayments'],
};

/** Operation -> the members that must name the path (or query) parameter of the same name. */
const PARENTS: Record<string, { member: string; param: string; items: boolean }[]> = {
  ListServicePoints: [{ member: 'premiseId', param: 'premiseId', items: true }],
  GetServicePoint: [{ member: 'premiseId', param: 'premiseId', items: false }],
  ListDevices: [{ member: 'servicePointId', param: 'servicePointId', items: true }],
  ListPayments: [{ member: 'deviceId', param: 'deviceId', items: true }],
  GetPremiseFeatures: [{ member: 'premiseId', param: 'premiseId', items: false }],
  GetBalance: [{ member: 'deviceId', param: 'deviceId', items: false }],
};

const TOKEN_OPERATIONS = ['TokenRequest', 'RefreshToken', 'VerifyOTP'];

const json = (v: unknown): string => JSON.stringify(v) ?? 'absent';
const bodyOf = (o: Observed): Json => (isObject(o.res.body) ? o.res.body : {});
const itemsOf = (o: Observed): Json[] => {
  const items = bodyOf(o).items;
  return Array.isArray(items) ? items.filter(isObject) : [];
};

/** The default of a query parameter of `op` (the contract's `schema.default`), if any. */
function queryDefault(op: CompiledOperation, name: string): unknown {
  const p = op.spec.parameters.find((x) => x.in === 'query' && x.name === name);
  return p?.schema && 'default' in p.schema ? p.schema.default : undefined;
}

/** The number a query parameter asked for: as sent, else the contract's default. */
function asked(o: Observed, name: string): number | undefined {
  const sent = o.query[name];
  if (sent !== undefined && /^\d+$/.test(sent)) return Number(sent);
  const d = queryDefault(o.op, name);
  return typeof d === 'number' ? d : undefined;
}

/** Deep equality of two JSON values (object member order ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => sameJson(a[k], b[k]));
  }
  return a === b;
}

/** The claims of a JWT (RFC 7519), undecoded signature; undefined when the token is not a JWT. */
export function jwtClaims(token: string | undefined): Json | undefined {
  const parts = token?.split('.');
  if (!parts || parts.length !== 3) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return isObject(claims) ? claims : undefined;
  } catch {
    return undefined;
  }
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** Every `...At` date-time member of a body, with its JSON Pointer. */
function timestamps(node: unknown, at = '#'): [string, string][] {
  if (Array.isArray(node)) return node.flatMap((n, i) => timestamps(n, `${at}/${i}`));
  if (!isObject(node)) return [];
  return Object.entries(node).flatMap(([k, v]): [string, string][] =>
    typeof v === 'string' && /At$/.test(k) && ISO_DATE_TIME.test(v)
      ? [[`${at}/${k}`, v]]
      : timestamps(v, `${at}/${k}`),
  );
}

/** The meter type that belongs on a fuel (domain.md: ESME electricity, GSME gas). */
const METER_FUEL: Record<string, string> = { ESME: 'ELECTRICITY', GSME: 'GAS' };

/** Every semantic rule of the harness, in the order they are documented. */
export const RULES: readonly SemanticRule[] = [
  {
    id: 'page-echo',
    summary: "`limit` and `offset` of a page echo the request (the contract's defaults when not sent).",
    operations: Object.keys(LISTS),
    check: (o) => {
      const b = bodyOf(o);
      return (['limit', 'offset'] as const).flatMap((name) => {
        const want = asked(o, name);
        return want !== undefined && b[name] !== want
          ? [{ pointer: `#/${name}`, expected: `${want} (as asked)`, actual: json(b[name]) }]
          : [];
      });
    },
  },
  {
    id: 'page-size',
    summary: 'A page holds at most `limit` items.',
    operations: Object.keys(LISTS),
    check: (o) => {
      const b = bodyOf(o);
      const n = itemsOf(o).length;
      return typeof b.limit === 'number' && n > b.limit
        ? [{ pointer: '#/items', expected: `at most ${b.limit} items (limit)`, actual: `${n} items` }]
        : [];
    },
  },
  {
    id: 'page-total',
    summary:
      '`total` agrees with the page: `total >= offset + items`, and a page is full unless it is the last (`items = min(limit, total - offset)`).',
    operations: Object.keys(LISTS),
    check: (o) => {
      const b = bodyOf(o);
      const { total, limit, offset } = b;
      if (typeof total !== 'number' || typeof limit !== 'number' || typeof offset !== 'number') return [];
      const n = itemsOf(o).length;
      const want = Math.max(0, Math.min(limit, total - offset));
      return n === want
        ? []
        : [
            {
              pointer: '#/total',
              expected: `${n} item(s) at offset ${offset} means total ${n === limit ? `>= ${offset + n}` : offset + n}`,
              actual: String(total),
            },
          ];
    },
  },
  {
    id: 'page-unique-ids',
    summary: 'Item ids are unique within a page (and across the pages of one walk: `page-walk`).',
    operations: Object.keys(LISTS),
    check: (o) => {
      const id = LISTS[o.op.spec.operationId]!;
      const seen = new Set<unknown>();
      return itemsOf(o).flatMap((item, i) => {
        if (!seen.has(item[id])) {
          seen.add(item[id]);
          return [];
        }
        return [
          {
            pointer: `#/items/${i}/${id}`,
            expected: 'an id not already on the page',
            actual: json(item[id]),
          },
        ];
      });
    },
  },
  {
    id: 'page-walk',
    summary:
      'Walking a list one or two items at a time reaches its end: `total` stays the same, no id comes twice, and the pages joined are the list read at once.',
    operations: Object.keys(LISTS),
    kind: 'flow',
  },
  {
    id: 'detail-id',
    summary: 'A detail answers the id that was asked for.',
    operations: [...Object.keys(DETAILS), 'GetBalance', 'GetPremiseFeatures'],
    check: (o) => {
      const name = DETAILS[o.op.spec.operationId]?.[0] ?? Object.keys(o.pathParams).at(-1);
      if (!name || o.pathParams[name] === undefined) return [];
      const b = bodyOf(o);
      return b[name] === o.pathParams[name]
        ? []
        : [
            {
              pointer: `#/${name}`,
              expected: `${o.pathParams[name]} (the id asked for)`,
              actual: json(b[name]),
            },
          ];
    },
  },
  {
    id: 'detail-matches-list',
    summary:
      'A detail agrees field for field with the item of the list it came from (a PENDING payment may since have settled).',
    operations: Object.keys(DETAILS),
    check: (o, memory) => {
      const [name, list] = DETAILS[o.op.spec.operationId]!;
      const listed = memory.items.get(`${list} ${o.pathParams[name]}`);
      if (!listed) return [];
      const b = bodyOf(o);
      if (list === 'ListPayments' && listed.status === 'PENDING' && b.status !== 'PENDING') return [];
      const keys = [...new Set([...Object.keys(listed), ...Object.keys(b)])];
      return keys
        .filter((k) => !sameJson(listed[k], b[k]))
        .map((k) => ({
          pointer: `#/${k}`,
          expected: `${json(listed[k])} (as ${list} gave it)`,
          actual: json(b[k]),
        }));
    },
  },
  {
    id: 'me-is-caller',
    summary:
      "`GetCustomer` answers the account that logged in: its email is the login name (when that is an email), its ids are the token's `sub` and `acct` claims (when the token carries them).",
    operations: ['GetCustomer'],
    check: (o, memory) => {
      const b = bodyOf(o);
      const out: Finding[] = [];
      const user = memory.username;
      if (user?.includes('@') && typeof b.email === 'string' && b.email.toLowerCase() !== user.toLowerCase())
        out.push({ pointer: '#/email', expected: `${user} (the login name)`, actual: json(b.email) });
      const claims = jwtClaims(o.bearer);
      if (claims && typeof claims.acct === 'string') {
        if (claims.sub !== b.customerId)
          out.push({
            pointer: '#/customerId',
            expected: `${json(claims.sub)} (the token's sub)`,
            actual: json(b.customerId),
          });
        if (claims.acct !== b.accountNumber)
          out.push({
            pointer: '#/accountNumber',
            expected: `${claims.acct} (the token's acct)`,
            actual: json(b.accountNumber),
          });
      }
      return out;
    },
  },
  {
    id: 'child-names-parent',
    summary:
      'A child names the parent in its path: service points their premise, devices their service point, payments and balances their device, features their premise.',
    operations: Object.keys(PARENTS),
    check: (o) =>
      (PARENTS[o.op.spec.operationId] ?? []).flatMap(({ member, param, items }) => {
        const parent = o.pathParams[param] ?? o.query[param];
        if (parent === undefined) return [];
        const children = items
          ? itemsOf(o).map((item, i) => [`#/items/${i}`, item] as const)
          : [['#', bodyOf(o)] as const];
        return children
          .filter(([, child]) => child[member] !== parent)
          .map(([at, child]) => ({
            pointer: `${at}/${member}`,
            expected: `${parent} (the parent asked for)`,
            actual: json(child[member]),
          }));
      }),
  },
  {
    id: 'meter-fuel',
    summary:
      'A meter matches the fuel of its service point: an ESME sits on an electricity point (an MPAN), a GSME on a gas point (an MPRN); an electricity point is an MPAN core, a gas point an MPRN.',
    operations: ['ListServicePoints', 'GetServicePoint', 'ListDevices', 'GetDevice'],
    check: (o, memory) => {
      const op = o.op.spec.operationId;
      const b = bodyOf(o);
      if (op === 'ListServicePoints' || op === 'GetServicePoint') {
        const points =
          op === 'ListServicePoints'
            ? itemsOf(o).map((p, i) => [`#/items/${i}`, p] as const)
            : [['#', b] as const];
        return points.flatMap(([at, p]) => {
          const id = String(p.servicePointId);
          if (typeof p.fuelType === 'string') memory.fuelOf.set(id, p.fuelType);
          const ok =
            p.fuelType === 'ELECTRICITY'
              ? isValidMpanCore(id)
              : p.fuelType === 'GAS'
                ? isValidMprn(id)
                : true;
          return ok
            ? []
            : [
                {
                  pointer: `${at}/servicePointId`,
                  expected: `an ${p.fuelType === 'GAS' ? 'MPRN' : 'MPAN core'} (fuelType ${String(p.fuelType)})`,
                  actual: json(p.servicePointId),
                },
              ];
        });
      }
      const devices =
        op === 'ListDevices' ? itemsOf(o).map((d, i) => [`#/items/${i}`, d] as const) : [['#', b] as const];
      return devices.flatMap(([at, d]) => {
        const fuel = METER_FUEL[String(d.deviceType)];
        if (!fuel) return [];
        const sp = String(d.servicePointId);
        const known = memory.fuelOf.get(sp);
        const actualFuel =
          known ?? (isValidMpanCore(sp) ? 'ELECTRICITY' : isValidMprn(sp) ? 'GAS' : undefined);
        return actualFuel === undefined || actualFuel === fuel
          ? []
          : [
              {
                pointer: `${at}/deviceType`,
                expected: `a ${actualFuel === 'GAS' ? 'GSME' : 'ESME'} (service point ${sp} is ${actualFuel})`,
                actual: json(d.deviceType),
              },
            ];
      });
    },
  },
  {
    id: 'emergency-credit',
    summary:
      'Emergency credit available is within its limit, and emergency credit in use (`active`) means some of it is used (`availablePence < limitPence`).',
    operations: ['GetBalance'],
    check: (o) => {
      const ec = bodyOf(o).emergencyCredit;
      if (!isObject(ec) || typeof ec.availablePence !== 'number' || typeof ec.limitPence !== 'number')
        return [];
      if (ec.availablePence > ec.limitPence)
        return [
          {
            pointer: '#/emergencyCredit/availablePence',
            expected: `at most limitPence (${ec.limitPence})`,
            actual: String(ec.availablePence),
          },
        ];
      if (ec.active === true && ec.availablePence === ec.limitPence)
        return [
          {
            pointer: '#/emergencyCredit/active',
            expected: `false: nothing of the ${ec.limitPence} pence is in use`,
            actual: 'true',
          },
        ];
      return [];
    },
  },
  {
    id: 'not-in-future',
    summary: `Timestamps (\`...At\`) are not in the future, beyond ${CLOCK_SKEW_SECONDS} s of clock skew (a mock's own clock counts).`,
    operations: ['GetCustomer', 'GetBalance', 'ListPayments', 'GetPayment', 'MakePayment'],
    check: (o, memory) => {
      const limit = memory.now() + memory.clockOffsetMs + CLOCK_SKEW_SECONDS * 1000;
      return timestamps(o.res.body)
        .filter(([, v]) => Date.parse(v) > limit)
        .map(([at, v]) => ({
          pointer: at,
          expected: `not after ${new Date(limit).toISOString()} (now + skew)`,
          actual: v,
        }));
    },
  },
  {
    id: 'payments-newest-first',
    summary: 'ListPayments is newest first (`createdAt` never increases down the page).',
    operations: ['ListPayments'],
    check: (o) => {
      const items = itemsOf(o);
      for (let i = 1; i < items.length; i++) {
        const [a, b] = [Date.parse(String(items[i - 1]!.createdAt)), Date.parse(String(items[i]!.createdAt))];
        if (b > a)
          return [
            {
              pointer: `#/items/${i}/createdAt`,
              expected: `not after ${String(items[i - 1]!.createdAt)} (the item above)`,
              actual: String(items[i]!.createdAt),
            },
          ];
      }
      return [];
    },
  },
  {
    id: 'token-expiry',
    summary:
      "`expires_in` agrees with the token's own lifetime (`exp - iat`) when the access token is a JWT.",
    operations: TOKEN_OPERATIONS,
    check: (o) => {
      const b = bodyOf(o);
      const claims = jwtClaims(typeof b.access_token === 'string' ? b.access_token : undefined);
      if (
        !claims ||
        typeof claims.exp !== 'number' ||
        typeof claims.iat !== 'number' ||
        typeof b.expires_in !== 'number'
      )
        return [];
      const lifetime = claims.exp - claims.iat;
      return Math.abs(lifetime - b.expires_in) <= 5
        ? []
        : [
            {
              pointer: '#/expires_in',
              expected: `${lifetime} (the JWT's exp - iat)`,
              actual: String(b.expires_in),
            },
          ];
    },
  },
  {
    id: 'token-refresh-new',
    summary:
      'RefreshToken gives a new access token; a refresh token it returns is the one sent or (rotation) a new one.',
    operations: ['RefreshToken'],
    kind: 'flow',
  },
  {
    id: 'location-resolves',
    summary: "A created resource's `Location` answers 200 with the body the creation returned.",
    operations: ['MakePayment'],
    kind: 'flow',
  },
  {
    id: 'idempotent-replay',
    summary: 'The same Idempotency-Key with the same body answers the same status and body, and pays once.',
    operations: ['MakePayment'],
    kind: 'flow',
  },
  {
    id: 'top-up-balance',
    summary:
      "An applied top-up moves the balance in the domain's order: debt recovery share, then used emergency credit, then credit.",
    operations: ['MakePayment', 'GetBalance'],
    kind: 'flow',
  },
];

/** The rules by id. */
export const RULE_BY_ID: ReadonlyMap<string, SemanticRule> = new Map(RULES.map((r) => [r.id, r]));

/**
 * Runs every per-answer rule that applies to `o` (2xx answers with a JSON object body only) and
 * remembers list items for later comparisons. @returns the violations, each naming its rule.
 */
export function checkSemantics(o: Observed, memory: SemanticMemory): Violation[] {
  const { operationId } = o.op.spec;
  if (o.res.status < 200 || o.res.status >= 300 || !isObject(o.res.body)) return [];
  const out: Violation[] = [];
  for (const rule of RULES) {
    if (!rule.check || !rule.operations.includes(operationId)) continue;
    for (const f of rule.check(o, memory))
      out.push({ operationId, status: o.res.status, rule: rule.id, ...f });
  }
  const id = LISTS[operationId];
  if (id) for (const item of itemsOf(o)) memory.items.set(`${operationId} ${String(item[id])}`, item);
  return out;
}

/** A violation of rule `id` found by a flow step. */
export function semanticViolation(
  id: string,
  operationId: string,
  status: number,
  finding: Finding,
): Violation {
  if (!RULE_BY_ID.has(id)) throw new Error(`No semantic rule ${id}`);
  return { operationId, status, rule: id, ...finding };
}

/**
 * The balance a top-up of `amountPence` should leave (domain.md "Prepayment balances and top-ups"):
 * the debt recovery share (`recoveryRatePercent` of the amount, rounded down, at most what is owed),
 * then repaying used emergency credit (`limitPence - availablePence`), then the rest to credit.
 * @param before a Balance body (pence); @returns the members that must change, in pence.
 */
export function expectedAfterTopUp(
  before: Json,
  amountPence: number,
): { creditBalancePence: number; availablePence: number; outstandingPence: number } | undefined {
  const ec = before.emergencyCredit;
  const debt = before.debt;
  if (!isObject(ec) || !isObject(debt) || typeof before.creditBalancePence !== 'number') return undefined;
  const [limit, available, owed, rate] = [
    ec.limitPence,
    ec.availablePence,
    debt.outstandingPence,
    debt.recoveryRatePercent,
  ].map(Number) as [number, number, number, number];
  const recovered = Math.min(owed, Math.floor((amountPence * rate) / 100));
  const repaid = Math.min(amountPence - recovered, Math.max(0, limit - available));
  return {
    creditBalancePence: before.creditBalancePence + amountPence - recovered - repaid,
    availablePence: available + repaid,
    outstandingPence: owed - recovered,
  };
}
