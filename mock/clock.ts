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
