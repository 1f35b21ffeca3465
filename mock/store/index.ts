import type { BalanceState } from '../../fixtures/types';
import { FaultRules } from '../scenario/faults';
import { Journal } from '../scenario/journal';
import type { Config } from '../config';
import { DEFAULTS } from '../config';
import { IdQueue } from './queue';
import { OTP_CHALLENGE_GRACE_MS, OUTBOX_LIMIT, REFRESH_RETIRED_PER_FAMILY } from './constants';

export { OTP_CHALLENGE_GRACE_MS, OUTBOX_LIMIT, REFRESH_RETIRED_PER_FAMILY };

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

/** A refresh token family (one login) and its tokens (RFC 9700 section 4.14.2). */
export interface RefreshFamily {
  accountIndex: number;
  /** Epoch ms at which every token of the family expires. */
  expiresAt: number;
  /** Its tokens, oldest first; the last one is the live one, the others retired by rotation. */
  tokens: string[];
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
  /** Epoch ms at which the key was first used (its lifetime counts from it). */
  createdAt: number;
}

/** A stored payment, the account it belongs to and the `<account index>:<key>` it was made with. */
export interface StoredPayment {
  accountIndex: number;
  payment: PaymentRecord;
  idempotencyKey?: string;
}

/** The bounds of the store's lists and maps (docs/decisions.md "Bounded stores and work per request"). */
export type StoreLimits = Pick<
  Config,
  | 'refreshTokensPerAccount'
  | 'refreshTokensMax'
  | 'paymentsPerAccount'
  | 'paymentsMax'
  | 'idempotencyTtlSeconds'
  | 'otpChallengesMax'
>;

/** A page of an account's payments, newest first, and how many there are in all (api.md "Lists"). */
export interface PaymentSlice {
  items: PaymentRecord[];
  total: number;
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

/** One account's payment ids, oldest first: all of them, and per device (ListPayments' `deviceId`). */
interface PaymentIndex {
  all: IdQueue;
  byDevice: Map<string, IdQueue>;
}

/**
 * Everything clients change, kept as an overlay on the generated world (architecture.md). `reset()`
 * drops it all, restoring the seeded state.
 */
export class Store {
  readonly registrations = new Map<number, Registration>();
  /** Lower-cased e-mail -> account index, for login and e-mail uniqueness. */
  readonly registrationsByEmail = new Map<string, number>();
  /** Refresh token -> its grant. Bounded by `refreshTokensMax`; write through `addRefreshToken`. */
  readonly refreshTokens = new Map<string, RefreshGrant>();
  /** Refresh token family -> its tokens, in creation order (so the oldest, first to expire, come first). */
  readonly refreshFamilies = new Map<string, RefreshFamily>();
  /** Account index -> its live families, oldest first (at most `refreshTokensPerAccount`). */
  private readonly refreshFamiliesByAccount = new Map<number, string[]>();
  /** SHA-256 of a lower-cased username -> epoch ms of its recent wrong passwords, oldest first. */
  readonly loginFailures = new Map<string, number[]>();
  /** otpId -> challenge, in creation order; write through `addOtpChallenge` (bounded). */
  readonly otpChallenges = new Map<string, OtpChallenge>();
  /**
   * Account index -> epoch ms of each challenge sent (for SendOTP's rate limit), least recently sent to
   * first; write through `recordOtpSend` (bounded).
   */
  readonly otpSends = new Map<number, number[]>();
  readonly outbox: OutboxMessage[] = [];
  /** Payment id -> payment, oldest first; write through `addPayment`/`updatePayment` (bounded). */
  readonly payments = new Map<string, StoredPayment>();
  /** Account index -> its payment ids, oldest first, for ListPayments in O(page). */
  private readonly paymentsByAccount = new Map<number, PaymentIndex>();
  /** Payment id -> PENDING payment to settle, in creation order. */
  readonly pendingPayments = new Map<string, PendingPayment>();
  readonly balances = new Map<string, BalanceOverlay>();
  /**
   * `<account index>:<Idempotency-Key>` -> what it stands for, oldest first; read through
   * `idempotentRequest` (which forgets an expired one). At most one per stored payment.
   */
  readonly idempotency = new Map<string, IdempotentRequest>();
  /** The UTRNs of the stored payments (a UTRN is used once, domain.md): dropped with their payment. */
  readonly usedUtrns = new Set<string>();
  /** Gateway limit counter (`GatewayLimit.counter`) -> its current window; one entry per key, product and policy. */
  readonly gatewayWindows = new Map<string, GatewayWindow>();
  /** Bumped by every reset; tokens carry the generation they were issued in, so a reset revokes them. */
  generation = 0;
  /** Fault rules of the admin API (`/__admin/faults`). */
  readonly faults: FaultRules;
  /** The request journal of the admin API (`/__admin/requests`). */
  readonly journal: Journal;
  /** The bounds of the lists and maps above. */
  readonly limits: StoreLimits;
  /** Called by every reset, after the store is cleared: memos kept beside the store (verified tokens). */
  private readonly resetListeners: (() => void)[] = [];

