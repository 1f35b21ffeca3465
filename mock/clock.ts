/** A source of the current time, in milliseconds since the Unix epoch. Injected so expiry is testable. */
export interface Clock {
  now(): number;
}

/** The real wall clock. */
export const systemClock: Clock = Object.freeze({ now: () => new Date().getTime() });

/** A clock that only moves when told to; for tests of token, OTP and rate-limit expiry. */
export class ManualClock implements Clock {
  constructor(private ms: number = Date.parse('2026-11-29T08:00:00.000Z')) {}
  now(): number {
    return this.ms;
  }
  /** Moves the clock forward by `seconds` (may be fractional). */
  advance(seconds: number): void {
    this.ms += Math.round(seconds * 1000);
  }
  set(iso: string): void {
    this.ms = Date.parse(iso);
  }
}

/** Formats epoch milliseconds as RFC 3339 UTC with milliseconds (`2026-11-29T08:00:00.000Z`). */
export function isoTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}

/** What `GET /__admin/clock` reports: the mock's time and how it relates to the base clock. */
export interface ClockState {
  /** The mock's current time, RFC 3339 UTC with milliseconds. */
  now: string;
  /** `system`: the base clock as it is; `offset`: moved by `offsetSeconds`; `frozen`: stands still. */
  mode: 'system' | 'offset' | 'frozen';
  /** Seconds the mock's clock is ahead of the base clock (negative: behind). */
  offsetSeconds: number;
}

/** A `ScenarioClock`'s own state, as the shared store keeps it: frozen at an instant, or an offset. */
export interface ClockSnapshot {
  /** Epoch ms it stands still at, when frozen. */
  frozenAt?: number;
  /** Ms it is ahead of the base clock (negative: behind), when not frozen. */
  offsetMs: number;
}

/**
 * The mock's one clock (architecture.md "Time and chance"): the base clock (the system's, or a test's)
 * unless the admin API froze it at an instant or moved it by an offset. Every expiry, window,
 * `Retry-After`, `asAt` and payment time reads it, so moving it moves all of them consistently.
 */
export class ScenarioClock implements Clock {
  private frozenAt: number | undefined;
  private offsetMs = 0;

  constructor(private readonly base: Clock = systemClock) {}

  now(): number {
    return this.frozenAt ?? this.base.now() + this.offsetMs;
  }

  /** Stops the clock at `ms` (epoch milliseconds) until it is advanced or resumed. */
  freeze(ms: number): void {
    this.frozenAt = ms;
  }

  /** Moves the clock forward by `seconds` (fractional allowed; a frozen clock stays frozen at the new time). */
  advance(seconds: number): void {
    const delta = Math.round(seconds * 1000);
    if (this.frozenAt !== undefined) this.frozenAt += delta;
    else this.offsetMs += delta;
  }

  /** Back to the base clock, with no offset. */
  resume(): void {
    this.frozenAt = undefined;
    this.offsetMs = 0;
  }

  /** Its state, to share (the Redis store keeps it for every replica). */
  snapshot(): ClockSnapshot {
    return this.frozenAt !== undefined
      ? { frozenAt: this.frozenAt, offsetMs: 0 }
      : { offsetMs: this.offsetMs };
  }

  /** Takes a shared state (another replica moved the clock). */
  restore(state: ClockSnapshot): void {
    this.frozenAt = state.frozenAt;
    this.offsetMs = state.offsetMs;
  }

  state(): ClockState {
    const now = this.now();
    return {
      now: isoTimestamp(now),
      mode: this.frozenAt !== undefined ? 'frozen' : this.offsetMs !== 0 ? 'offset' : 'system',
      // Exact when moved by an offset (no second reading of the base clock to race with).
      offsetSeconds: this.frozenAt !== undefined ? (now - this.base.now()) / 1000 : this.offsetMs / 1000,
    };
  }
}
