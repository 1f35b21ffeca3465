/**
 * The memory implementation of the store interface (`--store memory`, the default): today's `Store`
 * maps behind `SharedStore`'s methods. Each method does its checks and writes without awaiting in
 * between, so it is atomic within the one process that owns the maps.
 */
import { timingSafeEqual } from 'node:crypto';
import type { CompiledContract } from '../../contract-kit';
import { makeUtrn } from '../../fixtures/domain/utrn';
import type { RandomSource } from '../random';
import type { FaultRule, FaultRuleInput, FaultTarget } from '../scenario/faults';
import type { JournalEntry, JournalFilter, RawJournalEntry } from '../scenario/journal';
import type {
  BalanceOverlay,
  GatewayLimit,
  GatewayWindow,
  OutboxMessage,
  PaymentSlice,
  RefreshGrant,
  Registration,
  StoreLimits,
  StoredPayment,
} from './index';
import { Store } from './index';
import type {
  Mint,
  OtpSendRequest,
  OtpSendResult,
  OtpVerdict,
  OverlayImport,
  OverlaySnapshot,
  RefreshVerdict,
  SettleDecision,
  SharedStore,
  StoreHealth,
  TopUpRequest,
  TopUpResult,
} from './shared-store';
import { isoTimestamp } from '../clock';

/** Most usernames whose wrong passwords are remembered at once (the least recently failed go first). */
export const LOGIN_FAILURE_MAX_USERNAMES = 10_000;

/** A UTRN from a seeded stream: a 739-753 prefix, 16 digits and the check digit (domain.md). */
export function utrnFrom(random: RandomSource): string {
  return makeUtrn(String(random.int(739, 753)) + random.digits(16));
}

/** `--store memory`: one process's maps (`Store`), ids from the app's seeded `RandomSource`. */
export class MemoryStore implements SharedStore {
  readonly kind = 'memory' as const;
  /** The maps themselves (tests and benches read them). */
  readonly data: Store;

  /**
   * @param random the app's seeded stream for payment, challenge and UTRN ids (restarted by ResetMock).
   */
  constructor(
    private readonly random: RandomSource,
    options: { seed?: number; journalSize?: number; limits?: Partial<StoreLimits> } = {},
  ) {
    this.data = new Store(options);
  }

  get journalCapacity(): number {
    return this.data.journal.capacity;
  }

  /** The turn of the event loop that the requests begun in this one wait for (see `begin`). */
  private turn?: Promise<undefined>;

  /**
   * Nothing to read ahead (the maps are this process's own), but, as on Redis, the requests that begin
   * in one turn of the event loop go on together in the next (`setImmediate`): each stage then runs for
   * all of them in a row, which costs less CPU per request than running each request's whole pipeline
   * in turn (bench/: the Redis mock, which waits for its per-turn snapshot, needed less CPU per GetBalance
   * than the memory mock did).
   */
  begin(): Promise<undefined> {
    this.turn ??= new Promise((resolve) =>
      setImmediate(() => {
        this.turn = undefined;
        resolve(undefined);
      }),
    );
    return this.turn;
  }

  generation(): number {
    return this.data.generation;
  }

  onReset(listener: () => void): void {
    this.data.onReset(listener);
  }

  health(): StoreHealth {
    return { kind: 'memory', status: 'up' };
  }

  async close(): Promise<void> {}

  // --- Registrations ----------------------------------------------------------------------------

  async registration(accountIndex: number): Promise<Registration | undefined> {
    return this.data.registrations.get(accountIndex);
  }

  async accountByEmail(email: string): Promise<number | undefined> {
    return this.data.registrationsByEmail.get(email);
  }

  async register(r: Registration): Promise<boolean> {
    const email = r.email.toLowerCase();
    if (this.data.registrations.has(r.accountIndex) || this.data.registrationsByEmail.has(email))
      return false;
    this.data.registrations.set(r.accountIndex, r);
    this.data.registrationsByEmail.set(email, r.accountIndex);
    return true;
  }

