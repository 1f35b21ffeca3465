import type { FieldError, ProblemType } from '../../contract-kit';

export type { FieldError };

/** Extension members a problem may carry besides the five standard ones. */
export interface ProblemExtensions {
  errors?: FieldError[];
  error_description?: string;
  attemptsRemaining?: number;
  paymentId?: string;
  /** RFC 6749 section 5.2 `error` code for a problem type that has none of its own. */
  oauthError?: string;
  /** `preference-not-declared`: the status codes and example names the operation declares. */
  declared?: string[];
}

/**
 * A problem thrown by a stage or handler; the error middleware turns it into problem+json.
 * `headers` are response headers (never copied into the body).
 */
export class Problem extends Error {
  override readonly name = 'Problem';
  constructor(
    readonly type: ProblemType,
    readonly detail: string,
    readonly extensions: ProblemExtensions = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`${type.slug}: ${detail}`);
  }
}

/** The one factory for problems: `throw problem(PROBLEMS.NOT_FOUND, 'No premise 1234567890.')`. */
export function problem(
  type: ProblemType,
  detail: string,
  extensions: ProblemExtensions = {},
  headers: Record<string, string> = {},
): Problem {
  return new Problem(type, detail, extensions, headers);
}
