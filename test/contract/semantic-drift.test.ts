/**
 * Proof that the harness checks meaning, not only shape (issue 9): each row mounts a fresh in-process
 * mock behind a middleware that changes the answers of one operation in a way that still validates
 * against the contract, runs the harness, and requires that every violation found is a semantic one
 * (the body still validates: no schema violation at all) and that the expected rule is blamed at the
 * drifted operation and place.
 */
import { runContract, violationsOf } from '../../harness/runner';
import type { RunOptions } from '../../harness/runner';
import { RULES } from '../../harness/semantics';
import type { Drift, Reply } from './helpers/drift';
import { driftedApp, targetOf } from './helpers/drift';

type Json = Record<string, unknown>;
const json = (reply: Reply): Json => reply.body as Json;
const items = (reply: Reply): Json[] => json(reply).items as Json[];

const ME = /^\/api\/identity\/customers\/me$/;
const PREMISES = /^\/api\/energy\/premises$/;
const PREMISE = /^\/api\/energy\/premises\/[^/]+$/;
const SERVICE_POINTS = /^\/api\/energy\/premises\/[^/]+\/servicepoints$/;
const SERVICE_POINT = /^\/api\/energy\/premises\/[^/]+\/servicepoints\/[^/]+$/;
const DEVICES_OR_DEVICE = /^\/api\/energy\/(servicepoints\/[^/]+\/devices|devices\/[^/]+)$/;
const BALANCE = /^\/api\/energy\/devices\/[^/]+\/balance$/;
const PAYMENTS = /^\/api\/energy\/payments$/;
const TOKEN = /^\/api\/identity\/(auth\/(TokenRequest|RefreshToken)|authorisation\/VerifyOTP)$/;

interface Row {
  kind: string;
  rule: string;
  operationId: string;
  pointer: string | RegExp;
  drift: Drift;
  suites?: RunOptions['suites'];
}

/** Applies `change` to each item of a list answer, or to a detail answer. */
const eachOf = (r: Reply, change: (x: Json) => void): void =>
  Array.isArray(json(r).items) ? items(r).forEach(change) : change(json(r));

