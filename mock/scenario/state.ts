import type { Services } from '../handlers/context';
import { isoTimestamp } from '../clock';
import { settleDuePayments } from '../handlers/payments';
import type {
  BalanceOverlay,
  IdempotentRequest,
  PaymentRecord,
  PendingPayment,
  Registration,
  StoredPayment,
} from '../store';
import type { BalanceState } from '../../fixtures/types';
import type { FieldError } from '../problem';
import { PROBLEMS, pointer, problem } from '../problem';

/** The overlay of what clients changed, as `GET /__admin/state` exports it (admin.openapi.yaml `StateDocument`). */
export interface StateDocument {
  format: 'procode-mock-state';
  version: 1;
  seed: number;
  accounts: number;
  registrations: {
    accountNumber: string;
    email: string;
    mobilePhone: string;
    /** scrypt `salt:hash` in hex, never the password. */
    passwordHash: string;
    createdAt: string;
  }[];
  payments: {
    accountNumber: string;
    payment: PaymentRecord;
    idempotencyKey?: string;
    fingerprint?: string;
    /** For a PENDING payment: when it settles, and how. */
    settlesAt?: string;
    settlesAs?: 'APPLIED' | 'DECLINED';
  }[];
  balances: { deviceId: string; changedAt: string; balance: BalanceState }[];
}

/** What `PUT /__admin/state` imported. */
export interface ImportSummary {
  registrations: number;
  payments: number;
  balances: number;
}

/**
 * Exports the overlay: registrations (with their password hashes, so imported accounts can log in),
 * payments with their Idempotency-Keys (those still remembered) and pending settlement, and changed
 * balances. Pending payments
 * that are due are settled first. Tokens, one-time codes, faults, the clock and the journal are not
 * part of it.
 */
export async function exportState(services: Services): Promise<StateDocument> {
  await settleDuePayments(services);
  const { store, world, config } = services;
  const accountNumber = (index: number): string => world.account(index).accountNumber;
  const overlay = await store.exportOverlay(services.clock.now());
  return {
    format: 'procode-mock-state',
    version: 1,
    seed: config.seed,
    accounts: config.accounts,
    registrations: overlay.registrations.map((r) => ({
      accountNumber: accountNumber(r.accountIndex),
      email: r.email,
      mobilePhone: r.mobilePhone,
      passwordHash: r.passwordHash,
      createdAt: r.createdAt,
    })),
    payments: overlay.payments.map(
      ({ accountIndex, payment, idempotencyKey: key, fingerprint, pending }) => ({
        accountNumber: accountNumber(accountIndex),
        payment,
        // Only a key that is still remembered, and still stands for this payment (the store says which).
        ...(key !== undefined && fingerprint !== undefined
          ? { idempotencyKey: key.slice(key.indexOf(':') + 1), fingerprint }
          : {}),
        ...(pending ? { settlesAt: isoTimestamp(pending.dueAt), settlesAs: pending.outcome } : {}),
      }),
    ),
    balances: overlay.balances.map(([deviceId, b]) => ({
      deviceId,
      changedAt: isoTimestamp(b.changedAt),
      balance: b.state,
    })),
  };
}

/** Every number in a JSON value with its path (for whole-pence checks). */
function numbersIn(value: unknown, path: string[] = []): [string[], number][] {
  if (typeof value === 'number') return [[path, value]];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => numbersIn(v, [...path, k]));
}

/**
 * Replaces the overlay with a document's (the schema was checked by the admin contract). Everything is
 * checked against this world before anything changes: the seed and size, that each account exists and
 * was not already registered by the seed, that e-mails and payment ids are unique, that each payment's
 * device and each balance's meter belong where they say, that pending fields come only with PENDING, and
 * that the payments fit the store's bounds (the `paymentsPerAccount` and `paymentsMax` settings).
 * @throws Problem validation-error (400) listing every fault by JSON Pointer; the store is untouched.
 */