  // --- Password throttle ------------------------------------------------------------------------

  private recentFailures(key: string, windowStart: number): number[] {
    const { loginFailures } = this.data;
    const all = loginFailures.get(key);
    if (!all) return [];
    const recent = all.filter((t) => t > windowStart);
    if (recent.length === 0) loginFailures.delete(key);
    else if (recent.length !== all.length) loginFailures.set(key, recent);
    return recent;
  }

  async loginFailures(key: string, windowStart: number): Promise<number[]> {
    return this.recentFailures(key, windowStart);
  }

  async countLoginFailure(key: string, now: number, windowStart: number, limit: number): Promise<void> {
    const { loginFailures } = this.data;
    const recent = this.recentFailures(key, windowStart);
    recent.push(now);
    // Delete and set again, so the map's order is least recently failed first.
    loginFailures.delete(key);
    loginFailures.set(key, recent.slice(-limit));
    for (const other of loginFailures.keys()) {
      if (loginFailures.size <= LOGIN_FAILURE_MAX_USERNAMES) break;
      loginFailures.delete(other);
    }
  }

  async claimLoginAttempt(
    key: string,
    now: number,
    windowStart: number,
    limit: number,
  ): Promise<number | undefined> {
    const recent = this.recentFailures(key, windowStart);
    if (recent.length >= limit) return recent[0];
    await this.countLoginFailure(key, now, windowStart, limit);
    return undefined;
  }

  async forgetLoginFailure(key: string, at: number): Promise<void> {
    const { loginFailures } = this.data;
    const failures = loginFailures.get(key);
    const i = failures?.lastIndexOf(at) ?? -1;
    if (!failures || i < 0) return;
    failures.splice(i, 1);
    if (failures.length === 0) loginFailures.delete(key);
  }

  // --- One-time codes --------------------------------------------------------------------------

  async sendOtp(req: OtpSendRequest): Promise<OtpSendResult> {
    const windowStart = req.now - req.windowMs;
    const sends = (this.data.otpSends.get(req.accountIndex) ?? []).filter((t) => t > windowStart);
    if (sends.length >= req.limit) {
      this.data.recordOtpSend(req.accountIndex, sends, windowStart);
      return { oldestSend: sends[0]! };
    }
    sends.push(req.now);
    this.data.recordOtpSend(req.accountIndex, sends, windowStart);
    let otpId: string;
    do otpId = this.random.uuid();
    while (this.data.otpChallenges.has(otpId));
    this.data.addOtpChallenge(
      {
        otpId,
        accountIndex: req.accountIndex,
        channel: req.channel,
        to: req.to,
        code: req.code,
        expiresAt: req.expiresAt,
        failedAttempts: 0,
        state: 'open',
      },
      req.now,
    );
    this.data.pushOutbox({
      otpId,
      channel: req.channel,
      to: req.to,
      code: req.code,
      sentAt: isoTimestamp(req.now),
    });
    return { otpId };
  }

  async verifyOtp(
    otpId: string,
    accountIndex: number,
    code: string,
    now: number,
    maxAttempts: number,
  ): Promise<OtpVerdict> {
    const challenge = this.data.otpChallenges.get(otpId);
    if (!challenge || challenge.accountIndex !== accountIndex) return { result: 'not-found' };
    if (challenge.state !== 'open') return { result: challenge.state };
    if (challenge.expiresAt <= now) return { result: 'expired' };
    const ok =
      code.length === challenge.code.length &&
      timingSafeEqual(Buffer.from(code), Buffer.from(challenge.code));
    if (ok) {
      challenge.state = 'used';
      return { result: 'ok' };
    }
    challenge.failedAttempts += 1;
    const attemptsRemaining = maxAttempts - challenge.failedAttempts;
    if (attemptsRemaining <= 0) challenge.state = 'voided';
    return { result: 'wrong', attemptsRemaining };
  }

