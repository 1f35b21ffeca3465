/**
 * The one store interface (architecture.md "One store interface"; docs/decisions.md "Shared state on
 * Redis (issue 12)"): everything clients change or that limits them, one async method per thing a
 * handler does. Operations that must be atomic (a top-up with its Idempotency-Key, counting an OTP
 * attempt or send, a gateway call, a wrong password, rotating a refresh token, registering) are single
 * methods, so each implementation makes them atomic its own way: the memory store by doing the work
 * without yielding, the Redis store with one Lua script. Handlers and services see only this.
 */
import type { BalanceState } from '../../fixtures/types';
import type { ClockSnapshot } from '../clock';
import type { CompiledContract } from '../../contract-kit';
import type { FaultRule, FaultRuleInput, FaultTarget } from '../scenario/faults';
import type { JournalEntry, JournalFilter, RawJournalEntry } from '../scenario/journal';
import type {
  BalanceOverlay,
  GatewayLimit,
  GatewayWindow,
  OutboxMessage,
  PaymentRecord,
  PaymentSlice,
  PendingPayment,
  RefreshGrant,
  Registration,
  StoredPayment,
} from './index';

/** What `/__admin/health` reports of the store. */
export interface StoreHealth {
  /** `memory` (one process) or `redis` (shared by replicas). */
  kind: 'memory' | 'redis';
  /** `down` while Redis is unreachable: requests that need the store answer 503. */
  status: 'up' | 'down';
  /** Redis only: the store URL with its password hidden. */
  url?: string;
  /** Redis only: the server's product and version (`redis 7.0.15`). */
  server?: string;
  /** Redis only, while down: the last connection error (one line). */
  error?: string;
}

/** Ids minted for a top-up or a settlement, synchronously (the Redis store fetches them beforehand). */
export interface Mint {
  /** A payment id (RFC 9562 v4 UUID from the seed) no stored payment has. */
  paymentId(): string;
  /** A UTRN (20 digits, domain.md) no stored payment has. */
  utrn(): string;
}

/** What a top-up stores, as decided by the handler from the current balance. */
export interface TopUpDecision {
  payment: PaymentRecord;
  /** The device's new balance (APPLIED only). */
  balance?: BalanceOverlay;
  /** The settlement to come (PENDING only). */
  pending?: PendingPayment;
}

/** A MakePayment as the store runs it: claim the key, or replay what it stands for. */
export interface TopUpRequest {
  accountIndex: number;
  deviceId: string;
  /** `<account index>:<lower-cased Idempotency-Key>`. */
  key: string;
  /** SHA-256 of the canonical body. */
  fingerprint: string;
  /** Epoch ms (the mock's clock). */
  now: number;
  /**
   * Given the device's stored balance (undefined: the generated one), what to store; may throw a
   * problem (nothing is stored). Called only when the key is unclaimed; the Redis store may call it
   * again after a concurrent change of the balance, so it must not have side effects.
   */
  decide(current: BalanceOverlay | undefined, mint: Mint): TopUpDecision;
}

/** The answer of `topUp`: the payment the key already stands for, or the new one. */
export type TopUpResult =
  | { replayed: true; payment: PaymentRecord; fingerprint: string }
  | { replayed: false; payment: PaymentRecord };

/** How one due pending payment settles, decided by the handler from the current balance. */
export type SettleDecision = (
  pending: PendingPayment,
  payment: PaymentRecord,
  current: BalanceOverlay | undefined,
  mint: Mint,
) => { payment: PaymentRecord; balance?: BalanceOverlay };

/** SendOTP as the store runs it: count the send in the window, then store the challenge and the outbox entry. */
export interface OtpSendRequest {
  accountIndex: number;
  channel: 'sms' | 'email';
  to: string;
  code: string;
  /** Epoch ms. */
  now: number;
  /** Epoch ms at which the code expires. */
  expiresAt: number;
  /** Sends allowed per window. */
  limit: number;
  /** The window, in ms. */
  windowMs: number;
}

/** The answer of `sendOtp`: the new challenge's id, or the epoch ms of the oldest send in a full window. */
export type OtpSendResult = { otpId: string } | { oldestSend: number };

/** The answer of `verifyOtp`. */
export type OtpVerdict =
  | { result: 'ok' | 'not-found' | 'used' | 'voided' | 'expired' }
  | { result: 'wrong'; attemptsRemaining: number };

