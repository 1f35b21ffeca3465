import { testMock } from '../../helpers/mock';
import type { PersonaId } from '../../helpers/mock';
import { commonErrorTests } from '../../helpers/common-errors';
import { SAMPLE, bearer, discover } from '../../helpers/operations';
import type { Device } from '../../helpers/operations';
import { expectProblem, expectValidationError, unexercisedStatuses } from '../../helpers/problems';

const mock = testMock();

const balanceOf = (deviceId: string) => `/api/energy/devices/${deviceId}/balance`;

commonErrorTests(mock, ['GetBalance']);

test.each<[PersonaId, Device['deviceType']]>([
  ['basic', 'ESME'],
  ['basic', 'GSME'],
  ['gas-only', 'GSME'],
  ['in-debt', 'ESME'],
  ['two-factor', 'ESME'],
])('GetBalance answers 200 for the %s persona\u2019s %s', async (id, type) => {
  const estate = await discover(mock, id);
  const meter = estate.device(type);
  const res = await mock.call('get', balanceOf(meter.deviceId)).set(bearer(estate.token));
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    deviceId: meter.deviceId,
    asAt: new Date(mock.clock.now()).toISOString(),
    creditBalancePence: expect.any(Number),
    emergencyCredit: {
      limitPence: expect.any(Number),
      thresholdPence: expect.any(Number),
      availablePence: expect.any(Number),
      active: expect.any(Boolean),
    },
    debt: { outstandingPence: expect.any(Number), recoveryRatePercent: expect.any(Number) },
    lowCreditWarningPence: expect.any(Number),
  });
  const { emergencyCredit } = res.body;
  expect(emergencyCredit.availablePence).toBeLessThanOrEqual(emergencyCredit.limitPence);
});

test('GetBalance shows the basic persona with no debt and no emergency credit in use', async () => {
  const estate = await discover(mock, 'basic');
  for (const type of ['ESME', 'GSME'] as const) {
    const res = await mock.call('get', balanceOf(estate.device(type).deviceId)).set(bearer(estate.token));
    expect(res.body.debt).toEqual({ outstandingPence: 0, recoveryRatePercent: 0 });
    expect(res.body.emergencyCredit.active).toBe(false);
    expect(res.body.emergencyCredit.availablePence).toBe(res.body.emergencyCredit.limitPence);
  }
});

test('GetBalance shows the in-debt persona with debt recovered from top-ups and emergency credit in use', async () => {
  const estate = await discover(mock, 'in-debt');
  const res = await mock.call('get', balanceOf(estate.device('ESME').deviceId)).set(bearer(estate.token));
  expect(res.body.debt.outstandingPence).toBeGreaterThan(0);
  expect(res.body.debt.recoveryRatePercent).toBeGreaterThan(0);
  expect(res.body.emergencyCredit.active).toBe(true);
  expect(res.body.emergencyCredit.availablePence).toBeLessThan(res.body.emergencyCredit.limitPence);
  expect(res.body.creditBalancePence).toBe(0);
});

test('GetBalance reads asAt from the clock', async () => {
  const estate = await discover(mock, 'gas-only');
  const path = balanceOf(estate.device('GSME').deviceId);
  mock.clock.advance(90.5);
  const res = await mock.call('get', path).set(bearer(estate.token));
  expect(res.body.asAt).toBe(new Date(mock.clock.now()).toISOString());
  expect(res.body.asAt).toMatch(/\.500Z$/);
});

test.each<Device['deviceType']>(['CHF', 'IHD', 'PPMID'])(
  'GetBalance on a %s is 409 not-prepayment',
  async (type) => {
    const estate = await discover(mock, 'basic');
    const d = estate.device(type);
    const res = await mock.call('get', balanceOf(d.deviceId)).set(bearer(estate.token));
    expectProblem(res, 'not-prepayment', { detail: new RegExp(`${d.deviceId}.*prepayment`) });
  },
);

test('GetBalance on a meter in credit mode is 409 not-prepayment', async () => {
  // In the seed-42 world the in-debt persona's second premise has credit meters.
  const estate = await discover(mock, 'in-debt');
  const creditMeter = estate.devices.find((d) => d.paymentMode === 'CREDIT');
  expect(creditMeter).toBeDefined();
  const res = await mock.call('get', balanceOf(creditMeter!.deviceId)).set(bearer(estate.token));
  expectProblem(res, 'not-prepayment');
});

test("GetBalance on another customer's meter is 404 not-found, never 403", async () => {
  const theirs = (await discover(mock, 'in-debt')).device('ESME').deviceId;
  const res = await mock.call('get', balanceOf(theirs)).set(bearer(await mock.token('basic')));
  expectProblem(res, 'not-found', { detail: /ListDevices/ });
});

test("GetBalance on another customer's comms hub is 404, not 409 (no existence leak)", async () => {
  const theirs = (await discover(mock, 'in-debt')).device('CHF').deviceId;
  const res = await mock.call('get', balanceOf(theirs)).set(bearer(await mock.token('basic')));
  expectProblem(res, 'not-found');
});

test('GetBalance on an unknown device is 404 not-found', async () => {
  const res = await mock.call('get', balanceOf(SAMPLE.deviceId)).set(bearer(await mock.token('basic')));
  expectProblem(res, 'not-found');
});

test('GetBalance rejects a malformed device id with 400 validation-error in path', async () => {
  const res = await mock
    .call('get', balanceOf('00-db-12-34-56-78-90-a0'))
    .set(bearer(await mock.token('basic')));
  expectValidationError(res, [{ in: 'path', pointer: '#/deviceId', detail: /pattern/ }]);
});

test('covers every status the contract declares for GetBalance', () => {
  expect(unexercisedStatuses(mock, 'GetBalance')).toEqual([]);
});
