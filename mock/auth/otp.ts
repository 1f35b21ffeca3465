import { randomInt } from 'node:crypto';
import type { Clock } from '../clock';
import type { SharedStore } from '../store';
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
    private readonly store: SharedStore,
  ) {}

  /**
   * Creates a challenge and "sends" its code to `to` (the store counts the send, stores the challenge
   * and the outbox entry in one step).
   * @throws Problem too-many-requests (429, `Retry-After` in seconds) past the rate limit.
   */
  async send(accountIndex: number, channel: 'sms' | 'email', to: string): Promise<OtpChallengeView> {
    const now = this.clock.now();
    const windowMs = OTP_SEND_WINDOW_SECONDS * 1000;
    const sent = await this.store.sendOtp({
      accountIndex,
      channel,
      to,
      // A secret: from the system's CSPRNG, never from the seeded stream (which anyone can replay).
      code: String(randomInt(0, 1_000_000)).padStart(6, '0'),
      now,
      expiresAt: now + OTP_TTL_SECONDS * 1000,
      limit: OTP_SEND_LIMIT,
      windowMs,
    });
    if ('oldestSend' in sent) {
      const retryAfter = Math.max(1, Math.ceil((sent.oldestSend - (now - windowMs)) / 1000));
      throw problem(
        PROBLEMS.TOO_MANY_REQUESTS,
        `At most ${OTP_SEND_LIMIT} codes may be sent in ${OTP_SEND_WINDOW_SECONDS / 60} minutes; try again in ${retryAfter} seconds.`,
        {},
        { 'Retry-After': String(retryAfter) },
      );
    }
    return {
      otpId: sent.otpId,
      channel,
      destination: channel === 'sms' ? maskPhone(to) : maskEmail(to),
      expiresIn: OTP_TTL_SECONDS,
    };
  }

  /**
   * Checks a code; on success the challenge is used up (the store counts the attempt atomically).
   * @throws Problem not-found (404) for a challenge that is not this customer's,
   *   otp-expired (410) for an expired, used or voided one, otp-invalid (400) for a wrong code.
   */
  async verify(accountIndex: number, otpId: string, code: string): Promise<void> {
    const verdict = await this.store.verifyOtp(otpId, accountIndex, code, this.clock.now(), OTP_MAX_ATTEMPTS);
    switch (verdict.result) {
      case 'ok':
        return;
      case 'not-found':
        throw problem(PROBLEMS.NOT_FOUND, 'No one-time code challenge with this otpId; call SendOTP first.');
      case 'wrong': {
        const { attemptsRemaining } = verdict;
        throw problem(
          PROBLEMS.OTP_INVALID,
          attemptsRemaining > 0
            ? `The code is wrong; ${attemptsRemaining} attempt(s) left.`
            : 'The code is wrong and the challenge is now void; call SendOTP for a new code.',
          { attemptsRemaining: Math.max(0, attemptsRemaining) },
        );
      }
      default: {
        const why =
          verdict.result === 'used'
            ? 'was already used'
            : verdict.result === 'voided'
              ? `was voided after ${OTP_MAX_ATTEMPTS} wrong codes`
              : 'has expired';
        throw problem(PROBLEMS.OTP_EXPIRED, `This challenge ${why}; call SendOTP for a new code.`);
      }
    }
  }
}
