import { testMock } from '../../helpers/mock';
import type { PersonaId } from '../../helpers/mock';
import { commonErrorTests } from '../../helpers/common-errors';
import { SAMPLE, bearer, discover } from '../../helpers/operations';
import type { Device } from '../../helpers/operations';
import { expectProblem, expectValidationError, unexercisedStatuses } from '../../helpers/problems';

const mock = testMock();

const devicesOf = (servicePointId: string) => `/api/energy/servicepoints/${servicePointId}/devices`;
const device = (deviceId: string) => `/api/energy/devices/${deviceId}`;
const MALFORMED_DEVICE_IDS = [
  '00-db-12-34-56-78-90-a0',
  '00DB1234567890A0',
  '00-DB-12-34-56-78-90',
  '00-DB-12-34-56-78-90-A0-11',
  'GG-DB-12-34-56-78-90-A0',
];

function expectDeviceShape(d: Device, servicePointId: string): void {
  expect(d.servicePointId).toBe(servicePointId);
  expect(d.deviceId).toMatch(/^[0-9A-F]{2}(-[0-9A-F]{2}){7}$/);
  if (d.deviceType === 'ESME' || d.deviceType === 'GSME') {
    expect(['CREDIT', 'PREPAYMENT']).toContain(d.paymentMode);
  } else {
    expect(d.paymentMode).toBeUndefined();
  }
}

commonErrorTests(mock, ['ListDevices', 'GetDevice']);

// --- ListDevices --------------------------------------------------------------------------------

test.each<[PersonaId, 'ELECTRICITY' | 'GAS', string[]]>([
  ['basic', 'ELECTRICITY', ['ESME', 'CHF', 'IHD', 'PPMID']],
  ['basic', 'GAS', ['GSME']],
  ['gas-only', 'GAS', ['GSME', 'CHF', 'IHD', 'PPMID']],
  ['in-debt', 'ELECTRICITY', ['ESME', 'CHF', 'IHD', 'PPMID']],
])('ListDevices answers 200 with the %s persona\u2019s %s devices, meter first', async (id, fuel, types) => {
  const estate = await discover(mock, id);
  const sp = estate.servicePoint(fuel);
  const res = await mock.call('get', devicesOf(sp.servicePointId)).set(bearer(estate.token));
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ total: types.length, limit: 20, offset: 0 });
  expect(res.body.items.map((d: Device) => d.deviceType)).toEqual(types);
  for (const d of res.body.items) expectDeviceShape(d, sp.servicePointId);
  expect(res.body.items[0].paymentMode).toBe('PREPAYMENT');
});

test('ListDevices pages: limit=2&offset=1 is the middle of the list, an offset past the end is empty', async () => {
  const estate = await discover(mock, 'basic');
  const path = devicesOf(estate.servicePoint('ELECTRICITY').servicePointId);
  const auth = bearer(estate.token);
  const all = (await mock.call('get', path).set(auth)).body.items as Device[];
  const middle = await mock.call('get', path).query({ limit: 2, offset: 1 }).set(auth);
  expect(middle.body).toEqual({ items: all.slice(1, 3), total: 4, limit: 2, offset: 1 });
  const pages: Device[] = [];
  for (let offset = 0; offset < 4; offset += 3) {
    pages.push(...(await mock.call('get', path).query({ limit: 3, offset }).set(auth)).body.items);
  }
  expect(pages).toEqual(all);
  const past = await mock.call('get', path).query({ offset: 4 }).set(auth);
  expect(past.body).toEqual({ items: [], total: 4, limit: 20, offset: 4 });
  const max = await mock.call('get', path).query({ limit: 100 }).set(auth);
  expect(max.body.items).toEqual(all);
});

test.each([
  ['limit=0', [{ pointer: '#/limit', detail: />= 1/ }]],
  ['limit=101', [{ pointer: '#/limit', detail: /<= 100/ }]],
  ['limit=abc', [{ pointer: '#/limit', detail: /integer/ }]],
  ['limit=5&limit=6', [{ pointer: '#/limit', detail: /more than once/ }]],
  ['offset=x&limit=0', [{ pointer: '#/offset' }, { pointer: '#/limit' }]],
])('ListDevices rejects %s with 400 validation-error in query', async (query, errors) => {
  const estate = await discover(mock, 'basic');
  const res = await mock
    .call('get', `${devicesOf(estate.servicePoint('GAS').servicePointId)}?${query}`)
    .set(bearer(estate.token));
  expectValidationError(
    res,
    errors.map((e) => ({ in: 'query' as const, ...e })),
  );
});

test("ListDevices answers another customer's service point with 404 not-found, never 403", async () => {
  const theirs = (await discover(mock, 'gas-only')).servicePoint('GAS').servicePointId;
  const res = await mock.call('get', devicesOf(theirs)).set(bearer(await mock.token('basic')));
  expectProblem(res, 'not-found', { detail: /ListServicePoints/ });
});

test('ListDevices answers a well-formed MPAN that is nobody\u2019s with 404 not-found', async () => {
  const res = await mock.call('get', devicesOf(SAMPLE.servicePointId)).set(bearer(await mock.token('basic')));
  expectProblem(res, 'not-found');
});

test('ListDevices rejects malformed service point ids with 400 validation-error in path', async () => {
  const auth = bearer(await mock.token('basic'));
  for (const bad of ['12345', '12345678901234', 'MPAN123456']) {
    const res = await mock.call('get', devicesOf(bad)).set(auth);
    expectValidationError(res, [{ in: 'path', pointer: '#/servicePointId', detail: /pattern/ }]);
  }
});

// --- GetDevice ----------------------------------------------------------------------------------

test.each<PersonaId>(['basic', 'gas-only', 'in-debt'])(
  'GetDevice answers 200 with each of the %s persona\u2019s devices as listed',
  async (id) => {
    const estate = await discover(mock, id);
    expect(estate.devices.length).toBeGreaterThan(0);
    for (const d of estate.devices) {
      const res = await mock.call('get', device(d.deviceId)).set(bearer(estate.token));
      expect(res.status).toBe(200);
      expect(res.body).toEqual(d);
    }
  },
);

test("GetDevice answers another customer's device with 404 not-found, never 403, as for an unknown id", async () => {
  const theirs = (await discover(mock, 'in-debt')).device('ESME').deviceId;
  const auth = bearer(await mock.token('basic'));
  const res = await mock.call('get', device(theirs)).set(auth);
  const body = expectProblem(res, 'not-found', { detail: /ListDevices/ });
  const unknown = await mock.call('get', device(SAMPLE.deviceId)).set(auth);
  expectProblem(unknown, 'not-found');
  expect((body.detail as string).replace(theirs, 'ID')).toBe(
    (unknown.body.detail as string).replace(SAMPLE.deviceId, 'ID'),
  );
});

test.each(MALFORMED_DEVICE_IDS)(
  'GetDevice rejects the malformed id %s with 400 validation-error in path',
  async (bad) => {
    const res = await mock.call('get', device(bad)).set(bearer(await mock.token('basic')));
    expectValidationError(res, [{ in: 'path', pointer: '#/deviceId', detail: /pattern/ }], {
      detail: /deviceId/,
    });
  },
);

test('covers every status the contract declares for ListDevices and GetDevice', () => {
  expect(unexercisedStatuses(mock, 'ListDevices')).toEqual([]);
  expect(unexercisedStatuses(mock, 'GetDevice')).toEqual([]);
});
