import type { Express } from 'express';
import type { Violation } from '../contract-kit';

/** Credentials for a target, from environment variables (never from files in the repository). */
export interface Credentials {
  subscriptionKey: string;
  clientId: string;
  clientSecret: string;
  username?: string;
  password?: string;
  /** A pre-obtained access token, for environments whose two-step authentication needs a person. */
  accessToken?: string;
  /** An access token known to have expired, to check the expired-token answer on a real environment. */
  expiredAccessToken?: string;
  /** The admin token of a procode-mock started with `PROCODE_ADMIN_TOKEN` (sent to `/__admin` only). */
  adminToken?: string;
}

/** Something the harness checks: the in-process mock or any base URL. */
export interface Target {
  name: string;
  /** Base URL (no trailing slash); absent for the in-process mock. */
  baseUrl?: string;
  /** The in-process Express app (supertest, no server). */
  app?: Express;
  /** A mock (ours or Prism): writes are harmless, the dev outbox may hold OTP codes. */
  isMock: boolean;
  /** Writes (Register, MakePayment, SendOTP) are allowed. */
  canWrite: boolean;
  /** A stateless mock (Prism mock): only the stateless checks make sense. */
  stateless: boolean;
  credentials: Credentials;
  /** Most requests per second (0: unbounded). */
  rate: number;
  /** Asks a person for the one-time code (terminal runs); undefined where nobody can answer. */
  promptOtp?: (destination: string) => Promise<string>;
}

/** A request as the harness sends it. */
export interface HttpRequest {
  method: string;
  /** Path with query string, e.g. `/api/energy/premises?limit=5`. */
  path: string;
  headers: Record<string, string>;
  /** Raw body (already serialised). */
  body?: string;
}

/** A response as the harness saw it. */
export interface HttpResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  text: string;
  /** Parsed JSON, or undefined when the body is empty or not JSON. */
  body: unknown;
  /** The X-Request-ID the harness sent, to check its echo and the problem's `instance`. */
  requestId?: string;
}

/** What a case expects beyond conformance to the contract. */
export interface Expectation {
  /** Acceptable statuses (any declared 4xx when omitted on a negative case). */
  statuses?: number[];
  /** Any 4xx the contract declares for the operation. */
  anyDeclared4xx?: boolean;
  /** errors[] must contain an item at this place. */
  pointer?: { in: 'body' | 'query' | 'path' | 'header'; pointer: string };
  /** The response must carry this header. */
  header?: string;
}

/** The outcome of one case. */
export interface CaseResult {
  /** Human name, e.g. `MakePayment: body #/amountPence below minimum`. */
  name: string;
  suite: 'flow' | 'negative' | 'security' | 'scenario' | 'stateless' | 'prefer' | 'admin';
  /** The contract the case was checked against: the Procode API's (default) or the mock's admin API's. */
  contract?: 'admin';
  operationId: string;
  status?: number;
  /** Contract violations and unmet expectations. */
  violations: Violation[];
  /** Why it did not run. */
  skipped?: string;
  /** For a skipped case: the statuses it would have reached (all of the operation's when absent). */
  wouldReach?: number[];
  durationMs: number;
}

/** operationId -> declared status -> exercised. */
export type Coverage = Record<string, Record<string, boolean>>;

/** What the run found of a procode-mock's control plane (`contracts/admin.openapi.yaml`). */
export interface AdminResult {
  /** Admin operationId -> declared status -> exercised. */
  coverage: Coverage;
  /** The router's own answers under `/__admin` (`x-router-responses`: 404, 405) -> exercised. */
  router: Record<string, boolean>;
  /** Why the admin contract was not (fully) checked: `/__admin` answers 404, or needs an admin token. */
  skipped?: string;
}

/** Everything one run found. */
export interface RunResult {
  target: string;
  startedAt: string;
  durationMs: number;
  cases: CaseResult[];
  /** The Procode API contract: operationId -> declared status -> exercised. */
  coverage: Coverage;
  /** Why each declared pair that was not exercised was not: operationId -> status -> reason. */
  notExercised?: Record<string, Record<string, string>>;
  /** API statuses exercised only by asking a mock for them (`Prefer: code=`): operationId -> statuses. */
  preferOnly?: Record<string, string[]>;
  /** The admin contract, when the target is a procode-mock and the admin suite ran. */
  admin?: AdminResult;
  /** Requests the run sent (a case may send several: a walk through pages). */
  requests: number;
  /** Generated negative cases (for the note). */
  negativeCases: number;
  /** Why the run stopped early without judging the target (refused credentials). */
  fatal?: string;
}
