import { testMock } from '../../helpers/mock';
import type { PersonaId } from '../../helpers/mock';
import { commonErrorTests } from '../../helpers/common-errors';
import { SAMPLE, bearer, discover } from '../../helpers/operations';
import type { ServicePoint } from '../../helpers/operations';
import { expectProblem, expectValidationError, unexercisedStatuses } from '../../helpers/problems';

const mock = testMock();

const ELECTRICITY_FIELDS = [
  'profileClass',
  'meterTimeSwitchCode',
  'lineLossFactorClass',
  'distributorId',
  'gspGroupId',
];
const sps = (premiseId: string) => `/api/energy/premises/${premiseId}/servicepoints`;

function expectServicePointShape(sp: ServicePoint, premiseId: string): void {
  expect(sp.premiseId).toBe(premiseId);
  expect(['ENERGISED', 'DE_ENERGISED']).toContain(sp.status);
  expect(sp.supplyStartDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  if (sp.fuelType === 'ELECTRICITY') {
    expect(sp.servicePointId).toMatch(/^[0-9]{13}$/);
    for (const f of ELECTRICITY_FIELDS) expect(sp[f]).toEqual(expect.any(String));
    expect(sp.servicePointId.slice(0, 2)).toBe(sp.distributorId);
  } else {
    expect(sp.servicePointId).toMatch(/^[0-9]{6,10}$/);
    for (const f of ELECTRICITY_FIELDS) expect(sp[f]).toBeUndefined();
  }
}

commonErrorTests(mock, ['ListServicePoints', 'GetServicePoint']);

// --- ListServicePoints --------------------------------------------------------------------------

test.each<[PersonaId, string[] | undefined]>([
  ['basic', ['ELECTRICITY', 'GAS']],
  ['gas-only', ['GAS']],
  ['in-debt', undefined],
])('ListServicePoints answers 200 with the %s persona\u2019s service points', async (id, fuels) => {
  const estate = await discover(mock, id);
  const premiseId = estate.premises[0]!.premiseId;
  const res = await mock.call('get', sps(premiseId)).set(bearer(estate.token));
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ limit: 20, offset: 0, total: res.body.items.length });
  const got = res.body.items.map((s: ServicePoint) => s.fuelType);
  if (fuels) expect(got).toEqual(fuels);
  else expect(got[0]).toBe('ELECTRICITY');
  for (const sp of res.body.items) expectServicePointShape(sp, premiseId);
});

test('ListServicePoints pages the basic persona\u2019s two service points', async () => {
  const estate = await discover(mock, 'basic');
  const path = sps(estate.premises[0]!.premiseId);
  const auth = bearer(estate.token);
  const first = await mock.call('get', path).query({ limit: 1 }).set(auth);
  const second = await mock.call('get', path).query({ limit: 1, offset: 1 }).set(auth);
  const past = await mock.call('get', path).query({ offset: 2 }).set(auth);
  expect(first.body).toMatchObject({ total: 2, limit: 1, offset: 0 });
  expect(second.body).toMatchObject({ total: 2, limit: 1, offset: 1 });
  expect([...first.body.items, ...second.body.items]).toEqual(estate.servicePoints);
  expect(past.body).toEqual({ items: [], total: 2, limit: 20, offset: 2 });
});

test.each([
  ['limit=0', [{ pointer: '#/limit', detail: />= 1/ }]],
  ['limit=101', [{ pointer: '#/limit', detail: /<= 100/ }]],
  ['limit=abc', [{ pointer: '#/limit', detail: /integer/ }]],
  ['limit=5&limit=6', [{ pointer: '#/limit', detail: /more than once/ }]],
  ['offset=-3', [{ pointer: '#/offset', detail: />= 0/ }]],
])('ListServicePoints rejects %s with 400 validation-error in query', async (query, errors) => {
  const estate = await discover(mock, 'basic');
  const res = await mock
    .call('get', `${sps(estate.premises[0]!.premiseId)}?${query}`)
    .set(bearer(estate.token));
  expectValidationError(
    res,
    errors.map((e) => ({ in: 'query' as const, ...e })),
  );
});

test('ListServicePoints lists a malformed premise id and a bad limit together', async () => {
  const res = await mock.call('get', `${sps('12ab')}?limit=0`).set(bearer(await mock.token('basic')));
  expectValidationError(res, [
    { in: 'path', pointer: '#/premiseId', detail: /pattern/ },
    { in: 'query', pointer: '#/limit', detail: />= 1/ },
  ]);
});