  async outbox(filter: { to?: string[]; otpId?: string[] }): Promise<OutboxMessage[]> {
    const { to, otpId } = filter;
    return this.data.outbox.filter((m) => (!to || to.includes(m.to)) && (!otpId || otpId.includes(m.otpId)));
  }

  // --- Refresh tokens --------------------------------------------------------------------------

  async issueRefresh(token: string, grant: Omit<RefreshGrant, 'retired'>, now: number): Promise<void> {
    this.data.addRefreshToken(token, grant, now);
  }

  async useRefresh(token: string, now: number, rotateTo?: string): Promise<RefreshVerdict> {
    const grant = this.data.refreshTokens.get(token);
    if (!grant || grant.expiresAt <= now) {
      if (grant) this.data.dropRefreshFamily(grant.family);
      return { result: 'unknown' };
    }
    if (grant.retired) {
      this.data.dropRefreshFamily(grant.family);
      return { result: 'reused' };
    }
    if (rotateTo !== undefined) {
      grant.retired = true;
      const { accountIndex, scope, expiresAt, family } = grant;
      this.data.addRefreshToken(rotateTo, { accountIndex, scope, expiresAt, family }, now);
    } else {
      this.data.sweepRefreshTokens(now);
    }
    return { result: 'ok', grant: { ...grant } };
  }

  // --- Payments ----------------------------------------------------------------------------------

  async payment(paymentId: string): Promise<StoredPayment | undefined> {
    return this.data.payments.get(paymentId);
  }

  async paymentPage(
    accountIndex: number,
    deviceId: string | undefined,
    offset: number,
    limit: number,
  ): Promise<PaymentSlice> {
    return this.data.paymentPage(accountIndex, deviceId, offset, limit);
  }

  async balance(deviceId: string): Promise<BalanceOverlay | undefined> {
    return this.data.balances.get(deviceId);
  }

  /** Ids from the app's seeded stream, each checked against the stored payments (as before issue 12). */
  private readonly mint: Mint = {
    paymentId: () => {
      for (;;) {
        const id = this.random.uuid();
        if (!this.data.payments.has(id)) return id;
      }
    },
    utrn: () => {
      for (;;) {
        const utrn = utrnFrom(this.random);
        if (!this.data.usedUtrns.has(utrn)) return utrn;
      }
    },
  };

  async topUp(req: TopUpRequest): Promise<TopUpResult> {
    const { data } = this;
    const earlier = data.idempotentRequest(req.key, req.now);
    // A key is dropped with its payment, so a live key always has one; the check only keeps that so.
    const replay = earlier && data.payments.get(earlier.paymentId);
    if (earlier && replay)
      return { replayed: true, payment: replay.payment, fingerprint: earlier.fingerprint };
    const decision = req.decide(data.balances.get(req.deviceId), this.mint);
    if (decision.balance) data.balances.set(decision.payment.deviceId, decision.balance);
    data.addPayment(req.accountIndex, decision.payment, {
      key: req.key,
      fingerprint: req.fingerprint,
      createdAt: req.now,
    });
    if (decision.pending) data.pendingPayments.set(decision.payment.paymentId, decision.pending);
    return { replayed: false, payment: decision.payment };
  }

  async settleDue(now: number, decide: SettleDecision): Promise<number> {
    const { data } = this;
    if (data.pendingPayments.size === 0) return 0;
    // Array sort is stable, and the map iterates in creation order.
    const due = [...data.pendingPayments.values()]
      .filter((p) => p.dueAt <= now)
      .sort((a, b) => a.dueAt - b.dueAt);
    for (const pending of due) {
      data.pendingPayments.delete(pending.paymentId);
      const entry = data.payments.get(pending.paymentId);
      if (!entry || entry.payment.status !== 'PENDING') continue;
      const current = data.balances.get(entry.payment.deviceId);
      const settled = decide(pending, entry.payment, current, this.mint);
      if (settled.balance) data.balances.set(entry.payment.deviceId, settled.balance);
      data.updatePayment(settled.payment);
    }
    return due.length;
  }

