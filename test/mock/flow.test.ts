import request from 'supertest';
import { CLIENT, persona, testMock } from '../helpers/mock';

const mock = testMock();

test('the basic persona logs in, walks premises to devices, tops up and sees the balance rise by exactly N', async () => {
  const token = await mock.token('basic');
  const auth = { Authorization: `Bearer ${token}` };
  const premises = await mock.call('get', '/api/energy/premises').set(auth);
  expect(premises.status).toBe(200);
  expect(premises.body.total).toBe(1);
  const premiseId = premises.body.items[0].premiseId;
  const features = await mock.call('get', `/api/energy/premises/${premiseId}/features`).set(auth);
  expect(features.status).toBe(200);
  const sps = await mock.call('get', `/api/energy/premises/${premiseId}/servicepoints`).set(auth);
  expect(sps.body.items.map((s: { fuelType: string }) => s.fuelType).sort()).toEqual(['ELECTRICITY', 'GAS']);
  const elec = sps.body.items.find((s: { fuelType: string }) => s.fuelType === 'ELECTRICITY');
  const sp = await mock
    .call('get', `/api/energy/premises/${premiseId}/servicepoints/${elec.servicePointId}`)
    .set(auth);
  expect(sp.status).toBe(200);
  const devices = await mock
    .call('get', `/api/energy/servicepoints/${elec.servicePointId}/devices`)
    .set(auth);
  const meter = devices.body.items.find((d: { deviceType: string }) => d.deviceType === 'ESME');
  const device = await mock.call('get', `/api/energy/devices/${meter.deviceId}`).set(auth);
  expect(device.body.paymentMode).toBe('PREPAYMENT');
  const before = await mock.call('get', `/api/energy/devices/${meter.deviceId}/balance`).set(auth);
  expect(before.status).toBe(200);
  const paid = await mock
    .call('post', '/api/energy/payments')
    .set(auth)
    .set('Idempotency-Key', '2b0d7b3e-8c1a-4f1e-9b2a-0c3d4e5f6a7b')
    .send({ deviceId: meter.deviceId, amountPence: 1500, method: 'CARD', paymentToken: 'tok_test_approve' });
  expect(paid.status).toBe(201);
  expect(paid.body.status).toBe('APPLIED');
  const after = await mock.call('get', `/api/energy/devices/${meter.deviceId}/balance`).set(auth);
  expect(after.body.creditBalancePence).toBe(before.body.creditBalancePence + 1500);
  const got = await mock.call('get', `/api/energy/payments/${paid.body.paymentId}`).set(auth);
  expect(got.body).toEqual(paid.body);
  const list = await mock.call('get', '/api/energy/payments').query({ deviceId: meter.deviceId }).set(auth);
  expect(list.body.items).toEqual([paid.body]);
  const me = await mock.call('get', '/api/identity/customers/me').set(auth);
  expect(me.body.accountNumber).toBe(persona('basic').accountNumber);
});

test('the two-factor persona gets an otp-scope token that only SendOTP/VerifyOTP accept', async () => {
  const p = persona('two-factor');
  const res = await mock
    .call('post', '/api/identity/auth/TokenRequest')
    .auth(CLIENT.id, CLIENT.secret)
    .type('form')
    .send({ grant_type: 'password', username: p.username, password: p.password });
  expect(res.status).toBe(200);
  expect(res.body.scope).toBe('otp');
  const denied = await mock
    .call('get', '/api/energy/premises')
    .set('Authorization', `Bearer ${res.body.access_token}`);
  expect(denied.status).toBe(403);
  const full = await mock.token('two-factor');
  const ok = await mock.call('get', '/api/energy/premises').set('Authorization', `Bearer ${full}`);
  expect(ok.status).toBe(200);
  const outbox = await request(mock.app).get('/__admin/outbox');
  expect(outbox.body).toHaveLength(1);
});