  /**
   * @param options.seed the world's seed (fault probabilities draw from it);
   *   options.journalSize requests kept in the journal (0: none); options.limits the bounds (default:
   *   the settings' defaults).
   */
  constructor(options: { seed?: number; journalSize?: number; limits?: Partial<StoreLimits> } = {}) {
    this.faults = new FaultRules(options.seed ?? 0);
    this.journal = new Journal(options.journalSize ?? 1000);
    const { refreshTokensPerAccount, refreshTokensMax, paymentsPerAccount, paymentsMax } = DEFAULTS;
    const { idempotencyTtlSeconds, otpChallengesMax } = DEFAULTS;
    this.limits = Object.freeze({
      refreshTokensPerAccount,
      refreshTokensMax,
      paymentsPerAccount,
      paymentsMax,
      idempotencyTtlSeconds,
      otpChallengesMax,
      ...options.limits,
    });
  }

  /** Registers a memo to clear on every reset (so a reset leaves nothing of the run before it). */
  onReset(listener: () => void): void {
    this.resetListeners.push(listener);
  }

  // --- Refresh tokens -------------------------------------------------------------------------------

  /**
   * Stores a refresh token as the live token of its family (a new family when `grant.family` is new),
   * then applies the bounds: the family keeps its newest `REFRESH_RETIRED_PER_FAMILY` retired tokens, the
   * account its newest `refreshTokensPerAccount` families, and the store at most `refreshTokensMax`
   * tokens (oldest families revoked first). Expired families are swept first (`sweepRefreshTokens`).
   * @param now epoch ms (the mock's clock).
   */
  addRefreshToken(token: string, grant: Omit<RefreshGrant, 'retired'>, now: number): void {
    this.sweepRefreshTokens(now);
    let family = this.refreshFamilies.get(grant.family);
    if (!family) {
      family = { accountIndex: grant.accountIndex, expiresAt: grant.expiresAt, tokens: [] };
      this.refreshFamilies.set(grant.family, family);
      const ofAccount = this.refreshFamiliesByAccount.get(grant.accountIndex) ?? [];
      ofAccount.push(grant.family);
      this.refreshFamiliesByAccount.set(grant.accountIndex, ofAccount);
      while (ofAccount.length > this.limits.refreshTokensPerAccount) this.dropRefreshFamily(ofAccount[0]!);
    }
    this.refreshTokens.set(token, { ...grant, retired: false });
    family.tokens.push(token);
    // Keep the live token and the newest retired ones; forget older retired ones.
    while (family.tokens.length > REFRESH_RETIRED_PER_FAMILY + 1)
      this.refreshTokens.delete(family.tokens.shift()!);
    for (const oldest of this.refreshFamilies.keys()) {
      if (this.refreshTokens.size <= this.limits.refreshTokensMax || oldest === grant.family) break;
      this.dropRefreshFamily(oldest);
    }
  }

  /** Forgets every token of a family (expired, revoked after reuse, or beyond a bound). */
  dropRefreshFamily(familyId: string): void {
    const family = this.refreshFamilies.get(familyId);
    if (!family) return;
    for (const token of family.tokens) this.refreshTokens.delete(token);
    this.refreshFamilies.delete(familyId);
    const ofAccount = this.refreshFamiliesByAccount.get(family.accountIndex);
    const at = ofAccount?.indexOf(familyId) ?? -1;
    if (ofAccount && at >= 0) ofAccount.splice(at, 1);
    if (ofAccount?.length === 0) this.refreshFamiliesByAccount.delete(family.accountIndex);
  }

