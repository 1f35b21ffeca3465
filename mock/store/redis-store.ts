/**
 * The Redis implementation of the store interface (`--store redis://host:port/db`; docs/decisions.md
 * "Shared state on Redis (issue 12), design"): replicas that share one Redis (or Valkey) see one overlay.
 * Atomic methods are one Lua script each (`redis-scripts.ts`); keys are
 * `procode:{<prefix>:<seed>}:g<generation>:<kind>:<id>`, so a reset is one `HINCRBY` of the generation.
 * While Redis is down every method throws `StoreUnavailable` (the pipeline answers 503); nothing falls
 * back to memory.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CompiledContract } from '../../contract-kit';
import type { ClockSnapshot, ScenarioClock } from '../clock';
import { isoTimestamp } from '../clock';
import { ConfigError } from '../config';
import { SeededRandom } from '../random';
import type { FaultRule, FaultRuleInput, FaultTarget } from '../scenario/faults';
import { MAX_FAULT_RULES, faultDraw, ruleMatches, validateFaultRule } from '../scenario/faults';
import type { JournalEntry, JournalFilter, RawJournalEntry } from '../scenario/journal';
import { redactedEntryJson } from '../scenario/journal';
import type {
  BalanceOverlay,
  GatewayLimit,
  GatewayWindow,
  OutboxMessage,
  PaymentSlice,
  PendingPayment,
  RefreshGrant,
  Registration,
  StoreLimits,
  StoredPayment,
} from './index';
import { OTP_CHALLENGE_GRACE_MS, OUTBOX_LIMIT, REFRESH_RETIRED_PER_FAMILY } from './index';
import { utrnFrom } from './memory-store';
import type { RedisConnection } from './redis-connection';
import { SCRIPTS } from './redis-scripts';
import type { ScriptName } from './redis-scripts';
import type {
  Mint,
  OtpSendRequest,
  OtpSendResult,
  OtpVerdict,
  OverlayImport,
  OverlaySnapshot,
  Prefetched,
  RefreshVerdict,
  SettleDecision,
  SharedStore,
  StoreHealth,
  StoreReads,
  TopUpDecision,
  TopUpRequest,
  TopUpResult,
} from './shared-store';
import { StoreUnavailable } from './shared-store';

/** The layout version of a namespace; a namespace of another format is refused at start-up. */
export const STORE_FORMAT = '1';
/** Ms added to every TTL beyond an entry's validity by the mock's clock (TTLs only bound memory). */
export const TTL_GRACE_MS = 3600_000;
/** Attempts of a top-up or settlement whose balance another request changed meanwhile, before a 503. */
export const TOP_UP_ATTEMPTS = 20;
/** Ids reserved per `INCRBY` of a sequence (payment, otp, utrn): one round trip per this many ids. */
export const ID_BLOCK = 16;
/** Keys per `UNLINK` when an old generation is removed. */
const UNLINK_BATCH = 500;
/** Journal entries per JOURNAL_PUSH command (Lua's `unpack` takes a few thousand arguments at most). */
const JOURNAL_PUSH_MAX = 1000;
/** Balances one SNAPSHOT reads at most, for the requests that begin in one turn of the event loop. */
const SNAPSHOT_DEVICES_MAX = 1000;
/** Devices whose last known balance revision a process keeps for its next top-up (emptied when full). */
const BALANCE_GUESSES_MAX = 10_000;

/** A device's balance overlay as last seen by this process, with its revision (`rev`) and generation. */
interface BalanceGuess {
  generation: number;
  /** The overlay's state JSON, or '' when none is stored (the generated balance holds). */
  state: string;
  changedAt: string;
  rev: string;
}

/** What `begin` read: the shared generation, windows epoch, faults version and earliest pending due. */
interface Snapshot {
  generation: number;
  windowsEpoch: number;
  faultsVersion: string;
  /** Epoch ms of the earliest pending settlement, or Infinity. */
  earliestDue: number;
}

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/** SHA-256 in base64url: what Redis keeps instead of a refresh token or a one-time code. */
function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** Epoch ms of a due time as SNAPSHOT answers it ('' : none, Infinity). */
function due(field: string): number {
  return field ? Number(field) : Infinity;
}

/** A SNAPSHOT reply, and this process's settlement count when it was sent (see `Prefetched`). */
interface SnapshotRead {
  read: string[];
  settlements: number;
}

/** The SNAPSHOT the `begin`s of one turn of the event loop wait for. */
interface Gathering {
  /** Devices whose balances it reads -> their place in the reply. */
  devices: Map<string, number>;
  taken: Promise<SnapshotRead>;
  settle: { resolve(read: SnapshotRead): void; reject(err: unknown): void };
}

/** A balance overlay from its stored fields ('' state: none stored, the generated balance holds). */
function overlayOf(state: string, changedAt: string): BalanceOverlay | undefined {
  return state
    ? { state: JSON.parse(state) as BalanceOverlay['state'], changedAt: Number(changedAt) }
    : undefined;
}

/** A top-up's answer from a script's `{'replay', fingerprint, stored payment JSON}`. */
function replayOf(reply: readonly string[]): TopUpResult {
  return {
    replayed: true,
    fingerprint: reply[1]!,
    payment: (JSON.parse(reply[2]!) as StoredPayment).payment,
  };
}

/** Whether an ioredis error means the server is unreachable (503), rather than a bug (500). */
function isOutage(err: unknown): boolean {
  const e = err as { name?: string; message?: string };
  if (e?.name === 'ReplyError')
    return /^(LOADING|BUSY|MISCONF|READONLY|MASTERDOWN|TRYAGAIN)/.test(e.message ?? '');
  return err instanceof Error;
}