export async function importState(services: Services, doc: StateDocument): Promise<ImportSummary> {
  const { store, world, config } = services;
  const errors: FieldError[] = [];
  const bad = (tokens: (string | number)[], detail: string): void => {
    if (errors.length < 100) errors.push({ in: 'body', pointer: pointer(tokens), detail });
  };
  if (doc.seed !== config.seed)
    bad(['seed'], `is ${doc.seed}, but this mock's world has seed ${config.seed}`);
  if (doc.accounts !== config.accounts)
    bad(['accounts'], `is ${doc.accounts}, but this mock's world has ${config.accounts} accounts`);
  const indexOf = (tokens: (string | number)[], accountNumber: string): number | undefined => {
    const index = world.findAccountByNumber(accountNumber);
    if (index === undefined) bad(tokens, `no account ${accountNumber} in this world`);
    return index;
  };

  const registrations = new Map<number, Registration>();
  const byEmail = new Map<string, number>();
  doc.registrations.forEach((r, i) => {
    const index = indexOf(['registrations', i, 'accountNumber'], r.accountNumber);
    if (index === undefined) return;
    if (world.account(index).registered)
      bad(['registrations', i, 'accountNumber'], 'already has online access in the seeded world');
    if (registrations.has(index)) bad(['registrations', i, 'accountNumber'], 'is registered twice');
    // As Register decides (handlers/registration.ts): the e-mail is taken when another account with
    // online access logs in with it.
    const email = r.email.toLowerCase();
    const holders = [
      byEmail.get(email),
      world.findPersonaByUsername(email)?.index,
      world.findAccountByEmail(email),
    ];
    if (
      holders.some(
        (h) => h !== undefined && h !== index && (world.account(h).registered || registrations.has(h)),
      )
    )
      bad(['registrations', i, 'email'], 'is already the login of another account');
    registrations.set(index, {
      accountIndex: index,
      email: r.email,
      mobilePhone: r.mobilePhone,
      passwordHash: r.passwordHash,
      createdAt: r.createdAt,
    });
    byEmail.set(email, index);
  });

  const payments = new Map<string, StoredPayment>();
  const perAccount = new Map<number, number>();
  const idempotency = new Map<string, IdempotentRequest>();
  const pending = new Map<string, PendingPayment>();
  const utrns = new Set<string>();
  doc.payments.forEach((p, i) => {
    const index = indexOf(['payments', i, 'accountNumber'], p.accountNumber);
    if (index === undefined) return;
    const id = p.payment.paymentId.toLowerCase();
    if (payments.has(id)) bad(['payments', i, 'payment', 'paymentId'], 'appears twice');
    const device = world.findDevice(p.payment.deviceId);
    if (!device || device.accountIndex !== index)
      bad(['payments', i, 'payment', 'deviceId'], `is not a device of account ${p.accountNumber}`);
    else if (!device.device.balance)
      bad(
        ['payments', i, 'payment', 'deviceId'],
        'is not a prepayment meter (MakePayment tops up only those)',
      );
    if (p.payment.utrn !== undefined) {
      if (utrns.has(p.payment.utrn)) bad(['payments', i, 'payment', 'utrn'], 'is used twice');
      utrns.add(p.payment.utrn);
    }
    const isPending = p.payment.status === 'PENDING';
    if (isPending !== (p.settlesAt !== undefined && p.settlesAs !== undefined))
      bad(['payments', i], 'settlesAt and settlesAs go with a PENDING payment, and only with one');
    if ((p.idempotencyKey === undefined) !== (p.fingerprint === undefined))
      bad(['payments', i], 'idempotencyKey and fingerprint go together');
    const count = (perAccount.get(index) ?? 0) + 1;
    perAccount.set(index, count);
    if (count === config.paymentsPerAccount + 1)
      bad(
        ['payments', i, 'accountNumber'],
        `has more than ${config.paymentsPerAccount} payments, the most this mock keeps per account (the paymentsPerAccount setting)`,
      );
    const stored: StoredPayment = { accountIndex: index, payment: { ...p.payment, paymentId: id } };
    if (p.idempotencyKey !== undefined && p.fingerprint !== undefined) {
      const key = `${index}:${p.idempotencyKey.toLowerCase()}`;
      if (idempotency.has(key)) bad(['payments', i, 'idempotencyKey'], 'is used twice by this account');
      // The key was first used when the payment was made.
      idempotency.set(key, {
        fingerprint: p.fingerprint,
        paymentId: id,
        createdAt: Date.parse(p.payment.createdAt),
      });
      stored.idempotencyKey = key;
    }
    payments.set(id, stored);
    if (isPending && p.settlesAt !== undefined && p.settlesAs !== undefined) {
      pending.set(id, {
        paymentId: id,
        accountIndex: index,
        dueAt: Date.parse(p.settlesAt),
        outcome: p.settlesAs,
      });
    }
  });

  if (doc.payments.length > config.paymentsMax)
    bad(
      ['payments'],
      `has ${doc.payments.length} payments, more than the ${config.paymentsMax} this mock keeps (the paymentsMax setting)`,
    );

  const balances = new Map<string, BalanceOverlay>();
  doc.balances.forEach((b, i) => {
    const device = world.findDevice(b.deviceId);
    if (!device?.device.balance) bad(['balances', i, 'deviceId'], 'is not a prepayment meter of this world');
    if (balances.has(b.deviceId)) bad(['balances', i, 'deviceId'], 'appears twice');
    for (const [path, value] of numbersIn(b.balance)) {
      if (!Number.isSafeInteger(value))
        bad(['balances', i, 'balance', ...path], 'must be a whole number of pence (a safe integer)');
    }
    const ec = b.balance.emergencyCredit;
    if (ec && ec.availablePence > ec.limitPence)
      bad(
        ['balances', i, 'balance', 'emergencyCredit', 'availablePence'],
        'must not be more than limitPence',
      );
    balances.set(b.deviceId, { state: b.balance, changedAt: Date.parse(b.changedAt) });
  });

  if (errors.length > 0) {
    throw problem(
      PROBLEMS.VALIDATION_ERROR,
      `The state document does not fit this mock's world (${errors.length} fault(s)); nothing was imported.`,
      { errors },
    );
  }
  // All checked: swap the overlay in one go (in the document's order: oldest first, as exported).
  await store.importOverlay({
    registrations: [...registrations.values()],
    payments: [...payments.values()].map((stored) => {
      const request =
        stored.idempotencyKey === undefined ? undefined : idempotency.get(stored.idempotencyKey);
      return {
        stored,
        ...(request
          ? { idempotency: { fingerprint: request.fingerprint, createdAt: request.createdAt } }
          : {}),
      };
    }),
    pending: [...pending.values()],
    balances: [...balances],
  });
  return { registrations: registrations.size, payments: payments.size, balances: balances.size };
}
