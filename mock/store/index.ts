import type { BalanceState } from '../../fixtures/types';
import { FaultRules } from '../scenario/faults';
import { Journal } from '../scenario/journal';

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
  /** Epoch ms after which the refresh token is no longer accepted; the same for its whole family. */
  expiresAt: number;
  /** The login this token descends from: the "token family" of RFC 9700 section 4.14.2. */
  family: string;
  /** Replaced by refresh-token rotation; presenting it again is reuse and revokes the family. */
  retired: boolean;
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

/**
 * A PENDING payment waiting to settle (test tokens `tok_test_pending`, `tok_test_pending_decline`): it
 * becomes `outcome` once the mock's clock reaches `dueAt`.
 */
export interface PendingPayment {
  paymentId: string;
  accountIndex: number;
  /** Epoch ms at which it settles (createdAt + the payment delay). */
  dueAt: number;
  outcome: 'APPLIED' | 'DECLINED';
}

/** A balance changed by a top-up, with the time it changed. */
export interface BalanceOverlay {
  state: BalanceState;
  /** Epoch ms of the change. */
  changedAt: number;
}

/** The count of one gateway limit (a product's rate limit or quota for one subscription key) in its current window. */
export interface GatewayWindow {
  /** Epoch ms at which the current fixed window began. */
  windowStart: number;
  /** Calls counted in this window. */
  calls: number;
}

/**
 * One gateway limit to count a call against (Azure API Management `rate-limit-by-key` or
 * `quota-by-key`): at most `calls` per fixed window of `periodMs`.
 */
export interface GatewayLimit {
  /** Where the count lives: one counter per subscription key, product and policy, so the map stays bounded. */
  counter: string;
  /** Calls allowed per window. */
  calls: number;
  /** Length of the window, in milliseconds. */
  periodMs: number;
  /**
   * Start (epoch ms) of the window that holds `now`, for windows aligned to a fixed origin (quota-by-key's
   * `first-period-start`); when absent a window starts at the first call after the previous one ended.
   */
  alignedStart?: number;
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
  /** Refresh token family -> its tokens, oldest first; the last one is the live one. */
  readonly refreshFamilies = new Map<string, string[]>();
  /** SHA-256 of a lower-cased username -> epoch ms of its recent wrong passwords, oldest first. */
  readonly loginFailures = new Map<string, number[]>();
  readonly otpChallenges = new Map<string, OtpChallenge>();
  /** Account index -> epoch ms of each challenge sent (for SendOTP's rate limit). */
  readonly otpSends = new Map<number, number[]>();
  readonly outbox: OutboxMessage[] = [];
  readonly payments = new Map<string, { accountIndex: number; payment: PaymentRecord }>();
  /** Account index -> payment ids, oldest first. */
  readonly paymentsByAccount = new Map<number, string[]>();
  /** Payment id -> PENDING payment to settle, in creation order. */
  readonly pendingPayments = new Map<string, PendingPayment>();
  readonly balances = new Map<string, BalanceOverlay>();
  /** `<account index>:<Idempotency-Key>` -> reply. */
  readonly idempotency = new Map<string, IdempotentRequest>();
  readonly usedUtrns = new Set<string>();
  /** Gateway limit counter (`GatewayLimit.counter`) -> its current window; one entry per key, product and policy. */
  readonly gatewayWindows = new Map<string, GatewayWindow>();
  /** Bumped by every reset; tokens carry the generation they were issued in, so a reset revokes them. */
  generation = 0;
  /** Fault rules of the admin API (`/__admin/faults`). */
  readonly faults: FaultRules;
  /** The request journal of the admin API (`/__admin/requests`). */
  readonly journal: Journal;

  /**
   * @param options.seed the world's seed (fault probabilities draw from it);
   *   options.journalSize requests kept in the journal (0: none).
   */
  constructor(options: { seed?: number; journalSize?: number } = {}) {
    this.faults = new FaultRules(options.seed ?? 0);
    this.journal = new Journal(options.journalSize ?? 1000);
  }

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

  /**
   * Counts one call against every limit, or against none (one method, so a shared store can make it
   * atomic): when some limit's current window is already full nothing is counted and that limit's index
   * and window come back (for `Retry-After`); otherwise each window counts the call and the result is
   * undefined. A window past its end is renewed before the check.
   * @param now epoch ms (the mock's clock).
   */
  countGatewayCall(
    limits: readonly GatewayLimit[],
    now: number,
  ): { index: number; window: GatewayWindow } | undefined {
    const current = limits.map((limit): GatewayWindow => {
      const stored = this.gatewayWindows.get(limit.counter);
      const windowStart =
        limit.alignedStart ??
        (stored && now < stored.windowStart + limit.periodMs ? stored.windowStart : now);
      return stored && stored.windowStart === windowStart ? { ...stored } : { windowStart, calls: 0 };
    });
    const full = current.findIndex((w, i) => w.calls >= limits[i]!.calls);
    if (full >= 0) return { index: full, window: current[full]! };
    limits.forEach((limit, i) =>
      this.gatewayWindows.set(limit.counter, { ...current[i]!, calls: current[i]!.calls + 1 }),
    );
    return undefined;
  }

  /**
   * Forgets the counters of every time window (SendOTP's, the password throttle's, the gateway's rate
   * limits and quotas): called when the admin API moves the clock backwards, where events counted "in
   * the future" would otherwise hold a window shut for as long as the clock went back.
   */
  clearTimeWindows(): void {
    this.otpSends.clear();
    this.loginFailures.clear();
    this.gatewayWindows.clear();
  }

  /** Drops every change: the world is back to what the seed generates. */
  reset(): void {
    this.registrations.clear();
    this.registrationsByEmail.clear();
    this.refreshTokens.clear();
    this.refreshFamilies.clear();
    this.loginFailures.clear();
    this.otpChallenges.clear();
    this.otpSends.clear();
    this.outbox.length = 0;
    this.payments.clear();
    this.paymentsByAccount.clear();
    this.pendingPayments.clear();
    this.balances.clear();
    this.idempotency.clear();
    this.usedUtrns.clear();
    this.gatewayWindows.clear();
    this.faults.clear();
    this.journal.clear();
    this.generation += 1;
  }
}