/** `--store redis://...`: the overlay in Redis, shared by every replica started with the same prefix and seed. */
export class RedisStore implements SharedStore {
  readonly kind = 'redis' as const;
  readonly journalCapacity: number;
  private readonly client: Redis;
  /** `procode:{<prefix>:<seed>}`. */
  private readonly ns: string;
  private snap: Snapshot = { generation: 0, windowsEpoch: 0, faultsVersion: '', earliestDue: Infinity };
  private readonly resetListeners: (() => void)[] = [];
  /** Fault rules as of `faultsKey` (generation and faults version). */
  private rules: FaultRule[] = [];
  private rulesKey = '';
  /** Reserved id numbers per stream: `[next, end]` of the generation `gen`. */
  private readonly blocks = new Map<string, { gen: number; next: number; end: number }>();
  /** Top-ups in this process, chained per device so they conflict only with other replicas'. */
  private readonly deviceQueues = new Map<string, Promise<unknown>>();
  /**
   * The balance (and revision) each device had when this process last read or wrote it: a top-up decides
   * from it and commits in one round trip; if another replica changed it meanwhile the commit answers
   * with the current one (a conflict) and the top-up decides again. Only a guess, never trusted.
   */
  private readonly balanceGuesses = new Map<string, BalanceGuess>();
  /** Settlements this process made (a prefetched balance read before one is not used after it). */
  private settlements = 0;
  /** Journal entries (JSON) not yet pushed, per journal key (the generation's), oldest first. */
  private readonly journalBatch = new Map<string, string[]>();
  /** The snapshot this turn's `begin`s wait for (see `begin`). */
  private gathering?: Gathering;
  /** Settled once `flushTurn` has sent this turn's commands and had their answers. */
  private turnEnd: Promise<void> | undefined;

  /** The world's size, written to `meta` (a namespace of another size is refused). */
  private accounts = 0;
  /** The signing key kept in Redis (`token-key`), written again if the server loses its data. */
  private storedTokenKey?: string;

  private constructor(
    private readonly connection: RedisConnection,
    private readonly clock: ScenarioClock,
    private readonly seed: number,
    prefix: string,
    private readonly limits: StoreLimits,
    journalSize: number,
  ) {
    this.client = connection.client;
    this.ns = `procode:{${prefix}:${seed}}`;
    this.journalCapacity = journalSize;
    for (const [name, script] of Object.entries(SCRIPTS)) {
      this.client.defineCommand(
        name,
        script.numberOfKeys >= 0
          ? { numberOfKeys: script.numberOfKeys, lua: script.lua }
          : { lua: script.lua },
      );
    }
  }

  /**
   * Opens the namespace `procode:{<prefix>:<seed>}` on a connected server: creates its `meta` record
   * (`HSETNX`), refuses one made for another world size or format, and reads the shared token signing key
   * (created once with `SET NX` when `tokenSecret` is not given).
   * @returns the store and the HS256 key every replica signs access tokens with.
   * @throws ConfigError for a namespace of another world or format (one line, exit 2).
   */
  static async open(
    connection: RedisConnection,
    clock: ScenarioClock,
    options: {
      seed: number;
      accounts: number;
      prefix: string;
      limits: StoreLimits;
      journalSize: number;
      tokenSecret?: string;
    },
  ): Promise<{ store: RedisStore; tokenKey: string }> {
    const store = new RedisStore(
      connection,
      clock,
      options.seed,
      options.prefix,
      options.limits,
      options.journalSize,
    );
    const { client } = connection;
    const meta = `${store.ns}:meta`;
    for (const [field, value] of [
      ['generation', '0'],
      ['windowsEpoch', '0'],
      ['faultsVersion', '0'],
      ['accounts', String(options.accounts)],
      ['format', STORE_FORMAT],
    ])
      await client.hsetnx(meta, field!, value!);
    const [accounts, format] = await client.hmget(meta, 'accounts', 'format');
    if (accounts !== String(options.accounts) || format !== STORE_FORMAT) {
      throw new ConfigError(
        `${connection.url.source}: the namespace ${store.ns} on ${connection.url.display} holds a world of ${accounts} accounts (format ${format}), not ${options.accounts} (format ${STORE_FORMAT}); use another --store-prefix, or the same --accounts`,
      );
    }
    let tokenKey = options.tokenSecret;
    if (tokenKey === undefined) {
      await client.set(`${store.ns}:token-key`, randomBytes(32).toString('base64url'), 'NX');
      tokenKey = (await client.get(`${store.ns}:token-key`))!;
      store.storedTokenKey = tokenKey;
    }
    store.accounts = options.accounts;
    await store.begin();
    return { store, tokenKey };
  }

  /** The key prefix of the current generation: `procode:{p:s}:g<n>:`. */
  private get g(): string {
    return `${this.ns}:g${this.snap.generation}:`;
  }

  /** The key prefix of the current time windows (cleared by moving the clock back). */
  private get w(): string {
    return `${this.g}w${this.snap.windowsEpoch}:`;
  }

