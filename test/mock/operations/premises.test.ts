import { persona, testMock } from '../../helpers/mock';
import type { PersonaId } from '../../helpers/mock';
import { commonErrorTests } from '../../helpers/common-errors';
import { SAMPLE, bearer, discover } from '../../helpers/operations';
import { expectProblem, expectValidationError, unexercisedStatuses } from '../../helpers/problems';

const mock = testMock();

const PREMISES = '/api/energy/premises';
const FEATURE_CODES = [
  'ELECTRICITY_SUPPLY',
  'GAS_SUPPLY',
  'SMART_METER',
  'PREPAYMENT',
  'MULTI_RATE',
  'EXPORT',
  'PRIORITY_SERVICES',
];

commonErrorTests(mock, ['ListPremises', 'GetPremise', 'GetPremiseFeatures']);

// --- ListPremises -------------------------------------------------------------------------------

test.each<[PersonaId, number | undefined]>([
  ['basic', 1],
  ['gas-only', 1],
  ['in-debt', undefined],
])('ListPremises answers 200 with the %s persona\u2019s premises, one page', async (id, count) => {
  const res = await mock.call('get', PREMISES).set(bearer(await mock.token(id)));
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ limit: 20, offset: 0 });
  if (count !== undefined) expect(res.body.total).toBe(count);
  expect(res.body.items).toHaveLength(res.body.total);
  expect(res.body.total).toBeGreaterThanOrEqual(1);
  const postcodes = res.body.items.map((p: { address: { postcode: string } }) => p.address.postcode);
  expect(postcodes).toContain(persona(id).postcode);
  for (const premise of res.body.items) {
    expect(premise.premiseId).toMatch(/^[0-9]{10}$/);
    expect(premise.uprn).toMatch(/^[0-9]{1,12}$/);
    expect(premise.movedInDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  }
});

test('ListPremises pages: limit=1 gives one item, an offset past the end gives no items with the true total', async () => {
  const auth = bearer(await mock.token('basic'));
  const first = await mock.call('get', PREMISES).query({ limit: 1, offset: 0 }).set(auth);
  expect(first.body).toMatchObject({ total: 1, limit: 1, offset: 0 });
  expect(first.body.items).toHaveLength(1);
  const past = await mock.call('get', PREMISES).query({ limit: 100, offset: 5 }).set(auth);
  expect(past.status).toBe(200);
  expect(past.body).toEqual({ items: [], total: 1, limit: 100, offset: 5 });
});

test.each([
  ['limit=0', 'limit=0', [{ pointer: '#/limit', detail: />= 1/ }]],
  ['limit=101', 'limit=101', [{ pointer: '#/limit', detail: /<= 100/ }]],
  ['limit=abc', 'limit=abc', [{ pointer: '#/limit', detail: /integer/ }]],
  ['limit=5&limit=6', 'limit=5&limit=6', [{ pointer: '#/limit', detail: /more than once/ }]],
  ['limit=2.5', 'limit=2.5', [{ pointer: '#/limit', detail: /integer/ }]],
  ['offset=-1', 'offset=-1', [{ pointer: '#/offset', detail: />= 0/ }]],
  ['offset=abc', 'offset=abc', [{ pointer: '#/offset', detail: /integer/ }]],
  [
    'limit=0&offset=-1',
    'limit=0&offset=-1',
    [
      { pointer: '#/limit', detail: />= 1/ },
      { pointer: '#/offset', detail: />= 0/ },
    ],
  ],
])('ListPremises rejects %s with 400 validation-error in query', async (_name, query, errors) => {
  const res = await mock.call('get', `${PREMISES}?${query}`).set(bearer(await mock.token('basic')));
  expectValidationError(
    res,
    errors.map((e) => ({ in: 'query' as const, ...e })),
    { detail: /limit|offset/ },
  );
});

// --- GetPremise ---------------------------------------------------------------------------------

test.each<PersonaId>(['basic', 'gas-only', 'in-debt'])(
  'GetPremise answers 200 with each of the %s persona\u2019s premises as ListPremises shows it',
  async (id) => {
    const estate = await discover(mock, id);
    for (const premise of estate.premises) {
      const res = await mock.call('get', `${PREMISES}/${premise.premiseId}`).set(bearer(estate.token));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(premise);
    }
  },
);

