import { randomBytes } from 'node:crypto';
import type { HandlerEntry } from './context';
import { PROBLEMS, problem } from '../problem';
import { isoTimestamp } from '../clock';
import type { Handler } from './context';
import { json } from './context';
import { customerView, hashPassword, isRegistered } from './customers';

interface RegisterBody {
  accountNumber: string;
  postcode: string;
  email: string;
  password: string;
  mobilePhone: string;
}

const compact = (postcode: string): string => postcode.replace(/\s+/g, '').toUpperCase();

/**
 * Register (api.md "Customer"): links online access to an existing supply account, given its account
 * number and the postcode of one of its premises. Changes nothing unless every check passes.
 * @throws Problem registration-mismatch (422, never says which field), already-registered (409) when the
 *   account already has online access or the e-mail is taken.
 */
const register: Handler = async (ctx) => {
  const body = ctx.body as RegisterBody;
  const { world, store, clock } = ctx.services;
  const accountIndex = world.findAccountByNumber(body.accountNumber);
  const account = accountIndex === undefined ? undefined : world.account(accountIndex);
  const postcodeMatches = account?.premises.some(
    (p) => compact(p.premise.address.postcode) === compact(body.postcode),
  );
  if (accountIndex === undefined || !account || !postcodeMatches) {
    throw problem(
      PROBLEMS.REGISTRATION_MISMATCH,
      'The account number and postcode do not match a supply account; check both against a bill.',
    );
  }
  if (await isRegistered(ctx.services, accountIndex)) {
    throw problem(
      PROBLEMS.ALREADY_REGISTERED,
      'This supply account already has online access; log in instead.',
    );
  }
  const email = body.email.toLowerCase();
  // The e-mail is taken when another account with online access logs in with it (a persona's username,
  // a generated account's address, or an earlier registration).
  const persona = world.findPersonaByUsername(email)?.index;
  const holders = [await store.accountByEmail(email), persona, world.findAccountByEmail(email)];
  const others = holders.filter((i): i is number => i !== undefined && i !== accountIndex);
  const taken = await Promise.all(others.map((i) => isRegistered(ctx.services, i)));
  if (taken.some(Boolean)) {
    throw problem(
      PROBLEMS.ALREADY_REGISTERED,
      'This e-mail address already has online access; log in instead.',
    );
  }
  const passwordHash = await hashPassword(body.password, randomBytes(16));
  // The store checks again as it writes: a concurrent Register may have taken the account or the e-mail.
  const stored = await store.register({
    accountIndex,
    email: body.email,
    mobilePhone: body.mobilePhone,
    passwordHash,
    createdAt: isoTimestamp(clock.now()),
  });
  if (!stored) {
    throw problem(
      PROBLEMS.ALREADY_REGISTERED,
      'This supply account or e-mail address already has online access; log in instead.',
    );
  }
  return json(201, await customerView(ctx.services, accountIndex), {
    Location: '/api/identity/customers/me',
  });
};

export const REGISTRATION_HANDLERS: Record<string, HandlerEntry> = { Register: { handle: register } };
