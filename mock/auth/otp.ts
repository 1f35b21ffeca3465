import { randomInt, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock';
import { isoTimestamp } from '../clock';
import type { RandomSource } from '../random';
import type { OtpChallenge, Store } from '../store';
import { PROBLEMS, problem } from '../problem';

/** api.md: a code is valid for 5 minutes. */
export const OTP_TTL_SECONDS = 300;
/** api.md: 5 wrong codes void the challenge. */
export const OTP_MAX_ATTEMPTS = 5;
/** api.md: at most 5 challenges per customer in 15 minutes. */
export const OTP_SEND_LIMIT = 5;
export const OTP_SEND_WINDOW_SECONDS = 15 * 60;

/** The challenge as SendOTP returns it (the code is never in it). */
export interface OtpChallengeView {
  otpId: string;
  channel: 'sms' | 'email';
  destination: string;
  /** Seconds until the code expires. */
  expiresIn: number;
}

/** Masks a UK mobile number as `+44 7*** ***123` (api.md). */
export function maskPhone(e164: string): string {
  return `+44 7*** ***${e164.slice(-3)}`;
}

/** Masks an e-mail as `b****@example.com`: first character and domain only. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  return `${email.slice(0, 1)}****${email.slice(at)}`;
}

/**
 * SendOTP and VerifyOTP (api.md "OTP challenge"): 6-digit codes, single use, 5 minutes, 5 wrong tries
 * void the challenge, at most 5 challenges per customer in 15 minutes. Codes go only to the store's
 * dev outbox; they are never logged or returned.
 */
export class OtpService {
  constructor(
    private readonly clock: Clock,
    private readonly random: RandomSource,
    private readonly store: Store,
  ) {}

  /**
   * Creates a challenge and "sends" its code to `to`.
   * @throws Problem too-many-requests (429, `Retry-After` in seconds) past the rate limit.
   */
  send(accountIndex: number, channel: 'sms' | 'email', to: string): OtpChallengeView {
    const now = this.clock.now();
    const windowStart = now - OTP_SEND_WINDOW_SECONDS * 1000;
    const sends = (this.store.otpSends.get(accountIndex) ?? []).filter((t) => t > windowStart);
    if (sends.length >= OTP_SEND_LIMIT) {
      const retryAfter = Math.max(1, Math.ceil((sends[0]! - windowStart) / 1000));
      this.store.recordOtpSend(accountIndex, sends, windowStart);
      throw problem(
        PROBLEMS.TOO_MANY_REQUESTS,
        `At most ${OTP_SEND_LIMIT} codes may be sent in ${OTP_SEND_WINDOW_SECONDS / 60} minutes; try again in ${retryAfter} seconds.`,
        {},
        { 'Retry-After': String(retryAfter) },
      );
    }
    sends.push(now);
    this.store.recordOtpSend(accountIndex, sends, windowStart);
    const challenge: OtpChallenge = {
      otpId: this.newOtpId(),
      accountIndex,
      channel,
      to,
      // A secret: from the system's CSPRNG, never from the seeded stream (which anyone can replay).
      code: String(randomInt(0, 1_000_000)).padStart(6, '0'),
      expiresAt: now + OTP_TTL_SECONDS * 1000,
      failedAttempts: 0,
      state: 'open',
    };
    this.store.addOtpChallenge(challenge, now);
    this.store.pushOutbox({
      otpId: challenge.otpId,
      channel,
      to,
      code: challenge.code,
      sentAt: isoTimestamp(now),
    });
    return {
      otpId: challenge.otpId,
      channel,
      destination: channel === 'sms' ? maskPhone(to) : maskEmail(to),
      expiresIn: OTP_TTL_SECONDS,
    };
  }

  /**
   * Checks a code; on success the challenge is used up.
   * @throws Problem not-found (404) for a challenge that is not this customer's,
   *   otp-expired (410) for an expired, used or voided one, otp-invalid (400) for a wrong code.
   */
  verify(accountIndex: number, otpId: string, code: string): void {
    const challenge = this.store.otpChallenges.get(otpId);
    if (!challenge || challenge.accountIndex !== accountIndex) {
      throw problem(PROBLEMS.NOT_FOUND, 'No one-time code challenge with this otpId; call SendOTP first.');
    }
    if (challenge.state !== 'open' || challenge.expiresAt <= this.clock.now()) {
      const why =
        challenge.state === 'used'
          ? 'was already used'
          : challenge.state === 'voided'
            ? `was voided after ${OTP_MAX_ATTEMPTS} wrong codes`
            : 'has expired';
      throw problem(PROBLEMS.OTP_EXPIRED, `This challenge ${why}; call SendOTP for a new code.`);
    }
    const ok =
      code.length === challenge.code.length &&
      timingSafeEqual(Buffer.from(code), Buffer.from(challenge.code));
    if (!ok) {
      challenge.failedAttempts += 1;
      const attemptsRemaining = OTP_MAX_ATTEMPTS - challenge.failedAttempts;
      if (attemptsRemaining <= 0) challenge.state = 'voided';
      throw problem(
        PROBLEMS.OTP_INVALID,
        attemptsRemaining > 0
          ? `The code is wrong; ${attemptsRemaining} attempt(s) left.`
          : 'The code is wrong and the challenge is now void; call SendOTP for a new code.',
        { attemptsRemaining },
      );
    }
    challenge.state = 'used';
  }

  /** A challenge id from the seed that no stored challenge has (the seeded sequence restarts on a reset). */
  private newOtpId(): string {
    for (;;) {
      const id = this.random.uuid();
      if (!this.store.otpChallenges.has(id)) return id;
    }
  }
}