  // --- Gateway, clock ------------------------------------------------------------------------------

  async countGatewayCall(
    limits: readonly GatewayLimit[],
    now: number,
  ): Promise<{ index: number; window: GatewayWindow } | undefined> {
    return this.data.countGatewayCall(limits, now);
  }

  async saveClock(): Promise<void> {}

  // --- Faults ---------------------------------------------------------------------------------------

  faultsEmpty(): boolean {
    return this.data.faults.empty;
  }

  faultsNeedAccount(): boolean {
    return this.data.faults.needsAccount;
  }

  async matchFault(target: FaultTarget): Promise<FaultRule | undefined> {
    return this.data.faults.match(target);
  }

  async faults(): Promise<FaultRule[]> {
    return this.data.faults.list();
  }

  async addFault(input: FaultRuleInput, contract: CompiledContract, now: number): Promise<FaultRule> {
    this.data.faults.validate(input, contract);
    return this.data.faults.add(input, now);
  }

  async removeFault(faultId: string): Promise<boolean> {
    return this.data.faults.remove(faultId);
  }

  async clearFaults(): Promise<void> {
    this.data.faults.clear();
  }

  // --- Journal ------------------------------------------------------------------------------------

  async journalAppend(entry: RawJournalEntry): Promise<void> {
    this.data.journal.record(entry);
  }

  async journalQuery(
    filter: JournalFilter,
    limit: number,
  ): Promise<{ items: JournalEntry[]; total: number }> {
    return this.data.journal.query(filter, limit);
  }

  async journalCount(filter: JournalFilter): Promise<number> {
    return this.data.journal.count(filter);
  }

  async clearJournal(): Promise<void> {
    this.data.journal.clear();
  }

  // --- State --------------------------------------------------------------------------------------

  async exportOverlay(now: number): Promise<OverlaySnapshot> {
    const { data } = this;
    return {
      registrations: [...data.registrations.values()],
      payments: [...data.payments.values()].map((stored) => {
        const key = stored.idempotencyKey;
        // Only a key that is still remembered, and still stands for this payment.
        const request = key === undefined ? undefined : data.idempotentRequest(key, now);
        const live = request?.paymentId === stored.payment.paymentId;
        const pending = data.pendingPayments.get(stored.payment.paymentId);
        return {
          accountIndex: stored.accountIndex,
          payment: stored.payment,
          ...(live ? { idempotencyKey: key, fingerprint: request.fingerprint } : {}),
          ...(pending ? { pending } : {}),
        };
      }),
      balances: [...data.balances],
    };
  }

  async importOverlay(overlay: OverlayImport): Promise<void> {
    const { data } = this;
    data.registrations.clear();
    data.registrationsByEmail.clear();
    for (const r of overlay.registrations) {
      data.registrations.set(r.accountIndex, r);
      data.registrationsByEmail.set(r.email.toLowerCase(), r.accountIndex);
    }
    data.clearPayments();
    // In the document's order (oldest first, as exported): within the bounds checked, none is dropped.
    for (const { stored, idempotency } of overlay.payments) {
      data.addPayment(
        stored.accountIndex,
        stored.payment,
        stored.idempotencyKey !== undefined && idempotency
          ? { key: stored.idempotencyKey, ...idempotency }
          : undefined,
      );
    }
    for (const p of overlay.pending) data.pendingPayments.set(p.paymentId, p);
    data.balances.clear();
    for (const [deviceId, b] of overlay.balances) data.balances.set(deviceId, b);
  }

  async clearTimeWindows(): Promise<void> {
    this.data.clearTimeWindows();
  }

  async reset(): Promise<void> {
    this.data.reset();
  }
}
