import type { Violation } from '../contract-kit';
import { expectContract } from './checks';
import type { RequestSpec, Session } from './session';
import {
  LISTS,
  checkSemantics,
  expectedAfterTopUp,
  jwtClaims,
  sameJson,
  semanticViolation,
} from './semantics';
import type { HttpResponse } from './types';

/**
 * The flow's steps for the semantic rules that need several requests (`kind: 'flow'` in
 * harness/semantics.ts): a walk through a list in small pages, a refresh, a payment's Location, its
 * idempotent replay and the balance it moved. Each records one case whose violations name their rule.
 */

type Json = Record<string, unknown>;
const asJson = (res: HttpResponse): Json =>
  res.body && typeof res.body === 'object' && !Array.isArray(res.body) ? (res.body as Json) : {};
const itemsOf = (res: HttpResponse): Json[] =>
  Array.isArray(asJson(res).items) ? (asJson(res).items as Json[]) : [];

/** The most pages one walk reads (a bound on requests whatever the target answers). */
export const MAX_WALK_PAGES = 60;

/**
 * Walks a list `limit` items at a time from offset 0 to its end (or {@link MAX_WALK_PAGES} pages), each
 * page checked against the contract and the per-answer rules, and checks `page-walk`: `total` never
 * changes, no id comes twice, the walk ends where `total` says, and the ids joined are `whole`'s (the
 * list read at once, when it held everything).
 * @param whole the answer to the same list read in one page, to compare with.
 */
export async function walkPages(
  s: Session,
  operationId: string,
  spec: RequestSpec,
  limit: number,
  whole: HttpResponse | undefined,
  suite: 'flow' | 'scenario' = 'flow',
): Promise<void> {
  const started = performance.now();
  const op = s.op(operationId);
  const idName = LISTS[operationId]!;
  const violations: Violation[] = [];
  const walk = (pointer: string, expected: string, actual: string, status = 200): void =>
    void violations.push(semanticViolation('page-walk', operationId, status, { pointer, expected, actual }));
  const ids: unknown[] = [];
  let total: number | undefined;
  let offset = 0;
  let pages = 0;
  let lastStatus = 200;
  while (pages < MAX_WALK_PAGES) {
    const query = { ...(spec.query ?? {}), limit: String(limit), offset: String(offset) };
    const res = await s.send(operationId, { ...spec, query });
    pages++;
    lastStatus = res.status;
    violations.push(...expectContract(op, res, { statuses: [200] }));
    if (res.status !== 200) break;
    violations.push(
      ...checkSemantics(
        { op, pathParams: spec.pathParams ?? {}, query, res, bearer: s.ctx.accessToken },
        s.memory,
      ),
    );
    const page = asJson(res);
    if (typeof page.total !== 'number') break;
    if (total !== undefined && page.total !== total)
      walk('#/total', `${total} (as on the first page of the walk)`, String(page.total));
    total ??= page.total;
    const items = itemsOf(res);
    items.forEach((item, i) => {
      if (ids.some((id) => id === item[idName]))
        walk(
          `#/items/${i}/${idName}`,
          `an id not on an earlier page (offset ${offset})`,
          JSON.stringify(item[idName]),
        );
      ids.push(item[idName]);
    });
    offset += limit;
    if (offset >= total) break;
    if (items.length === 0) {
      walk('#/items', `items up to total ${total}`, `an empty page at offset ${offset - limit}`);
      break;
    }
  }
  if (total !== undefined && pages === MAX_WALK_PAGES && offset < total) {
    // A bounded walk: only what it read is compared.
  } else if (total !== undefined && ids.length !== total) {
    walk('#/total', `${ids.length} (the items the walk found)`, String(total), lastStatus);
  }
  const wholeIds = whole && whole.status === 200 ? itemsOf(whole).map((i) => i[idName]) : undefined;
  if (wholeIds && wholeIds.length === asJson(whole!).total) {
    const joined = ids.slice(0, wholeIds.length);
    if (!sameJson(joined, wholeIds))
      walk(
        '#/items',
        `the ids of the list read at once, in order (${wholeIds.length})`,
        `${JSON.stringify(joined).slice(0, 200)}`,
      );
  }
  s.record({
    name: `${operationId}: walked ${limit} at a time to the end (${pages} page(s))`,
    suite,
    operationId,
    status: lastStatus,
    violations,
    durationMs: performance.now() - started,
  });
}

/**
 * `token-refresh-new`: the access token a refresh gives is not the one it replaces; a refresh token in
 * the answer is the one sent, or (rotation, RFC 9700 section 4.14.2) a new one that the run then uses.
 */