  /**
   * Forgets families that expired at or before `now`, oldest first, stopping at the first live one:
   * families are kept in creation order and share one lifetime, so that is expiry order, and each family
   * is swept once (amortised O(1) per call). A family that the admin API's clock moves left out of order
   * is still refused when presented, and dropped then.
   */
  sweepRefreshTokens(now: number): void {
    for (const [id, family] of this.refreshFamilies) {
      if (family.expiresAt > now) break;
      this.dropRefreshFamily(id);
    }
  }

  // --- One-time codes -------------------------------------------------------------------------------

  /**
   * Stores a challenge after sweeping those expired more than `OTP_CHALLENGE_GRACE_MS` ago (creation
   * order is expiry order: one lifetime for all), then forgets the oldest beyond `otpChallengesMax`.
   * @param now epoch ms (the mock's clock).
   */
  addOtpChallenge(challenge: OtpChallenge, now: number): void {
    for (const [id, c] of this.otpChallenges) {
      if (
        c.expiresAt + OTP_CHALLENGE_GRACE_MS > now &&
        this.otpChallenges.size < this.limits.otpChallengesMax
      )
        break;
      this.otpChallenges.delete(id);
    }
    this.otpChallenges.set(challenge.otpId, challenge);
  }

  /**
   * Records the send times (epoch ms, oldest first, already cut to the window) of `accountIndex`, moving
   * it to the end of the map, then forgets accounts whose last send is at or before `windowStart` and
   * beyond `otpChallengesMax` accounts the least recently sent to (their count starts again).
   */
  recordOtpSend(accountIndex: number, sends: number[], windowStart: number): void {
    this.otpSends.delete(accountIndex);
    if (sends.length > 0) this.otpSends.set(accountIndex, sends);
    for (const [account, times] of this.otpSends) {
      if (times[times.length - 1]! > windowStart && this.otpSends.size <= this.limits.otpChallengesMax) break;
      this.otpSends.delete(account);
    }
  }

  // --- Payments -------------------------------------------------------------------------------------

  /** Records a sent code in the outbox, dropping the oldest beyond `OUTBOX_LIMIT`. */
  pushOutbox(message: OutboxMessage): void {
    this.outbox.push(message);
    if (this.outbox.length > OUTBOX_LIMIT) this.outbox.splice(0, this.outbox.length - OUTBOX_LIMIT);
  }

  /**
   * Adds a payment as the account's newest, with the `Idempotency-Key` it was made with (`key` is
   * `<account index>:<lower-cased key>`), then applies the bounds: the account keeps its newest
   * `paymentsPerAccount` payments and the store its newest `paymentsMax`; a dropped payment takes its
   * key, its UTRN and its pending settlement with it. Expired keys are swept first.
   * @param idempotency the key, the body's fingerprint and the epoch ms it was first used.
   */
  addPayment(
    accountIndex: number,
    payment: PaymentRecord,
    idempotency?: { key: string; fingerprint: string; createdAt: number },
  ): void {
    if (idempotency) this.sweepIdempotency(idempotency.createdAt);
    const id = payment.paymentId;
    this.payments.set(id, {
      accountIndex,
      payment,
      ...(idempotency ? { idempotencyKey: idempotency.key } : {}),
    });
    if (payment.utrn !== undefined) this.usedUtrns.add(payment.utrn);
    if (idempotency) {
      this.idempotency.set(idempotency.key, {
        fingerprint: idempotency.fingerprint,
        paymentId: id,
        createdAt: idempotency.createdAt,
      });
    }
    let index = this.paymentsByAccount.get(accountIndex);
    if (!index)
      this.paymentsByAccount.set(accountIndex, (index = { all: new IdQueue(), byDevice: new Map() }));
    index.all.push(id);
    let ofDevice = index.byDevice.get(payment.deviceId);
    if (!ofDevice) index.byDevice.set(payment.deviceId, (ofDevice = new IdQueue()));
    ofDevice.push(id);
    while (index.all.size > this.limits.paymentsPerAccount) this.dropPayment(index.all.peek()!);
    for (const oldest of this.payments.keys()) {
      if (this.payments.size <= this.limits.paymentsMax) break;
      this.dropPayment(oldest);
    }
  }

