import { scryptSync, timingSafeEqual } from 'node:crypto';
import type { Customer } from '../../fixtures/types';
import type { Principal } from '../security';
import type { TokenSubject } from '../auth/tokens';
import { SCOPE_CUSTOMER, SCOPE_OTP } from '../auth/tokens';
import type { Handler, Services } from './context';
import { callerOf, json } from './context';

/** Hashes a password with scrypt and a salt: `salt:hash` in hex. The mock never keeps a password. */
export function hashPassword(password: string, salt: Buffer): string {
  return `${salt.toString('hex')}:${scryptSync(password, salt, 32, { N: 1024 }).toString('hex')}`;
}

function passwordMatches(password: string, stored: string): boolean {
  const [saltHex, hashHex] = stored.split(':');
  const expected = Buffer.from(hashHex ?? '', 'hex');
  const actual = scryptSync(password, Buffer.from(saltHex ?? '', 'hex'), 32, { N: 1024 });
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** True when the account has online access: seeded as registered, or registered since. */
export function isRegistered(services: Services, accountIndex: number): boolean {
  return services.store.registrations.has(accountIndex) || services.world.account(accountIndex).registered;
}

/** The customer as GetCustomer shows it: the generated one, overlaid with what Register stored. */
export function customerView(services: Services, accountIndex: number): Customer {
  const account = services.world.account(accountIndex);
  const registration = services.store.registrations.get(accountIndex);
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
export function subjectOf(services: Services, accountIndex: number): TokenSubject | undefined {
  if (!isRegistered(services, accountIndex)) return undefined;
  const account = services.world.account(accountIndex);
  return { accountIndex, customerId: account.customer.customerId, accountNumber: account.accountNumber };
}

/**
 * Checks a username (the customer's e-mail, case-insensitive) and password: accounts registered through
 * Register first, then the pinned personas (fixtures/personas.json).
 * @returns the token subject and the scope to grant (`otp` when 2FA is on), or undefined when wrong.
 */
export function login(
  services: Services,
  username: string,
  password: string,
): { subject: TokenSubject; scope: string } | undefined {
  const { store, world } = services;
  const registered = store.registrationsByEmail.get(username.toLowerCase());
  if (registered !== undefined) {
    const r = store.registrations.get(registered)!;
    if (!passwordMatches(password, r.passwordHash)) return undefined;
    return { subject: subjectOf(services, registered)!, scope: SCOPE_CUSTOMER };
  }
  const found = world.findPersonaByUsername(username);
  if (!found || !found.persona.registered || !sameSecret(password, found.persona.password)) return undefined;
  const subject = subjectOf(services, found.index);
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
): (customerId: string, accountNumber: string, scope: string) => Principal | undefined {
  return (customerId, accountNumber, scope) => {
    const accountIndex = services.world.findAccountByNumber(accountNumber);
    if (accountIndex === undefined) return undefined;
    const subject = subjectOf(services, accountIndex);
    if (!subject || subject.customerId !== customerId) return undefined;
    return { accountIndex, customerId, accountNumber, scope };
  };
}

/** GetCustomer: the caller's own customer record. */
export const getCustomer: Handler = (ctx) =>
  json(200, customerView(ctx.services, callerOf(ctx).accountIndex));