export function refreshFindings(res: HttpResponse, before: string | undefined): Violation[] {
  const body = asJson(res);
  if (res.status !== 200 || typeof body.access_token !== 'string') return [];
  if (body.access_token === before)
    return [
      semanticViolation('token-refresh-new', 'RefreshToken', res.status, {
        pointer: '#/access_token',
        expected: 'a new access token',
        actual: 'the access token it replaces',
      }),
    ];
  const [old, now] = [jwtClaims(before), jwtClaims(body.access_token)];
  if (old && now && old.sub !== undefined && old.sub !== now.sub)
    return [
      semanticViolation('token-refresh-new', 'RefreshToken', res.status, {
        pointer: '#/access_token',
        expected: `a token of the same subject (sub ${JSON.stringify(old.sub)})`,
        actual: `sub ${JSON.stringify(now.sub)}`,
      }),
    ];
  return [];
}

/**
 * After a payment was made (`created`, its 201 answer, sent with `idempotencyKey` and `body`): its
 * `Location` answers the same payment (`location-resolves`), the same key and body replay the same answer
 * (`idempotent-replay`), and the balance moved once, as the domain says (`top-up-balance`).
 * @param before the GetBalance answer from before the payment.
 */
export async function afterPayment(
  s: Session,
  created: HttpResponse,
  request: { body: Json; idempotencyKey: string },
  before: HttpResponse | undefined,
): Promise<void> {
  const payment = asJson(created);
  // location-resolves
  const location = created.headers.location ?? '';
  const op = s.op('GetPayment');
  const template = new RegExp(
    '^(?:https?://[^/]+)?' + op.spec.path.replace(/\{[^}]+\}/g, '([^/?#]+)').replace(/\//g, '\\/') + '$',
  );
  const match = template.exec(location);
  if (!match) {
    s.record({
      name: 'MakePayment: the Location of the payment',
      suite: 'flow',
      operationId: 'MakePayment',
      status: created.status,
      violations: [
        semanticViolation('location-resolves', 'MakePayment', created.status, {
          pointer: 'header:Location',
          expected: `a path of GetPayment (${op.spec.path})`,
          actual: location || 'absent',
        }),
      ],
      durationMs: 0,
    });
  } else {
    const paymentId = decodeURIComponent(match[1]!);
    await s.check(
      'GetPayment: the Location of the payment made',
      'flow',
      'GetPayment',
      { pathParams: { paymentId } },
      {},
      (r) =>
        r.status !== 200
          ? [
              semanticViolation('location-resolves', 'MakePayment', created.status, {
                pointer: 'header:Location',
                expected: 'a Location that answers 200',
                actual: `${location} answered ${r.status}`,
              }),
            ]
          : sameJson(asJson(r), payment)
            ? []
            : [
                semanticViolation('location-resolves', 'GetPayment', r.status, {
                  pointer: '#',
                  expected: 'the payment MakePayment answered',
                  actual: JSON.stringify(asJson(r)).slice(0, 200),
                }),
              ],
    );
  }
  // idempotent-replay
  await s.check(
    'MakePayment: the same Idempotency-Key and body again (a replay)',
    'flow',
    'MakePayment',
    { json: request.body, headers: { 'Idempotency-Key': request.idempotencyKey } },
    { statuses: [created.status] },
    (r) =>
      r.status === created.status && !sameJson(asJson(r), payment)
        ? [
            semanticViolation('idempotent-replay', 'MakePayment', r.status, {
              pointer: '#',
              expected: 'the body of the first answer',
              actual: JSON.stringify(asJson(r)).slice(0, 200),
            }),
          ]
        : [],
  );
  // top-up-balance: only an applied payment moves the balance.
  if (!before || before.status !== 200 || payment.status !== 'APPLIED') return;
  const deviceId = String(request.body.deviceId);
  const want = expectedAfterTopUp(asJson(before), Number(request.body.amountPence));
  if (!want) return;
  await s.check(
    `GetBalance: moved by the top-up of ${String(request.body.amountPence)} pence, once`,
    'flow',
    'GetBalance',
    { pathParams: { deviceId } },
    { statuses: [200] },
    (r) => {
      if (r.status !== 200) return [];
      const after = asJson(r);
      const ec = (after.emergencyCredit ?? {}) as Json;
      const debt = (after.debt ?? {}) as Json;
      const seen: [string, unknown, number][] = [
        ['#/creditBalancePence', after.creditBalancePence, want.creditBalancePence],
        ['#/emergencyCredit/availablePence', ec.availablePence, want.availablePence],
        ['#/debt/outstandingPence', debt.outstandingPence, want.outstandingPence],
      ];
      return seen
        .filter(([, actual, expected]) => actual !== expected)
        .map(([pointer, actual, expected]) =>
          semanticViolation('top-up-balance', 'GetBalance', r.status, {
            pointer,
            expected: `${expected} (before, plus the top-up in the domain's order)`,
            actual: JSON.stringify(actual),
          }),
        );
    },
  );
}
