import { randomBytes } from 'node:crypto';
import { hashPassword, passwordMatches } from '../../../mock/handlers/customers';

const PASSWORD = 'Tangerine-Harbour-Lamp-91';

test('password verification returns a promise and accepts the right password', async () => {
  const stored = await hashPassword(PASSWORD, randomBytes(16));
  const check = passwordMatches(PASSWORD, stored);
  expect(check).toBeInstanceOf(Promise);
  await expect(check).resolves.toBe(true);
});

test.each([
  ['a wrong password', 'Tangerine-Harbour-Lamp-92'],
  ['the password in another case', PASSWORD.toUpperCase()],
  ['an empty password', ''],
])('password verification rejects %s', async (_name, guess) => {
  const stored = await hashPassword(PASSWORD, randomBytes(16));
  await expect(passwordMatches(guess, stored)).resolves.toBe(false);
});

test('password verification rejects a stored hash of the wrong length instead of throwing', async () => {
  await expect(passwordMatches(PASSWORD, 'abcd:1234')).resolves.toBe(false);
});

test('twenty password checks leave the event loop free: a setImmediate runs before they have all finished', async () => {
  const stored = await hashPassword(PASSWORD, randomBytes(16));
  let finished = 0;
  let finishedWhenImmediateRan = -1;
  const immediate = new Promise<void>((resolve) =>
    setImmediate(() => {
      finishedWhenImmediateRan = finished;
      resolve();
    }),
  );
  // A synchronous scrypt would compute all twenty before the loop could reach the immediate.
  const checks = Array.from({ length: 20 }, () =>
    passwordMatches('wrong-password-guess', stored).then((ok) => {
      finished += 1;
      return ok;
    }),
  );
  await immediate;
  expect(await Promise.all(checks)).toEqual(Array(20).fill(false));
  expect(finishedWhenImmediateRan).toBeLessThan(20);
});