test("ListServicePoints answers another customer's premise with 404 not-found, never 403", async () => {
  const theirs = (await discover(mock, 'in-debt')).premises[0]!.premiseId;
  const res = await mock.call('get', sps(theirs)).set(bearer(await mock.token('basic')));
  expectProblem(res, 'not-found', { detail: /ListPremises/ });
});

test('ListServicePoints answers an unknown premise with 404 not-found', async () => {
  const res = await mock.call('get', sps(SAMPLE.premiseId)).set(bearer(await mock.token('basic')));
  expectProblem(res, 'not-found');
});

// --- GetServicePoint ----------------------------------------------------------------------------

test.each<PersonaId>(['basic', 'gas-only', 'in-debt'])(
  'GetServicePoint answers 200 with each of the %s persona\u2019s service points as listed',
  async (id) => {
    const estate = await discover(mock, id);
    for (const sp of estate.servicePoints) {
      const res = await mock
        .call('get', `${sps(sp.premiseId)}/${sp.servicePointId}`)
        .set(bearer(estate.token));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(sp);
      expectServicePointShape(res.body, sp.premiseId);
    }
  },
);

test("GetServicePoint answers another customer's service point under the caller's premise with 404", async () => {
  const mine = await discover(mock, 'basic');
  const theirs = (await discover(mock, 'gas-only')).servicePoint('GAS');
  const res = await mock
    .call('get', `${sps(mine.premises[0]!.premiseId)}/${theirs.servicePointId}`)
    .set(bearer(mine.token));
  expectProblem(res, 'not-found');
});

test("GetServicePoint answers the caller's service point under another customer's premise with 404", async () => {
  const mine = await discover(mock, 'basic');
  const theirPremise = (await discover(mock, 'gas-only')).premises[0]!.premiseId;
  const res = await mock
    .call('get', `${sps(theirPremise)}/${mine.servicePoint('ELECTRICITY').servicePointId}`)
    .set(bearer(mine.token));
  expectProblem(res, 'not-found');
});

test("GetServicePoint answers another customer's service point under their own premise with 404, never 403", async () => {
  const theirs = (await discover(mock, 'gas-only')).servicePoint('GAS');
  const res = await mock
    .call('get', `${sps(theirs.premiseId)}/${theirs.servicePointId}`)
    .set(bearer(await mock.token('basic')));
  expectProblem(res, 'not-found');
});

test("GetServicePoint answers the caller's service point under the caller's other premise with 404", async () => {
  // In the seed-42 world the in-debt persona has two premises.
  const estate = await discover(mock, 'in-debt');
  expect(estate.premises.length).toBeGreaterThanOrEqual(2);
  const [a, b] = estate.premises as [{ premiseId: string }, { premiseId: string }];
  const spOfB = estate.servicePoints.find((s) => s.premiseId === b.premiseId)!;
  const res = await mock.call('get', `${sps(a.premiseId)}/${spOfB.servicePointId}`).set(bearer(estate.token));
  expectProblem(res, 'not-found', { detail: /has no service point/ });
});

test('GetServicePoint answers a well-formed MPAN that is nobody\u2019s with 404', async () => {
  const estate = await discover(mock, 'basic');
  const res = await mock
    .call('get', `${sps(estate.premises[0]!.premiseId)}/${SAMPLE.servicePointId}`)
    .set(bearer(estate.token));
  expectProblem(res, 'not-found');
});

test('GetServicePoint rejects malformed ids with 400 validation-error in path, listing both', async () => {
  const estate = await discover(mock, 'basic');
  const premiseId = estate.premises[0]!.premiseId;
  const auth = bearer(estate.token);
  for (const bad of ['12345', '12345678901234', 'abcdef']) {
    const res = await mock.call('get', `${sps(premiseId)}/${bad}`).set(auth);
    expectValidationError(res, [{ in: 'path', pointer: '#/servicePointId', detail: /pattern/ }], {
      detail: /servicePointId/,
    });
  }
  const both = await mock.call('get', `${sps('x')}/y`).set(auth);
  expectValidationError(both, [
    { in: 'path', pointer: '#/premiseId' },
    { in: 'path', pointer: '#/servicePointId' },
  ]);
});

test('covers every status the contract declares for ListServicePoints and GetServicePoint', () => {
  expect(unexercisedStatuses(mock, 'ListServicePoints')).toEqual([]);
  expect(unexercisedStatuses(mock, 'GetServicePoint')).toEqual([]);
});
