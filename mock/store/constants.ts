/** The store's fixed bounds (a leaf module: services import them without loading the store). */

/** Most recent outbox messages kept; older ones are dropped so a long run stays bounded. */
export const OUTBOX_LIMIT = 1000;

/**
 * Retired refresh tokens remembered per family for reuse detection (RFC 9700 section 4.14.2); older ones
 * are forgotten, so presenting one of those is plain invalid_grant without revoking the family. Bounds a
 * family that refreshes every few seconds for 30 days.
 */
export const REFRESH_RETIRED_PER_FAMILY = 100;

/**
 * How long, in ms, a challenge is kept after it expires: VerifyOTP answers 410 otp-expired rather than
 * 404 for that long (the SendOTP window, 15 minutes).
 */
export const OTP_CHALLENGE_GRACE_MS = 15 * 60 * 1000;