/** The answer of `useRefresh`: the grant (rotated when asked), or why not. */
export type RefreshVerdict =
  { result: 'ok'; grant: RefreshGrant } | { result: 'unknown' } | { result: 'reused' };

/** The overlay as `GET /__admin/state` exports it, before mapping to the document. */
export interface OverlaySnapshot {
  registrations: Registration[];
  /** Oldest first, with the live key's fingerprint and the pending settlement. */
  payments: (StoredPayment & { fingerprint?: string; pending?: PendingPayment })[];
  balances: [string, BalanceOverlay][];
}

/** The overlay `PUT /__admin/state` swaps in (already checked against the world and the bounds). */
export interface OverlayImport {
  registrations: Registration[];
  /** Oldest first; `idempotency` with the epoch ms it was first used. */
  payments: { stored: StoredPayment; idempotency?: { fingerprint: string; createdAt: number } }[];
  pending: PendingPayment[];
  balances: [string, BalanceOverlay][];
}

/**
 * Reads a request will make, named by the router from the operation and its path parameters before the
 * handler runs (`HandlerEntry.reads`), so `begin` fetches them with the snapshot: on Redis a read of an
 * entity no client changed then costs no round trip of its own (issue 12: GetBalance within 0.8x of the
 * memory store).
 */
export interface StoreReads {
  /** Devices whose balance overlay the handler reads (GetBalance). */
  balances?: readonly string[];
}

/**
 * What `begin` fetched for one request besides the snapshot; the handler passes it back to the read it
 * stands for (`balance(deviceId, prefetched)`), which uses it only while it is still what that read would
 * return to this request (the Redis store's rule: same generation, nothing due to settle, no settlement
 * by this process since). Undefined from a store that fetches nothing ahead (memory).
 */
export interface Prefetched {
  /** Device id -> its balance overlay as of `begin` (undefined: none stored, the generated one holds). */
  readonly balances: ReadonlyMap<string, BalanceOverlay | undefined>;
  /** The generation it was read in. */
  readonly generation: number;
  /** Epoch ms of the earliest pending settlement as of `begin` (Infinity: none). */
  readonly earliestDue: number;
  /** The store's count of settlements made by this process when it was read. */
  readonly settlements: number;
}

/** The store: memory (`MemoryStore`) or Redis (`RedisStore`). */
export interface SharedStore {
  readonly kind: 'memory' | 'redis';
  /** Requests kept in the journal (0: none). */
  readonly journalCapacity: number;

  /**
   * Called once at the start of each request that may use the store: the Redis store reads the shared
   * generation, clock and fault-rule version, and the entities named by `reads`, in one round trip (and
   * moves the process's clock to the shared one).
   * @param reads what the request's handler will read (see `StoreReads`).
   * @returns what was read ahead for the handler, or undefined when nothing was.
   * @throws StoreUnavailable while Redis is down.
   */
  begin(reads?: StoreReads): Promise<Prefetched | undefined>;
  /** The generation as of the last `begin` (a reset starts a new one; tokens carry it). */
  generation(): number;
  /** Registers a memo to clear on every reset this process makes. */
  onReset(listener: () => void): void;
  health(): StoreHealth;
  /** Closes connections (Redis). */
  close(): Promise<void>;

  // Registrations ---------------------------------------------------------------------------------
  registration(accountIndex: number): Promise<Registration | undefined>;
  /** The account registered with this lower-cased e-mail. */
  accountByEmail(email: string): Promise<number | undefined>;
  /** Stores a registration unless the account or the e-mail is taken. @returns false when taken. */
  register(registration: Registration): Promise<boolean>;

  // Password throttle ------------------------------------------------------------------------------
  /** The key's wrong passwords after `windowStart` (epoch ms, oldest first); older ones are forgotten. */
  loginFailures(key: string, windowStart: number): Promise<number[]>;
  /** Counts one at `now`, keeping the newest `limit`. */
  countLoginFailure(key: string, now: number, windowStart: number, limit: number): Promise<void>;
  /**
   * Counts an attempt at `now` unless `limit` are already counted after `windowStart`, in one atomic step
   * (check and count apart let attempts in flight together all pass the check).
   * @returns undefined when counted; else the oldest counted attempt (epoch ms), nothing counted.
   */
  claimLoginAttempt(
    key: string,
    now: number,
    windowStart: number,
    limit: number,
  ): Promise<number | undefined>;
  /** Takes back one counted at `at`. */
  forgetLoginFailure(key: string, at: number): Promise<void>;