const rows: Row[] = [
  {
    kind: 'total larger than the items a page holds',
    rule: 'page-total',
    operationId: 'ListServicePoints',
    pointer: '#/total',
    drift: {
      method: 'GET',
      path: SERVICE_POINTS,
      status: 200,
      apply: (r) => void ((json(r).total as number) += 5),
    },
  },
  {
    kind: 'limit not echoed (50 for any limit asked)',
    rule: 'page-echo',
    operationId: 'ListPremises',
    pointer: '#/limit',
    drift: { method: 'GET', path: PREMISES, status: 200, apply: (r) => void (json(r).limit = 50) },
  },
  {
    kind: 'more items than the limit asked for',
    rule: 'page-size',
    operationId: 'ListServicePoints',
    pointer: '#/items',
    drift: {
      method: 'GET',
      path: SERVICE_POINTS,
      status: 200,
      apply: (r) => {
        if (json(r).limit === 1 && items(r).length === 1) items(r).push({ ...items(r)[0] });
      },
    },
  },
  {
    kind: 'an item twice on a page',
    rule: 'page-unique-ids',
    operationId: 'ListServicePoints',
    pointer: /^#\/items\/\d+\/servicePointId$/,
    drift: {
      method: 'GET',
      path: SERVICE_POINTS,
      status: 200,
      apply: (r) => {
        const list = items(r);
        if (list.length >= 2 && json(r).limit !== 1) list[1] = { ...list[0] };
      },
    },
  },
  {
    kind: 'pages that do not join up (offset ignored: every page is the first)',
    rule: 'page-walk',
    operationId: 'ListDevices',
    pointer: /^#\/(items\/\d+\/deviceId|total|items)$/,
    drift: (() => {
      const firstPage = new Map<string, Json[]>();
      return {
        method: 'GET',
        path: DEVICES_OR_DEVICE,
        status: 200,
        apply: (r: Reply) => {
          // A walk one at a time gets offset 0's item whatever the offset (echoing the offset asked).
          if (!Array.isArray(json(r).items) || json(r).limit !== 1) return;
          const key = r.res.req.path;
          if (json(r).offset === 0) firstPage.set(key, structuredClone(items(r)));
          else if (firstPage.has(key)) json(r).items = structuredClone(firstPage.get(key));
        },
      };
    })(),
  },
  {
    kind: 'a detail of another premise than asked',
    rule: 'detail-id',
    operationId: 'GetPremise',
    pointer: '#/premiseId',
    drift: {
      method: 'GET',
      path: PREMISE,
      status: 200,
      apply: (r) => void (json(r).premiseId = '1234567890'),
    },
  },
  {
    kind: 'a detail that disagrees with its list item (status flipped)',
    rule: 'detail-matches-list',
    operationId: 'GetServicePoint',
    pointer: '#/status',
    drift: {
      method: 'GET',
      path: SERVICE_POINT,
      status: 200,
      apply: (r) => void (json(r).status = json(r).status === 'ENERGISED' ? 'DE_ENERGISED' : 'ENERGISED'),
    },
  },
  {
    kind: 'me is someone else (another email)',
    rule: 'me-is-caller',
    operationId: 'GetCustomer',
    pointer: '#/email',
    drift: {
      method: 'GET',
      path: ME,
      status: 200,
      apply: (r) => void (json(r).email = 'someone.else@example.com'),
    },
  },
  {
    kind: 'service points that name another premise',
    rule: 'child-names-parent',
    operationId: 'ListServicePoints',
    pointer: /^#\/items\/\d+\/premiseId$/,
    drift: {
      method: 'GET',
      path: SERVICE_POINTS,
      status: 200,
      apply: (r) => items(r).forEach((sp) => (sp.premiseId = '1234567890')),
    },
  },
  {
    kind: 'an electricity meter said to be a gas meter (ESME -> GSME)',
    rule: 'meter-fuel',
    operationId: 'ListDevices',
    pointer: /^#\/items\/\d+\/deviceType$/,
    drift: {
      method: 'GET',
      path: DEVICES_OR_DEVICE,
      status: 200,
      apply: (r) => eachOf(r, (d) => void (d.deviceType === 'ESME' && (d.deviceType = 'GSME'))),
    },
  },
  {
    kind: 'more emergency credit available than its limit',
    rule: 'emergency-credit',
    operationId: 'GetBalance',
    pointer: '#/emergencyCredit/availablePence',
    drift: {
      method: 'GET',
      path: BALANCE,
      status: 200,
      apply: (r) => {
        const ec = json(r).emergencyCredit as Json;
        ec.availablePence = (ec.limitPence as number) + 100;
        ec.active = false;
      },
    },
  },
  {
    kind: 'a balance dated tomorrow',
    rule: 'not-in-future',
    operationId: 'GetBalance',
    pointer: '#/asAt',
    drift: {
      method: 'GET',
      path: BALANCE,
      status: 200,
      apply: (r) => void (json(r).asAt = new Date(new Date().getTime() + 86_400_000).toISOString()),
    },
  },
  {
    kind: 'payments oldest first',
    rule: 'payments-newest-first',
    operationId: 'ListPayments',
    pointer: /^#\/items\/\d+\/createdAt$/,
    drift: {
      method: 'GET',
      path: PAYMENTS,
      status: 200,
      apply: (r) => void items(r).reverse(),
    },
    suites: ['flow', 'scenario'],
  },
  {
    kind: 'expires_in that disagrees with the JWT (7200 for a 3600 s token)',
    rule: 'token-expiry',
    operationId: 'TokenRequest',
    pointer: '#/expires_in',
    drift: {
      method: 'POST',
      path: /^\/api\/identity\/auth\/TokenRequest$/,
      status: 200,
      apply: (r) => void (json(r).expires_in = 7200),
    },
  },
  {
    kind: 'a refresh that answers the old access token',
    rule: 'token-refresh-new',
    operationId: 'RefreshToken',
    pointer: '#/access_token',
    drift: (() => {
      let issued: unknown;
      return {
        method: 'POST',
        path: TOKEN,
        status: 200,
        apply: (r: Reply) => {
          // Remember the newest token issued; a refresh answers it again.
          if (!r.res.req.path.endsWith('/RefreshToken')) issued = json(r).access_token;
          else if (issued !== undefined) json(r).access_token = issued;
        },
      };
    })(),
  },
  {
    kind: 'a Location that names another payment',
    rule: 'location-resolves',
    operationId: 'MakePayment',
    pointer: 'header:Location',
    drift: {
      method: 'POST',
      path: PAYMENTS,
      status: 201,
      apply: (r) =>
        void r.res.setHeader('Location', '/api/energy/payments/00000000-0000-4000-8000-000000000000'),
    },
  },
  {
    kind: 'an idempotent replay with another createdAt',
    rule: 'idempotent-replay',
    operationId: 'MakePayment',
    pointer: '#',
    drift: {
      method: 'POST',
      path: PAYMENTS,
      status: 201,
      apply: (r) => {
        if (r.res.getHeader('Idempotent-Replayed') === 'true')
          json(r).createdAt = new Date(Date.parse(String(json(r).createdAt)) - 60_000).toISOString();
      },
    },
  },
  {
    kind: 'a top-up that does not move the balance',
    rule: 'top-up-balance',
    operationId: 'GetBalance',
    pointer: '#/creditBalancePence',
    drift: (() => {
      let first: Json | undefined;
      return {
        method: 'GET',
        path: BALANCE,
        status: 200,
        apply: (r: Reply) => {
          // Every read answers the balance as it was first read.
          if (first === undefined) first = structuredClone(json(r));
          else r.body = { ...structuredClone(first), asAt: json(r).asAt };
        },
      };
    })(),
  },
];

test('every rule with a per-answer check or a flow step is documented once', () => {
  const ids = RULES.map((r) => r.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const r of RULES) {
    expect(r.summary.length).toBeGreaterThan(20);
    expect(r.operations.length).toBeGreaterThan(0);
    expect(Boolean(r.check) !== (r.kind === 'flow')).toBe(true);
  }
});

test('the rows cover at least 10 rules, and every rule has a row', () => {
  const covered = new Set(rows.map((r) => r.rule));
  expect(covered.size).toBeGreaterThanOrEqual(10);
  expect(RULES.map((r) => r.id).filter((id) => !covered.has(id))).toEqual([]);
});

test.each(rows)(
  '$kind: $rule blamed at $operationId $pointer',
  async ({ kind, rule, operationId, pointer, drift, suites }) => {
    const result = await runContract(targetOf(`semantic drift: ${kind}`, driftedApp(drift)), {
      suites: suites ?? ['flow'],
    });
    const found = violationsOf(result);
    // The drifted bodies still validate: nothing but semantic rules may fire.
    expect(found.filter((v) => v.rule === undefined)).toEqual([]);
    expect(found).toContainEqual(
      expect.objectContaining({
        rule,
        operationId,
        pointer: typeof pointer === 'string' ? pointer : expect.stringMatching(pointer),
      }),
    );
  },
);
