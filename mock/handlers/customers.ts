import { scrypt, timingSafeEqual } from 'node:crypto';
import type { Customer } from '../../fixtures/types';
import type { Principal } from '../security';
import type { TokenSubject } from '../auth/tokens';
import { SCOPE_CUSTOMER, SCOPE_OTP } from '../auth/tokens';
import type { Handler, Services } from './context';
import { callerOf, json } from './context';

/**
 * scrypt (RFC 7914) of a password, 32 bytes with N = 1024, on libuv's thread pool: a flood of guesses
 * waits there, never on the event loop, so other requests go on being answered.
 */
function scryptAsync(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, { N: 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Hashes a password with scrypt and a salt: `salt:hash` in hex. The mock never keeps a password. */
export async function hashPassword(password: string, salt: Buffer): Promise<string> {
  return `${salt.toString('hex')}:${(await scryptAsync(password, salt)).toString('hex')}`;
}

/**
 * True when `password` hashes to `stored` (`salt:hash` in hex, from `hashPassword`), compared in constant
 * time (timingSafeEqual); the scrypt runs off the event loop.
 */
export async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [saltHex, hashHex] = stored.split(':');
  const expected = Buffer.from(hashHex ?? '', 'hex');
  const actual = await scryptAsync(password, Buffer.from(saltHex ?? '', 'hex'));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** True when the account has online access: seeded as registered, or registered since. */
export async function isRegistered(services: Services, accountIndex: number): Promise<boolean> {
  // The world first: a seeded account needs no store read.
  return (
    services.world.account(accountIndex).registered ||
    (await services.store.registration(accountIndex)) !== undefined
  );
}

/** The customer as GetCustomer shows it: the generated one, overlaid with what Register stored. */
export async function customerView(services: Services, accountIndex: number): Promise<Customer> {
  const account = services.world.account(accountIndex);
  if (account.registered) return account.customer;
  const registration = await services.store.registration(accountIndex);
  if (!registration) return account.customer;
  return {
    ...account.customer,
    email: registration.email,
    mobilePhone: registration.mobilePhone,
    twoFactorEnabled: false,
    createdAt: registration.createdAt,
  };
}

/** What a token is issued for, for an account with online access. */
export async function subjectOf(services: Services, accountIndex: number): Promise<TokenSubject | undefined> {
  if (!(await isRegistered(services, accountIndex))) return undefined;
  const account = services.world.account(accountIndex);
  return { accountIndex, customerId: account.customer.customerId, accountNumber: account.accountNumber };
}

/**
 * Checks a username (the customer's e-mail, case-insensitive) and password: accounts registered through
 * Register first, then the pinned personas (fixtures/personas.json). A registered account's password is
 * checked with an asynchronous scrypt.
 * @returns the token subject and the scope to grant (`otp` when 2FA is on), or undefined when wrong.
 */
export async function login(
  services: Services,
  username: string,
  password: string,
): Promise<{ subject: TokenSubject; scope: string } | undefined> {
  const { store, world } = services;
  const registered = await store.accountByEmail(username.toLowerCase());
  const r = registered === undefined ? undefined : await store.registration(registered);
  if (registered !== undefined && r) {
    if (!(await passwordMatches(password, r.passwordHash))) return undefined;
    // A reset or a state import during the check may have dropped or replaced the registration.
    const now = await store.registration(registered);
    const subject = now?.passwordHash === r.passwordHash ? await subjectOf(services, registered) : undefined;
    return subject && { subject, scope: SCOPE_CUSTOMER };
  }
  const found = world.findPersonaByUsername(username);
  if (!found || !found.persona.registered || !sameSecret(password, found.persona.password)) return undefined;
  const subject = await subjectOf(services, found.index);
  if (!subject) return undefined;
  const account = world.account(found.index);
  return { subject, scope: account.customer.twoFactorEnabled ? SCOPE_OTP : SCOPE_CUSTOMER };
}

/**
 * Maps verified token claims to the caller; undefined (so 401 invalid_token) when the account number is
 * not one of this world's, the customer id does not match it, or the account has no online access (for
 * example after `POST /__admin/reset` dropped a registration).
 */
export function principalResolver(
  services: Services,
): (customerId: string, accountNumber: string, scope: string) => Promise<Principal | undefined> {
  return async (customerId, accountNumber, scope) => {
    const accountIndex = services.world.findAccountByNumber(accountNumber);
    if (accountIndex === undefined) return undefined;
    const subject = await subjectOf(services, accountIndex);
    if (!subject || subject.customerId !== customerId) return undefined;
    return { accountIndex, customerId, accountNumber, scope };
  };
}

/** GetCustomer: the caller's own customer record. */
export const getCustomer: Handler = async (ctx) =>
  json(200, await customerView(ctx.services, callerOf(ctx).accountIndex));