  // One-time codes ------------------------------------------------------------------------------
  sendOtp(request: OtpSendRequest): Promise<OtpSendResult>;
  /** Checks a code; a wrong one counts an attempt (voided at `maxAttempts`), a right one uses it up. */
  verifyOtp(
    otpId: string,
    accountIndex: number,
    code: string,
    now: number,
    maxAttempts: number,
  ): Promise<OtpVerdict>;
  /** The dev outbox, oldest first, filtered by recipients and challenge ids. */
  outbox(filter: { to?: string[]; otpId?: string[] }): Promise<OutboxMessage[]>;

  // Refresh tokens --------------------------------------------------------------------------------
  /** Stores a token as its family's live one (a new family when new), with the bounds applied. */
  issueRefresh(token: string, grant: Omit<RefreshGrant, 'retired'>, now: number): Promise<void>;
  /**
   * Checks a refresh token at `now`: unknown or expired (its family dropped), retired (reuse: its family
   * dropped), else ok; with `rotateTo` it is retired and `rotateTo` becomes its family's live token.
   */
  useRefresh(token: string, now: number, rotateTo?: string): Promise<RefreshVerdict>;

  // Payments and balances --------------------------------------------------------------------------
  payment(paymentId: string): Promise<StoredPayment | undefined>;
  paymentPage(
    accountIndex: number,
    deviceId: string | undefined,
    offset: number,
    limit: number,
  ): Promise<PaymentSlice>;
  /**
   * The device's balance overlay (undefined: the generated balance holds).
   * @param prefetched what this request's `begin` read ahead: answered from it, with no round trip, while
   *   it still holds (see `Prefetched`).
   */
  balance(deviceId: string, prefetched?: Prefetched): Promise<BalanceOverlay | undefined>;
  /** A MakePayment, atomic with the claim of its Idempotency-Key. */
  topUp(request: TopUpRequest): Promise<TopUpResult>;
  /** Settles every pending payment due at `now`, in due order, each once. @returns how many. */
  settleDue(now: number, decide: SettleDecision): Promise<number>;

  // Gateway -----------------------------------------------------------------------------------------
  /** Counts a call against every limit or none; see `Store.countGatewayCall`. */
  countGatewayCall(
    limits: readonly GatewayLimit[],
    now: number,
  ): Promise<{ index: number; window: GatewayWindow } | undefined>;

  // Clock ----------------------------------------------------------------------------------------------
  /** Shares the process's clock state (the admin API moved it); memory: nothing to do. */
  saveClock(state: ClockSnapshot): Promise<void>;

  // Faults ---------------------------------------------------------------------------------------------
  /** No rule stored (as of the last `begin`): the router skips matching. */
  faultsEmpty(): boolean;
  /** Some rule needs the caller's account. */
  faultsNeedAccount(): boolean;
  /** The first live rule for the request, its call counted. */
  matchFault(target: FaultTarget): Promise<FaultRule | undefined>;
  faults(): Promise<FaultRule[]>;
  /** Checks a rule (see `FaultRules.validate`) and stores it. */
  addFault(input: FaultRuleInput, contract: CompiledContract, now: number): Promise<FaultRule>;
  removeFault(faultId: string): Promise<boolean>;
  clearFaults(): Promise<void>;

  // Journal --------------------------------------------------------------------------------------------
  /**
   * Records an answered request. The Redis store gathers the entries of one turn of the event loop into
   * one command; its queries write what is gathered first, so a journal read after an answer has it.
   */
  journalAppend(entry: RawJournalEntry): Promise<void>;
  journalQuery(filter: JournalFilter, limit: number): Promise<{ items: JournalEntry[]; total: number }>;
  journalCount(filter: JournalFilter): Promise<number>;
  clearJournal(): Promise<void>;

  // State -----------------------------------------------------------------------------------------------
  /** The overlay (the caller settles due payments first). @param now epoch ms, for live keys. */
  exportOverlay(now: number): Promise<OverlaySnapshot>;
  /** Replaces the overlay in one step. */
  importOverlay(overlay: OverlayImport): Promise<void>;
  /** Forgets every time window's counters (the clock moved back). */
  clearTimeWindows(): Promise<void>;
  /** Drops every change: a new generation. */
  reset(): Promise<void>;
}

/** Thrown by the Redis store while the server is unreachable; the pipeline answers 503. */
export class StoreUnavailable extends Error {
  override readonly name = 'StoreUnavailable';
  /** @param retryAfterSeconds for `Retry-After`. */
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** A generated balance's state, for `decide` callbacks. */
export type { BalanceState };
