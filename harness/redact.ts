/** Fields whose values are personal data or secrets: never printed, whatever the target. */
export const SENSITIVE_FIELDS = new Set([
  'access_token',
  'refresh_token',
  'password',
  'client_secret',
  'code',
  'email',
  'mobilePhone',
  'firstName',
  'lastName',
  'title',
  'addressLine1',
  'addressLine2',
  'addressLine3',
  'paymentToken',
  'username',
  'destination',
  'to',
]);

const CENSOR = '[redacted]';

/**
 * Removes secrets from anything the harness writes (console, reports, JUnit): every secret it was given
 * or saw (keys, passwords, tokens, OTP codes), JWT-shaped strings, and the values of sensitive fields.
 */
export class Redactor {
  private readonly secrets = new Set<string>();

  /** Remembers a secret (ignored when shorter than 4 characters, to avoid censoring noise). */
  add(secret: string | undefined): void {
    if (secret && secret.length >= 4) this.secrets.add(secret);
  }

  /** A string with every known secret and every JWT-shaped token replaced. */
  text(s: string): string {
    let out = s;
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length))
      out = out.split(secret).join(CENSOR);
    return out.replace(/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, CENSOR);
  }

  /** A deep copy of `value` with sensitive fields censored and secrets removed from strings. */
  value(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.value(v));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = SENSITIVE_FIELDS.has(k) ? CENSOR : this.value(v);
      return out;
    }
    return value;
  }

  /** Censors a JSON Pointer's target value when its last token is a sensitive field. */
  atPointer(pointer: string, value: string): string {
    const last = decodeURIComponent(pointer.split('/').pop() ?? '');
    return SENSITIVE_FIELDS.has(last) ? CENSOR : this.text(value);
  }
}