test.each([
  ['GetPremise', ''],
  ['GetPremiseFeatures', '/features'],
])(
  "%s answers another customer's premise with 404 not-found, never 403, as for an unknown id",
  async (_op, suffix) => {
    const theirs = (await discover(mock, 'gas-only')).premises[0]!.premiseId;
    const auth = bearer(await mock.token('basic'));
    const res = await mock.call('get', `${PREMISES}/${theirs}${suffix}`).set(auth);
    const body = expectProblem(res, 'not-found', { detail: /ListPremises/ });
    const unknown = await mock.call('get', `${PREMISES}/${SAMPLE.premiseId}${suffix}`).set(auth);
    expectProblem(unknown, 'not-found');
    expect((body.detail as string).replace(theirs, 'ID')).toBe(
      (unknown.body.detail as string).replace(SAMPLE.premiseId, 'ID'),
    );
  },
);

test.each([
  ['GetPremise', ''],
  ['GetPremiseFeatures', '/features'],
])('%s rejects malformed premise ids with 400 validation-error in path', async (_op, suffix) => {
  const auth = bearer(await mock.token('basic'));
  for (const bad of ['abc', '123456789', '12345678901', '12345abcde']) {
    const res = await mock.call('get', `${PREMISES}/${bad}${suffix}`).set(auth);
    expectValidationError(res, [{ in: 'path', pointer: '#/premiseId', detail: /pattern/ }], {
      detail: /premiseId/,
    });
  }
});

// --- GetPremiseFeatures -------------------------------------------------------------------------

async function features(id: PersonaId): Promise<Record<string, { enabled: boolean; value?: string }>> {
  const estate = await discover(mock, id);
  const premiseId = estate.premises[0]!.premiseId;
  const res = await mock.call('get', `${PREMISES}/${premiseId}/features`).set(bearer(estate.token));
  expect(res.status).toBe(200);
  expect(res.body.premiseId).toBe(premiseId);
  expect(res.body.features.map((f: { code: string }) => f.code)).toEqual(FEATURE_CODES);
  for (const f of res.body.features) {
    if (f.code !== 'SMART_METER' || !f.enabled) expect(f.value).toBeUndefined();
  }
  return Object.fromEntries(
    res.body.features.map((f: { code: string; enabled: boolean; value?: string }) => [f.code, f]),
  );
}

test('GetPremiseFeatures answers the basic persona: dual fuel, SMETS2 prepayment, in the fixed order', async () => {
  const f = await features('basic');
  expect(f.ELECTRICITY_SUPPLY!.enabled).toBe(true);
  expect(f.GAS_SUPPLY!.enabled).toBe(true);
  expect(f.SMART_METER).toEqual({ code: 'SMART_METER', enabled: true, value: 'SMETS2' });
  expect(f.PREPAYMENT!.enabled).toBe(true);
});

test('GetPremiseFeatures answers the gas-only persona: gas, no electricity, prepayment', async () => {
  const f = await features('gas-only');
  expect(f.ELECTRICITY_SUPPLY!.enabled).toBe(false);
  expect(f.GAS_SUPPLY!.enabled).toBe(true);
  expect(f.PREPAYMENT!.enabled).toBe(true);
  expect(f.MULTI_RATE!.enabled).toBe(false);
  expect(f.EXPORT!.enabled).toBe(false);
});

test('GetPremiseFeatures answers the in-debt persona: electricity, prepayment', async () => {
  const f = await features('in-debt');
  expect(f.ELECTRICITY_SUPPLY!.enabled).toBe(true);
  expect(f.PREPAYMENT!.enabled).toBe(true);
  expect(f.SMART_METER!.enabled).toBe(true);
  expect(['SMETS1', 'SMETS2']).toContain(f.SMART_METER!.value);
});

test('covers every status the contract declares for ListPremises, GetPremise and GetPremiseFeatures', () => {
  expect(unexercisedStatuses(mock, 'ListPremises')).toEqual([]);
  expect(unexercisedStatuses(mock, 'GetPremise')).toEqual([]);
  expect(unexercisedStatuses(mock, 'GetPremiseFeatures')).toEqual([]);
});