  /** Runs store work, turning an unreachable server into `StoreUnavailable` (503). */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    if (this.client.status !== 'ready') throw this.unavailable();
    try {
      return await work();
    } catch (err) {
      throw this.outage(err);
    }
  }

  /** `err` as thrown to a request: `StoreUnavailable` when it means the server is unreachable. */
  private outage(err: unknown): unknown {
    return err instanceof StoreUnavailable || !isOutage(err) ? err : this.unavailable(err);
  }

  private unavailable(err?: unknown): StoreUnavailable {
    const why = err instanceof Error ? `: ${err.message.split('\n')[0]}` : '';
    return new StoreUnavailable(
      `The mock's shared store (Redis) is unreachable${why}; try again in a moment.`,
      this.connection.retryAfterSeconds(),
    );
  }

  private script(name: ScriptName): ScriptCall {
    return (this.client as unknown as Record<ScriptName, ScriptCall>)[name].bind(this.client);
  }

  /**
   * The request's snapshot, shared with every request that begins in the same turn of the event loop:
   * their `begin`s gather until the turn ends (`setImmediate`), then one SNAPSHOT script reads the state
   * and every balance they asked for, in the turn's one write (`flushTurn`). A request never joins a
   * snapshot already sent, so it sees every write answered before it began, on any replica.
   */
  async begin(reads?: StoreReads): Promise<Prefetched | undefined> {
    if (this.client.status !== 'ready') throw this.unavailable();
    let batch = this.gathering;
    if (!batch) {
      let settle!: Gathering['settle'];
      const taken = new Promise<SnapshotRead>((resolve, reject) => (settle = { resolve, reject }));
      batch = this.gathering = { devices: new Map(), taken, settle };
      void this.endOfTurn().catch(() => undefined);
    }
    const asked: string[] = [];
    for (const deviceId of reads?.balances ?? []) {
      // Beyond the bound a device is read by its handler instead (a round trip of its own).
      if (!batch.devices.has(deviceId) && batch.devices.size >= SNAPSHOT_DEVICES_MAX) continue;
      if (!batch.devices.has(deviceId)) batch.devices.set(deviceId, batch.devices.size);
      asked.push(deviceId);
    }
    const { read, settlements } = await batch.taken;
    if (asked.length === 0) return undefined;
    const balances = new Map<string, BalanceOverlay | undefined>();
    for (const deviceId of asked) {
      const at = 7 + 3 * batch.devices.get(deviceId)!;
      balances.set(deviceId, overlayOf(read[at]!, read[at + 1]!));
    }
    return { balances, generation: Number(read[0]), earliestDue: due(read[5]!), settlements };
  }

  /** The end of this turn of the event loop, when `flushTurn` sends what the turn gathered. */
  private endOfTurn(): Promise<void> {
    this.turnEnd ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flushTurn());
    return this.turnEnd;
  }

  /**
   * Sends what this turn gathered in one write (a pipeline): the SNAPSHOT its `begin`s wait for, and the
   * journal entries of the requests answered in it (JOURNAL_PUSH, one per journal key and 1,000 entries).
   * The snapshot's outcome goes to its `begin`s; the journal's is the returned promise's.
   */
  private async flushTurn(): Promise<void> {
    this.turnEnd = undefined;
    const gathering = this.gathering;
    this.gathering = undefined;
    const journal = [...this.journalBatch];
    this.journalBatch.clear();
    if (!gathering && journal.length === 0) return;
    const devices = gathering ? [...gathering.devices.keys()] : [];
    // Counted before the snapshot is sent: a settlement answered before that is in it.
    const settlements = this.settlements;
    let replies: [Error | null, unknown][];
    try {
      if (this.client.status !== 'ready') throw this.unavailable();
      const pipeline = this.client.pipeline();
      const queue = pipeline as unknown as Record<ScriptName, (...args: (string | number)[]) => unknown>;
      if (gathering) queue.procodeSnapshot(`${this.ns}:meta`, this.ns, ...devices);
      for (const [key, entries] of journal) {
        for (let i = 0; i < entries.length; i += JOURNAL_PUSH_MAX)
          queue.procodeJournalPush(key, this.journalCapacity, ...entries.slice(i, i + JOURNAL_PUSH_MAX));
      }
      replies = (await pipeline.exec()) ?? [];
    } catch (err) {
      gathering?.settle.reject(this.outage(err));
      throw this.outage(err);
    }
    if (gathering) {
      const [err, read] = replies[0] ?? [new Error('no reply to the snapshot')];
      if (err) gathering.settle.reject(this.outage(err));
      else
        this.afterSnapshot(read as string[], devices, settlements).then(
          gathering.settle.resolve,
          gathering.settle.reject,
        );
    }
    const failed = replies.slice(gathering ? 1 : 0).find(([err]) => err)?.[0];
    if (failed) throw this.outage(failed);
  }

  /**
   * Applies a SNAPSHOT reply for `devices`: moves the process to the shared generation, windows epoch,
   * clock and fault rules (re-read when their version changed), and remembers each device's balance for
   * its next top-up. A server that lost its data gets `meta` back first (RESTORE_META), then is read again.
   */
  private async afterSnapshot(
    reply: string[],
    devices: readonly string[],
    settlements: number,
  ): Promise<SnapshotRead> {
    return this.guard(async () => {
      let read = reply;
      if (read[6] !== '1') {
        // The server lost its data while we ran: write meta again, past the generation we last saw.
        await this.script('procodeRestoreMeta')(
          `${this.ns}:meta`,
          `${this.ns}:token-key`,
          this.snap.generation + 1,
          this.accounts,
          STORE_FORMAT,
          this.storedTokenKey ?? '',
        );
        read = (await this.script('procodeSnapshot')(`${this.ns}:meta`, this.ns, ...devices)) as string[];
      }
      const [gen, epoch, faults, frozenAt, offsetMs, earliest] = read;
      this.snap = {
        generation: Number(gen),
        windowsEpoch: Number(epoch),
        faultsVersion: faults!,
        earliestDue: due(earliest!),
      };
      this.clock.restore(
        frozenAt
          ? { frozenAt: Number(frozenAt), offsetMs: 0 }
          : { offsetMs: offsetMs ? Number(offsetMs) : 0 },
      );
      devices.forEach((deviceId, i) => {
        const [state, changedAt, rev] = read.slice(7 + 3 * i, 10 + 3 * i) as [string, string, string];
        this.guess(deviceId, { generation: Number(gen), state, changedAt, rev });
      });
      const rulesKey = `${gen}:${faults}`;
      if (rulesKey !== this.rulesKey) {
        this.rules = await this.readFaults();
        this.rulesKey = rulesKey;
      }
      return { read, settlements };
    });
  }

  generation(): number {
    return this.snap.generation;
  }

  onReset(listener: () => void): void {
    this.resetListeners.push(listener);
  }

  health(): StoreHealth {
    const h = this.connection.health();
    return {
      kind: 'redis',
      status: h.status,
      url: h.url,
      server: h.server,
      ...(h.error ? { error: h.error } : {}),
    };
  }

  async close(): Promise<void> {
    // What this turn gathered goes first (journal entries of requests already answered).
    await this.flushTurn().catch(() => undefined);
    await this.connection.close();
  }

  // --- Ids ------------------------------------------------------------------------------------------

  /** Makes sure `count` numbers of each stream are reserved (one `INCRBY` per exhausted block). */
  private async reserve(streams: string[]): Promise<void> {
    for (;;) {
      const short = streams.filter((s) => {
        const b = this.blocks.get(s);
        return !b || b.gen !== this.snap.generation || b.next > b.end;
      });
      if (short.length === 0) return;
      const gen = this.snap.generation;
      const pipeline = this.client.pipeline();
      for (const s of short) pipeline.incrby(`${this.g}seq:${s}`, ID_BLOCK);
      const results = (await pipeline.exec()) ?? [];
      short.forEach((s, i) => {
        const [err, end] = results[i] ?? [];
        if (err) throw err;
        this.blocks.set(s, { gen, next: Number(end) - ID_BLOCK + 1, end: Number(end) });
      });
    }
  }

  /** The next reserved number of a stream (call `reserve` first, with no await in between). */
  private take(stream: string): number {
    const b = this.blocks.get(stream)!;
    return b.next++;
  }

  /** Ids from the seed and the shared sequences: SHA-256 of (seed, `<stream>:<n>`), so replicas never collide. */
  private readonly mint: Mint = {
    paymentId: () => new SeededRandom(this.seed, `payment:${this.take('payment')}`).uuid(),
    utrn: () => utrnFrom(new SeededRandom(this.seed, `utrn:${this.take('utrn')}`)),
  };

  // --- Registrations ----------------------------------------------------------------------------

  async registration(accountIndex: number): Promise<Registration | undefined> {
    return this.guard(async () => {
      const json = await this.client.hget(`${this.g}reg`, String(accountIndex));
      return json ? (JSON.parse(json) as Registration) : undefined;
    });
  }

  async accountByEmail(email: string): Promise<number | undefined> {
    return this.guard(async () => {
      const index = await this.client.hget(`${this.g}reg-email`, email);
      return index === null ? undefined : Number(index);
    });
  }

  async register(r: Registration): Promise<boolean> {
    return this.guard(
      async () =>
        (await this.script('procodeRegister')(
          `${this.g}reg`,
          `${this.g}reg-email`,
          String(r.accountIndex),
          r.email.toLowerCase(),
          JSON.stringify(r),
        )) === 1,
    );
  }

  // --- Password throttle ------------------------------------------------------------------------

  async loginFailures(key: string, windowStart: number): Promise<number[]> {
    return this.guard(async () => {
      const flat = await this.client.zrangebyscore(
        `${this.w}lf:${key}`,
        `(${windowStart}`,
        '+inf',
        'WITHSCORES',
      );
      return flat.filter((_, i) => i % 2 === 1).map(Number);
    });
  }

  /** The login scripts' key and arguments: window start, now, a unique member, limit, TTL ms. */
  private loginArgs(key: string, now: number, windowStart: number, limit: number): (string | number)[] {
    return [
      `${this.w}lf:${key}`,
      windowStart,
      now,
      `${now}:${randomUUID()}`,
      limit,
      Math.max(TTL_GRACE_MS, now - windowStart + TTL_GRACE_MS),
    ];
  }

  async countLoginFailure(key: string, now: number, windowStart: number, limit: number): Promise<void> {
    await this.guard(() => this.script('procodeLoginCount')(...this.loginArgs(key, now, windowStart, limit)));
  }

  async claimLoginAttempt(
    key: string,
    now: number,
    windowStart: number,
    limit: number,
  ): Promise<number | undefined> {
    return this.guard(async () => {
      const oldest = (await this.script('procodeLoginClaim')(
        ...this.loginArgs(key, now, windowStart, limit),
      )) as string | number;
      return oldest === 'ok' ? undefined : Number(oldest);
    });
  }

  async forgetLoginFailure(key: string, at: number): Promise<void> {
    await this.guard(() => this.script('procodeLoginForget')(`${this.w}lf:${key}`, at));
  }

  // --- One-time codes --------------------------------------------------------------------------

  async sendOtp(req: OtpSendRequest): Promise<OtpSendResult> {
    return this.guard(async () => {
      await this.reserve(['otp']);
      const otpId = new SeededRandom(this.seed, `otp:${this.take('otp')}`).uuid();
      const message: OutboxMessage = {
        otpId,
        channel: req.channel,
        to: req.to,
        // The dev outbox must hold the code (that is its purpose); the challenge keeps only its hash.
        code: req.code,
        sentAt: isoTimestamp(req.now),
      };
      const result = await this.script('procodeOtpSend')(
        `${this.w}otp-sends:${req.accountIndex}`,
        `${this.g}otp:${otpId}`,
        `${this.g}outbox`,
        req.now - req.windowMs,
        req.now,
        `${req.now}:${otpId}`,
        req.limit,
        req.windowMs + TTL_GRACE_MS,
        req.accountIndex,
        digest(req.code),
        req.expiresAt,
        Math.max(TTL_GRACE_MS, req.expiresAt - req.now + OTP_CHALLENGE_GRACE_MS + TTL_GRACE_MS),
        JSON.stringify(message),
        OUTBOX_LIMIT,
      );
      return result === 'ok' ? { otpId } : { oldestSend: Number(result) };
    });
  }

  async verifyOtp(
    otpId: string,
    accountIndex: number,
    code: string,
    now: number,
    maxAttempts: number,
  ): Promise<OtpVerdict> {
    return this.guard(async () => {
      const [result, left] = (await this.script('procodeOtpVerify')(
        `${this.g}otp:${otpId}`,
        accountIndex,
        digest(code),
        now,
        maxAttempts,
      )) as [string, number?];
      return result === 'wrong'
        ? { result: 'wrong', attemptsRemaining: Number(left) }
        : { result: result as 'ok' | 'not-found' | 'used' | 'voided' | 'expired' };
    });
  }

  async outbox(filter: { to?: string[]; otpId?: string[] }): Promise<OutboxMessage[]> {
    return this.guard(async () => {
      const all = (await this.client.lrange(`${this.g}outbox`, 0, -1)).map(
        (j) => JSON.parse(j) as OutboxMessage,
      );
      const { to, otpId } = filter;
      return all.filter((m) => (!to || to.includes(m.to)) && (!otpId || otpId.includes(m.otpId)));
    });
  }

  // --- Refresh tokens --------------------------------------------------------------------------

  async issueRefresh(token: string, grant: Omit<RefreshGrant, 'retired'>, now: number): Promise<void> {
    const hash = digest(token);
    await this.guard(() =>
      this.script('procodeRefreshIssue')(
        `${this.g}rt:${hash}`,
        `${this.g}fam:${grant.family}`,
        `${this.g}fams:${grant.accountIndex}`,
        hash,
        grant.accountIndex,
        grant.scope,
        grant.expiresAt,
        grant.family,
        Math.max(TTL_GRACE_MS, grant.expiresAt - now + TTL_GRACE_MS),
        REFRESH_RETIRED_PER_FAMILY + 1,
        this.limits.refreshTokensPerAccount,
        this.g,
        this.limits.refreshTokensMax,
      ),
    );
  }

  async useRefresh(token: string, now: number, rotateTo?: string): Promise<RefreshVerdict> {
    return this.guard(async () => {
      const reply = (await this.script('procodeRefreshUse')(
        `${this.g}rt:${digest(token)}`,
        now,
        rotateTo === undefined ? '' : digest(rotateTo),
        TTL_GRACE_MS * 24 * 31,
        REFRESH_RETIRED_PER_FAMILY + 1,
        this.g,
        this.limits.refreshTokensMax,
      )) as string[];
      if (reply[0] !== 'ok') return { result: reply[0] as 'unknown' | 'reused' };
      const [, account, scope, expiresAt, family] = reply;
      return {
        result: 'ok',
        grant: {
          accountIndex: Number(account),
          scope: scope!,
          expiresAt: Number(expiresAt),
          family: family!,
          retired: false,
        },
      };
    });
  }

  // --- Payments ----------------------------------------------------------------------------------

  async payment(paymentId: string): Promise<StoredPayment | undefined> {
    return this.guard(async () => {
      const json = await this.client.get(`${this.g}pay:${paymentId}`);
      return json ? (JSON.parse(json) as StoredPayment) : undefined;
    });
  }

  async paymentPage(
    accountIndex: number,
    deviceId: string | undefined,
    offset: number,
    limit: number,
  ): Promise<PaymentSlice> {
    return this.guard(async () => {
      const list = `${this.g}pays:${accountIndex}${deviceId === undefined ? '' : `:${deviceId}`}`;
      const [total, ...items] = (await this.script('procodePage')(list, offset, limit, this.g)) as [
        number,
        ...string[],
      ];
      return { items: items.map((j) => (JSON.parse(j) as StoredPayment).payment), total: Number(total) };
    });
  }

  async balance(deviceId: string, prefetched?: Prefetched): Promise<BalanceOverlay | undefined> {
    // Read with this request's snapshot, and still what a read now would give this request: nothing
    // was due to settle then, and this process settled nothing since (a request sees its own writes).
    if (
      prefetched?.balances.has(deviceId) &&
      prefetched.generation === this.snap.generation &&
      prefetched.settlements === this.settlements &&
      prefetched.earliestDue > this.clock.now()
    )
      return prefetched.balances.get(deviceId);
    return this.guard(() => this.balanceRaw(deviceId));
  }

  /** Remembers a device's balance as last seen, for its next top-up (see `balanceGuesses`). */
  private guess(deviceId: string, seen: BalanceGuess): void {
    if (this.balanceGuesses.size >= BALANCE_GUESSES_MAX && !this.balanceGuesses.has(deviceId))
      this.balanceGuesses.clear();
    this.balanceGuesses.set(deviceId, seen);
  }

  /** Runs `work` after this process's earlier top-ups of the same device (fewer revision conflicts). */
  private serialised<T>(deviceId: string, work: () => Promise<T>): Promise<T> {
    const before = this.deviceQueues.get(deviceId) ?? Promise.resolve();
    const run = before.then(work, work);
    const tail = run.catch(() => undefined);
    this.deviceQueues.set(deviceId, tail);
    void tail.then(() => {
      if (this.deviceQueues.get(deviceId) === tail) this.deviceQueues.delete(deviceId);
    });
    return run;
  }

  /**
   * A top-up in one round trip when this process's guess of the balance holds (it made the last change,
   * or read it, or the device is untouched): decide from the guess, then commit, which checks the key,
   * the revision and the UTRN in one script. A conflict answers with the current balance, and the top-up
   * decides again from it; a key already used answers with its payment (a replay). A decision that
   * throws on a guess is retried after TOPUP_READ, so a replay still wins over a problem with the body.
   */
  async topUp(req: TopUpRequest): Promise<TopUpResult> {
    return this.serialised(req.deviceId, () =>
      this.guard(async () => {
        const g = this.g;
        const gen = this.snap.generation;
        const idem = `${g}idem:${req.key}`;
        const bal = `${g}bal:${req.deviceId}`;
        const ttlMs = this.limits.idempotencyTtlSeconds * 1000;
        const known = this.balanceGuesses.get(req.deviceId);
        let seen: BalanceGuess =
          known?.generation === gen ? known : { generation: gen, state: '', changedAt: '', rev: '0' };
        // Whether `seen` came from Redis in this call, after the key was found unclaimed.
        let checked = false;
        for (let attempt = 0; attempt < TOP_UP_ATTEMPTS; attempt++) {
          await this.reserve(['payment', 'utrn']);
          let decision: TopUpDecision;
          try {
            decision = req.decide(overlayOf(seen.state, seen.changedAt), this.mint);
          } catch (err) {
            if (checked) throw err;
            const read = (await this.script('procodeTopUpRead')(idem, bal, req.now, ttlMs, g)) as string[];
            if (read[0] === 'replay') return replayOf(read);
            const [, state, changedAt, rev] = read as [string, string, string, string];
            seen = { generation: gen, state, changedAt, rev };
            checked = true;
            continue;
          }
          const { payment, balance, pending } = decision;
          const stored: StoredPayment = { accountIndex: req.accountIndex, payment, idempotencyKey: req.key };
          const result = (await this.script('procodeTopUpCommit')(
            idem,
            bal,
            `${g}pay:${payment.paymentId}`,
            `${g}pays:${req.accountIndex}`,
            `${g}pays:${req.accountIndex}:${payment.deviceId}`,
            `${g}utrns`,
            `${g}pending`,
            `${g}pend:${payment.paymentId}`,
            `${g}pay-all`,
            `${g}bals`,
            req.now,
            ttlMs,
            g,
            seen.rev,
            balance ? JSON.stringify(balance.state) : '',
            balance ? balance.changedAt : '',
            JSON.stringify(stored),
            payment.paymentId,
            payment.utrn ?? '',
            req.fingerprint,
            pending ? pending.dueAt : '',
            pending ? JSON.stringify(pending) : '',
            this.limits.paymentsPerAccount,
            payment.deviceId,
            ttlMs + TTL_GRACE_MS,
            this.limits.paymentsMax,
          )) as string[];
          if (result[0] === 'ok') {
            if (pending) this.snap.earliestDue = Math.min(this.snap.earliestDue, pending.dueAt);
            if (balance) {
              this.guess(req.deviceId, {
                generation: gen,
                state: JSON.stringify(balance.state),
                changedAt: String(balance.changedAt),
                rev: result[1]!,
              });
            }
            return { replayed: false, payment };
          }
          if (result[0] === 'replay') return replayOf(result);
          if (result[0] === 'conflict') {
            const [, state, changedAt, rev] = result as [string, string, string, string];
            seen = { generation: gen, state, changedAt, rev };
            this.guess(req.deviceId, seen);
            checked = true;
          }
          // 'utrn': a UTRN drawn again by chance; decide again with new ids.
        }
        throw new StoreUnavailable(
          `The balance changed ${TOP_UP_ATTEMPTS} times while this top-up was being applied; try again (same Idempotency-Key).`,
          1,
        );
      }),
    );
  }

  async settleDue(now: number, decide: SettleDecision): Promise<number> {
    if (this.snap.earliestDue > now) return 0;
    return this.guard(async () => {
      const g = this.g;
      const due = await this.client.zrangebyscore(`${g}pending`, '-inf', now);
      let settled = 0;
      for (const id of due) {
        for (let attempt = 0; attempt < TOP_UP_ATTEMPTS; attempt++) {
          const read = (await this.script('procodeSettleRead')(
            `${g}pay:${id}`,
            `${g}pend:${id}`,
            g,
          )) as string[];
          if (read.length === 0) break;
          const [payJson, pendJson, state, changedAt, rev] = read;
          const stored = JSON.parse(payJson!) as StoredPayment;
          const pending = JSON.parse(pendJson!) as PendingPayment;
          const current = state
            ? { state: JSON.parse(state) as BalanceOverlay['state'], changedAt: Number(changedAt) }
            : undefined;
          await this.reserve(['utrn']);
          const result = decide(pending, stored.payment, current, this.mint);
          const outcome = (await this.script('procodeSettleCommit')(
            `${g}pending`,
            `${g}pay:${id}`,
            `${g}bal:${stored.payment.deviceId}`,
            `${g}utrns`,
            `${g}pend:${id}`,
            `${g}bals`,
            `${g}rev-seq`,
            id,
            rev!,
            result.balance ? JSON.stringify(result.balance.state) : '',
            result.balance ? result.balance.changedAt : '',
            JSON.stringify({ ...stored, payment: result.payment }),
            result.payment.utrn ?? '',
            stored.payment.deviceId,
          )) as string[];
          if (outcome[0] === 'ok') {
            settled += 1;
            this.settlements += 1;
            if (result.balance) {
              this.guess(stored.payment.deviceId, {
                generation: this.snap.generation,
                state: JSON.stringify(result.balance.state),
                changedAt: String(result.balance.changedAt),
                rev: outcome[1]!,
              });
            }
          }
          if (outcome[0] === 'ok' || outcome[0] === 'gone') break;
        }
      }
      const next = await this.client.zrange(`${g}pending`, '0', '0', 'WITHSCORES');
      this.snap.earliestDue = next[1] ? Number(next[1]) : Infinity;
      return settled;
    });
  }

  // --- Gateway, clock ------------------------------------------------------------------------------

  async countGatewayCall(
    limits: readonly GatewayLimit[],
    now: number,
  ): Promise<{ index: number; window: GatewayWindow } | undefined> {
    return this.guard(async () => {
      const keys = limits.map((l) => `${this.w}gw:${l.counter}`);
      const args = limits.flatMap((l) => [l.calls, l.periodMs, l.alignedStart ?? '']);
      const reply = (await this.script('procodeGateway')(keys.length, ...keys, now, ...args)) as
        [number, string] | null;
      if (!reply) return undefined;
      return {
        index: Number(reply[0]),
        window: { windowStart: Number(reply[1]), calls: limits[Number(reply[0])]!.calls },
      };
    });
  }

  async saveClock(state: ClockSnapshot): Promise<void> {
    await this.guard(async () => {
      const key = `${this.g}clock`;
      await this.client
        .multi()
        .del(key)
        .hset(key, state.frozenAt !== undefined ? { frozenAt: state.frozenAt } : { offsetMs: state.offsetMs })
        .exec();
    });
  }

  // --- Faults ---------------------------------------------------------------------------------------

  private async readFaults(): Promise<FaultRule[]> {
    const [rules, counts] = await Promise.all([
      this.client.hgetall(`${this.g}faults`),
      this.client.hgetall(`${this.g}fault-counts`),
    ]);
    return Object.values(rules)
      .map((json) => {
        const rule = JSON.parse(json) as FaultRule;
        rule.matched = Number(counts[`${rule.faultId}:matched`] ?? 0);
        if (rule.times !== undefined) rule.remaining = Number(counts[`${rule.faultId}:remaining`] ?? 0);
        return rule;
      })
      .sort((a, b) => Number(a.faultId.slice(2)) - Number(b.faultId.slice(2)));
  }

  faultsEmpty(): boolean {
    return this.rules.length === 0;
  }

  faultsNeedAccount(): boolean {
    return this.rules.some((r) => r.accountNumber !== undefined);
  }

  async matchFault(target: FaultTarget): Promise<FaultRule | undefined> {
    return this.guard(async () => {
      const counts = `${this.g}fault-counts`;
      for (const rule of this.rules) {
        if (!ruleMatches(rule, target)) continue;
        if (rule.probability !== undefined) {
          const n = (await this.client.hincrby(counts, `${rule.faultId}:seen`, 1)) - 1;
          if (faultDraw(this.seed, rule.faultId, n) >= rule.probability) continue;
        }
        const claimed = await this.script('procodeFaultClaim')(
          counts,
          rule.faultId,
          rule.times !== undefined ? '1' : '0',
        );
        if (claimed === 1) return rule;
      }
      return undefined;
    });
  }

  async faults(): Promise<FaultRule[]> {
    return this.guard(() => this.readFaults());
  }

  async addFault(input: FaultRuleInput, contract: CompiledContract, now: number): Promise<FaultRule> {
    return this.guard(async () => {
      const rules = await this.readFaults();
      validateFaultRule(input, contract, rules);
      const n = await this.client.hincrby(`${this.g}fault-seq`, 'n', 1);
      const rule: FaultRule = {
        faultId: `f-${n}`,
        ...input,
        ...(input.method !== undefined ? { method: input.method.toUpperCase() } : {}),
        createdAt: isoTimestamp(now),
        matched: 0,
        ...(input.times !== undefined ? { remaining: input.times } : {}),
      };
      const multi = this.client.multi();
      if (rules.length >= MAX_FAULT_RULES) {
        const spent = rules.find((r) => r.remaining === 0);
        if (spent) multi.hdel(`${this.g}faults`, spent.faultId);
      }
      multi.hset(`${this.g}faults`, rule.faultId, JSON.stringify(rule));
      if (input.times !== undefined)
        multi.hset(`${this.g}fault-counts`, `${rule.faultId}:remaining`, input.times);
      multi.hincrby(`${this.ns}:meta`, 'faultsVersion', 1);
      await multi.exec();
      return rule;
    });
  }

  async removeFault(faultId: string): Promise<boolean> {
    return this.guard(async () => {
      const removed = await this.client.hdel(`${this.g}faults`, faultId);
      await this.client.hincrby(`${this.ns}:meta`, 'faultsVersion', 1);
      return removed === 1;
    });
  }

  async clearFaults(): Promise<void> {
    await this.guard(async () => {
      await this.client
        .multi()
        .del(`${this.g}faults`, `${this.g}fault-counts`, `${this.g}fault-seq`)
        .hincrby(`${this.ns}:meta`, 'faultsVersion', 1)
        .exec();
    });
  }

  // --- Journal ------------------------------------------------------------------------------------

  async journalAppend(entry: RawJournalEntry): Promise<void> {
    if (this.journalCapacity === 0) return;
    // Written redacted: a password, token or code never sits in Redis through the journal.
    const key = `${this.g}journal`;
    let batch = this.journalBatch.get(key);
    if (!batch) this.journalBatch.set(key, (batch = []));
    batch.push(redactedEntryJson(entry));
    // Only the newest `journalCapacity` can be kept: older ones need not be sent.
    if (batch.length > this.journalCapacity) batch.shift();
    // Every request answered in this turn of the event loop goes in its one write, after it.
    return this.endOfTurn();
  }

  /** Sends the journal entries gathered so far now, so a query that follows has them. */
  private async pushJournal(): Promise<void> {
    if (this.journalBatch.size > 0) await this.flushTurn();
  }

  private async journal(filter: JournalFilter): Promise<JournalEntry[]> {
    const all = (await this.client.lrange(`${this.g}journal`, 0, -1)).map(
      (j) => JSON.parse(j) as JournalEntry,
    );
    return all.filter(
      (e) =>
        (filter.operationId === undefined || e.operationId === filter.operationId) &&
        (filter.status === undefined || e.status === filter.status) &&
        (filter.accountNumber === undefined || e.accountNumber === filter.accountNumber) &&
        (filter.since === undefined || Date.parse(e.at) >= filter.since),
    );
  }

  async journalQuery(
    filter: JournalFilter,
    limit: number,
  ): Promise<{ items: JournalEntry[]; total: number }> {
    await this.pushJournal();
    return this.guard(async () => {
      const matched = await this.journal(filter);
      return { items: matched.slice(0, limit), total: matched.length };
    });
  }

  async journalCount(filter: JournalFilter): Promise<number> {
    await this.pushJournal();
    return this.guard(async () => (await this.journal(filter)).length);
  }

  async clearJournal(): Promise<void> {
    await this.pushJournal();
    await this.guard(() => this.client.del(`${this.g}journal`));
  }

  // --- State --------------------------------------------------------------------------------------

  async exportOverlay(now: number): Promise<OverlaySnapshot> {
    return this.guard(async () => {
      const g = this.g;
      const ttlMs = this.limits.idempotencyTtlSeconds * 1000;
      const registrations = Object.values(await this.client.hgetall(`${g}reg`)).map(
        (j) => JSON.parse(j) as Registration,
      );
      const ids = await this.client.lrange(`${g}pay-all`, 0, -1);
      const payments: OverlaySnapshot['payments'] = [];
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        const pipeline = this.client.pipeline();
        for (const id of chunk) pipeline.get(`${g}pay:${id}`).get(`${g}pend:${id}`);
        const replies = (await pipeline.exec()) ?? [];
        const stored = chunk.map((_, j) => {
          const pay = replies[2 * j]?.[1] as string | null;
          const pend = replies[2 * j + 1]?.[1] as string | null;
          return pay ? { stored: JSON.parse(pay) as StoredPayment, pend } : undefined;
        });
        const keys = this.client.pipeline();
        for (const s of stored)
          keys.hmget(`${g}idem:${s?.stored.idempotencyKey ?? ''}`, 'fingerprint', 'paymentId', 'createdAt');
        const keyReplies = (await keys.exec()) ?? [];
        stored.forEach((s, j) => {
          if (!s) return;
          const [fingerprint, paymentId, createdAt] = (keyReplies[j]?.[1] as (string | null)[]) ?? [];
          const live =
            s.stored.idempotencyKey !== undefined &&
            paymentId === s.stored.payment.paymentId &&
            Number(createdAt) + ttlMs > now;
          payments.push({
            accountIndex: s.stored.accountIndex,
            payment: s.stored.payment,
            ...(live ? { idempotencyKey: s.stored.idempotencyKey, fingerprint: fingerprint! } : {}),
            ...(s.pend ? { pending: JSON.parse(s.pend) as PendingPayment } : {}),
          });
        });
      }
      const devices = await this.client.smembers(`${g}bals`);
      const balances: [string, BalanceOverlay][] = [];
      for (const deviceId of devices.sort()) {
        const b = await this.balanceRaw(deviceId);
        if (b) balances.push([deviceId, b]);
      }
      return { registrations, payments, balances };
    });
  }

  private async balanceRaw(deviceId: string): Promise<BalanceOverlay | undefined> {
    const [state, changedAt] = await this.client.hmget(`${this.g}bal:${deviceId}`, 'state', 'changedAt');
    return overlayOf(state ?? '', changedAt ?? '');
  }

  /** Every key of the current generation matching `pattern` (SCAN; for imports, not per request). */
  private async scan(pattern: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await this.client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    return keys;
  }

  async importOverlay(overlay: OverlayImport): Promise<void> {
    await this.guard(async () => {
      const g = this.g;
      const old = (
        await Promise.all(['pay:*', 'pays:*', 'idem:*', 'bal:*', 'pend:*'].map((p) => this.scan(`${g}${p}`)))
      ).flat();
      // Revisions are never used twice in a generation, so no process's guess of an old balance matches.
      const n = overlay.balances.length;
      let rev = (await this.client.incrby(`${g}rev-seq`, n)) - n;
      const multi = this.client.multi();
      for (let i = 0; i < old.length; i += UNLINK_BATCH) multi.unlink(...old.slice(i, i + UNLINK_BATCH));
      multi.unlink(`${g}reg`, `${g}reg-email`, `${g}utrns`, `${g}pending`, `${g}pay-all`, `${g}bals`);
      for (const r of overlay.registrations) {
        multi.hset(`${g}reg`, String(r.accountIndex), JSON.stringify(r));
        multi.hset(`${g}reg-email`, r.email.toLowerCase(), String(r.accountIndex));
      }
      const ttlMs = this.limits.idempotencyTtlSeconds * 1000;
      for (const { stored, idempotency } of overlay.payments) {
        const { payment, accountIndex } = stored;
        const entry: StoredPayment = {
          accountIndex,
          payment,
          ...(stored.idempotencyKey !== undefined && idempotency
            ? { idempotencyKey: stored.idempotencyKey }
            : {}),
        };
        multi.set(`${g}pay:${payment.paymentId}`, JSON.stringify(entry));
        multi.rpush(`${g}pay-all`, payment.paymentId);
        multi.rpush(`${g}pays:${accountIndex}`, payment.paymentId);
        multi.rpush(`${g}pays:${accountIndex}:${payment.deviceId}`, payment.paymentId);
        if (payment.utrn !== undefined) multi.sadd(`${g}utrns`, payment.utrn);
        if (entry.idempotencyKey !== undefined && idempotency) {
          const key = `${g}idem:${entry.idempotencyKey}`;
          multi.hset(key, {
            fingerprint: idempotency.fingerprint,
            paymentId: payment.paymentId,
            createdAt: String(idempotency.createdAt),
          });
          multi.pexpire(key, ttlMs + TTL_GRACE_MS);
        }
      }
      for (const p of overlay.pending) {
        multi.zadd(`${g}pending`, p.dueAt, p.paymentId);
        multi.set(`${g}pend:${p.paymentId}`, JSON.stringify(p));
      }
      for (const [deviceId, b] of overlay.balances) {
        rev += 1;
        multi.hset(`${g}bal:${deviceId}`, {
          state: JSON.stringify(b.state),
          changedAt: b.changedAt,
          rev: `r${rev}`,
        });
        multi.sadd(`${g}bals`, deviceId);
      }
      await multi.exec();
      const first = overlay.pending.reduce((min, p) => Math.min(min, p.dueAt), Infinity);
      this.snap.earliestDue = first;
    });
  }

  async clearTimeWindows(): Promise<void> {
    await this.guard(async () => {
      this.snap.windowsEpoch = await this.client.hincrby(`${this.ns}:meta`, 'windowsEpoch', 1);
    });
  }

  async reset(): Promise<void> {
    await this.guard(async () => {
      const old = this.snap.generation;
      const generation = await this.client.hincrby(`${this.ns}:meta`, 'generation', 1);
      this.snap = { ...this.snap, generation, earliestDue: Infinity };
      this.rules = [];
      this.rulesKey = `${generation}:${this.snap.faultsVersion}`;
      // What was gathered for the old generation's journal goes with it.
      this.journalBatch.clear();
      this.clock.resume();
      for (const listener of this.resetListeners) listener();
      // The old generation is invisible already; its keys go in the background.
      void this.removeGeneration(old).catch(() => undefined);
    });
  }

  /** Unlinks every key of generation `gen` (SCAN + UNLINK in batches; idempotent). */
  private async removeGeneration(gen: number): Promise<void> {
    const keys = await this.scan(`${this.ns}:g${gen}:*`);
    for (let i = 0; i < keys.length; i += UNLINK_BATCH)
      await this.client.unlink(...keys.slice(i, i + UNLINK_BATCH));
  }
}
