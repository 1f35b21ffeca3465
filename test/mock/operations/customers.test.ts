import { persona, testMock } from '../../helpers/mock';
import type { PersonaId } from '../../helpers/mock';
import { commonErrorTests } from '../../helpers/common-errors';
import { bearer } from '../../helpers/operations';
import { unexercisedStatuses } from '../../helpers/problems';

const mock = testMock();

const ME = '/api/identity/customers/me';

commonErrorTests(mock, ['GetCustomer']);

test.each<PersonaId>(['basic', 'two-factor', 'in-debt', 'gas-only'])(
  'GetCustomer answers 200 with the %s persona behind the token',
  async (id) => {
    const p = persona(id);
    const res = await mock.call('get', ME).set(bearer(await mock.token(id)));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json(;|$)/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(Object.keys(res.body).sort()).toEqual(
      [
        'accountNumber',
        'createdAt',
        'customerId',
        'email',
        'firstName',
        'lastName',
        'mobilePhone',
        'title',
        'twoFactorEnabled',
      ].sort(),
    );
    expect(res.body.accountNumber).toBe(p.accountNumber);
    expect(res.body.email.toLowerCase()).toBe(p.username.toLowerCase());
    expect(res.body.twoFactorEnabled).toBe(p.twoFactor);
    expect(res.body.mobilePhone).toMatch(/^\+447[0-9]{9}$/);
    expect(res.body.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  },
);

test('GetCustomer answers the same customer for every token of that customer', async () => {
  const first = await mock.call('get', ME).set(bearer(await mock.token('basic')));
  mock.clock.advance(5);
  const second = await mock.call('get', ME).set(bearer(await mock.token('basic')));
  expect(second.body).toEqual(first.body);
});

test('GetCustomer answers each customer with their own record only', async () => {
  const basic = await mock.call('get', ME).set(bearer(await mock.token('basic')));
  const gasOnly = await mock.call('get', ME).set(bearer(await mock.token('gas-only')));
  expect(basic.body.customerId).not.toBe(gasOnly.body.customerId);
  expect(gasOnly.body.accountNumber).toBe(persona('gas-only').accountNumber);
});

test('covers every status the contract declares for GetCustomer', () => {
  expect(unexercisedStatuses(mock, 'GetCustomer')).toEqual([]);
});
