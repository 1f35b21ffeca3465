import type { BalanceState } from '../../fixtures/types';

/** Online access created by Register (an overlay on the generated world). */
export interface Registration {
  accountIndex: number;
  email: string;
  mobilePhone: string;
  /** scrypt hash of the password, `salt:hash` in hex; the password itself is never kept. */
  passwordHash: string;
  createdAt: string;
}

/** A stored refresh token (opaque, random). */
export interface RefreshGrant {
  accountIndex: number;
  scope: string;
  /** Epoch ms after which the refresh token is no longer accepted. */
  expiresAt: number;
}

/** A two-step authentication challenge (api.md: 6 digits, single use, 5 minutes, 5 tries). */
export interface OtpChallenge {
  otpId: string;
  accountIndex: number;
  channel: 'sms' | 'email';
  to: string;
  code: string;
  /** Epoch ms. */
  expiresAt: number;
  failedAttempts: number;
  state: 'open' | 'used' | 'voided';
}

/** A "sent" one-time code, readable only from the dev outbox `GET /__admin/outbox`. */
export interface OutboxMessage {
  otpId: string;
  channel: 'sms' | 'email';
  to: string;
  code: string;
  sentAt: string;
}

/** A payment (top-up) as the contract shows it. */
export interface PaymentRecord {
  paymentId: string;
  deviceId: string;
  amountPence: number;
  method: 'CARD' | 'APPLE_PAY' | 'GOOGLE_PAY';
  status: 'PENDING' | 'APPLIED' | 'DECLINED';
  utrn?: string;
  createdAt: string;
  appliedAt?: string;
}

/** What a used `Idempotency-Key` stands for: the body it came with and the payment it made. */
export interface IdempotentRequest {
  /** SHA-256 of the canonical request body. */
  fingerprint: string;
  paymentId: string;
}

/** A balance changed by a top-up, with the time it changed. */
export interface BalanceOverlay {
  state: BalanceState;
  /** Epoch ms of the change. */
  changedAt: number;
}

/** Most recent outbox messages kept; older ones are dropped so a long run stays bounded. */
export const OUTBOX_LIMIT = 1000;

/**
 * Everything clients change, kept as an overlay on the generated world (architecture.md). `reset()`
 * drops it all, restoring the seeded state.
 */
export class Store {
  readonly registrations = new Map<number, Registration>();
  /** Lower-cased e-mail -> account index, for login and e-mail uniqueness. */
  readonly registrationsByEmail = new Map<string, number>();
  readonly refreshTokens = new Map<string, RefreshGrant>();
  readonly otpChallenges = new Map<string, OtpChallenge>();
  /** Account index -> epoch ms of each challenge sent (for SendOTP's rate limit). */
  readonly otpSends = new Map<number, number[]>();
  readonly outbox: OutboxMessage[] = [];
  readonly payments = new Map<string, { accountIndex: number; payment: PaymentRecord }>();
  /** Account index -> payment ids, oldest first. */
  readonly paymentsByAccount = new Map<number, string[]>();
  readonly balances = new Map<string, BalanceOverlay>();
  /** `<account index>:<Idempotency-Key>` -> reply. */
  readonly idempotency = new Map<string, IdempotentRequest>();
  readonly usedUtrns = new Set<string>();
  /** Bumped by every reset; tokens carry the generation they were issued in, so a reset revokes them. */
  generation = 0;

  /** Records a sent code in the outbox, dropping the oldest beyond `OUTBOX_LIMIT`. */
  pushOutbox(message: OutboxMessage): void {
    this.outbox.push(message);
    if (this.outbox.length > OUTBOX_LIMIT) this.outbox.splice(0, this.outbox.length - OUTBOX_LIMIT);
  }

  /** Adds a payment to the account's list. */
  addPayment(accountIndex: number, payment: PaymentRecord): void {
    this.payments.set(payment.paymentId, { accountIndex, payment });
    const list = this.paymentsByAccount.get(accountIndex) ?? [];
    list.push(payment.paymentId);
    this.paymentsByAccount.set(accountIndex, list);
  }

  /** Drops every change: the world is back to what the seed generates. */
  reset(): void {
    this.registrations.clear();
    this.registrationsByEmail.clear();
    this.refreshTokens.clear();
    this.otpChallenges.clear();
    this.otpSends.clear();
    this.outbox.length = 0;
    this.payments.clear();
    this.paymentsByAccount.clear();
    this.balances.clear();
    this.idempotency.clear();
    this.usedUtrns.clear();
    this.generation += 1;
  }
}