  /** Replaces a stored payment's record (a pending one settling), keeping its place and key. */
  updatePayment(payment: PaymentRecord): void {
    const entry = this.payments.get(payment.paymentId);
    if (!entry) return;
    entry.payment = payment;
    if (payment.utrn !== undefined) this.usedUtrns.add(payment.utrn);
  }

  /**
   * Forgets a payment with its key (when the key still stands for it), its UTRN and its pending
   * settlement. O(1) for the account's oldest payment (what the bounds drop).
   */
  dropPayment(paymentId: string): void {
    const entry = this.payments.get(paymentId);
    if (!entry) return;
    this.payments.delete(paymentId);
    this.pendingPayments.delete(paymentId);
    if (entry.payment.utrn !== undefined) this.usedUtrns.delete(entry.payment.utrn);
    const key = entry.idempotencyKey;
    if (key !== undefined && this.idempotency.get(key)?.paymentId === paymentId) this.idempotency.delete(key);
    const index = this.paymentsByAccount.get(entry.accountIndex);
    if (!index) return;
    const unlink = (queue: IdQueue): void => {
      if (queue.peek() === paymentId) queue.shift();
      else queue.remove(paymentId);
    };
    unlink(index.all);
    const ofDevice = index.byDevice.get(entry.payment.deviceId);
    if (ofDevice) {
      unlink(ofDevice);
      if (ofDevice.size === 0) index.byDevice.delete(entry.payment.deviceId);
    }
    if (index.all.size === 0) this.paymentsByAccount.delete(entry.accountIndex);
  }

  /**
   * A page of the account's payments, newest first, optionally of one device, in O(limit) whatever the offset:
   * the walk starts `offset` from the newest end of the account's (or device's) index, and `total` is
   * the index's size (api.md "Lists").
   */
  paymentPage(
    accountIndex: number,
    deviceId: string | undefined,
    offset: number,
    limit: number,
  ): PaymentSlice {
    const index = this.paymentsByAccount.get(accountIndex);
    const queue = deviceId === undefined ? index?.all : index?.byDevice.get(deviceId);
    if (!queue) return { items: [], total: 0 };
    return {
      items: queue.newestFirst(offset, limit).map((id) => this.payments.get(id)!.payment),
      total: queue.size,
    };
  }

  /**
   * What `key` (`<account index>:<lower-cased Idempotency-Key>`) stands for, or undefined when unused or
   * expired (`idempotencyTtlSeconds` after it was first used; an expired one is forgotten here).
   * @param now epoch ms (the mock's clock).
   */
  idempotentRequest(key: string, now: number): IdempotentRequest | undefined {
    const found = this.idempotency.get(key);
    if (!found) return undefined;
    if (found.createdAt + this.limits.idempotencyTtlSeconds * 1000 > now) return found;
    this.idempotency.delete(key);
    return undefined;
  }

  /**
   * Forgets keys whose lifetime ended at or before `now`, oldest first, stopping at the first live one
   * (keys are kept in the order they were first used: amortised O(1) per call).
   */
  sweepIdempotency(now: number): void {
    const ttlMs = this.limits.idempotencyTtlSeconds * 1000;
    for (const [key, request] of this.idempotency) {
      if (request.createdAt + ttlMs > now) break;
      this.idempotency.delete(key);
    }
  }

  /** Drops every payment, key, UTRN and pending settlement (before a state import). */
  clearPayments(): void {
    this.payments.clear();
    this.paymentsByAccount.clear();
    this.pendingPayments.clear();
    this.idempotency.clear();
    this.usedUtrns.clear();
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
    this.refreshFamiliesByAccount.clear();
    this.loginFailures.clear();
    this.otpChallenges.clear();
    this.otpSends.clear();
    this.outbox.length = 0;
    this.clearPayments();
    this.balances.clear();
    this.gatewayWindows.clear();
    this.faults.clear();
    this.journal.clear();
    this.generation += 1;
    for (const listener of this.resetListeners) listener();
  }
}

export * from './shared-store';
export { MemoryStore, utrnFrom, LOGIN_FAILURE_MAX_USERNAMES } from './memory-store';
export { RedisStore } from './redis-store';
