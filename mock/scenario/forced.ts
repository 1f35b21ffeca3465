import type { CompiledOperation } from '../../contract-kit';
import type { ProblemExtensions, ProblemType } from '../problem';
import { PROBLEMS, PROBLEM_BASE, Problem, problem } from '../problem';
import { BEARER_REALM, INSUFFICIENT_SCOPE, INVALID_TOKEN } from '../security';
import type { Reply } from '../handlers/context';
import { gatewayProblem } from '../gateway';

/** Seconds a forced 429 or 503 asks the client to wait (`Retry-After`, RFC 9110 section 10.2.3). */
export const FORCED_RETRY_AFTER_SECONDS = 30;

const BY_SLUG: ReadonlyMap<string, ProblemType> = new Map(
  Object.values(PROBLEMS).map((t: ProblemType) => [t.slug, t]),
);

/** The challenge each 401/403 problem type carries (RFC 6750 section 3, RFC 6749 section 5.2). */
const CHALLENGES: ReadonlyMap<ProblemType, string> = new Map<ProblemType, string>([
  [PROBLEMS.UNAUTHORIZED, BEARER_REALM],
  [PROBLEMS.INVALID_TOKEN, INVALID_TOKEN],
  [PROBLEMS.OTP_REQUIRED, INSUFFICIENT_SCOPE],
  [PROBLEMS.INVALID_CLIENT, 'Basic realm="procode", charset="UTF-8"'],
]);

/** A catalogue problem type from a `type` URI of the contract's examples, if it is one of ours. */
function typeOfUri(uri: unknown): ProblemType | undefined {
  return typeof uri === 'string' && uri.startsWith(PROBLEM_BASE)
    ? BY_SLUG.get(uri.slice(PROBLEM_BASE.length))
    : undefined;
}

/** The status codes an operation declares, as strings, ascending (what `Prefer: code=` may name). */
export function declaredCodes(op: CompiledOperation): string[] {
  return [...op.spec.responses.keys()].sort((a, b) => a - b).map(String);
}

/** Every named example of an operation, as `{ status, mediaType, name, value }`, in status order. */
function examplesOf(
  op: CompiledOperation,
  status?: number,
): { status: number; mediaType: string; name: string; value: unknown }[] {
  const out: { status: number; mediaType: string; name: string; value: unknown }[] = [];
  for (const [code, response] of [...op.spec.responses].sort((a, b) => a[0] - b[0])) {
    if (status !== undefined && code !== status) continue;
    for (const [mediaType, media] of response.content) {
      for (const [name, value] of media.examples) out.push({ status: code, mediaType, name, value });
    }
  }
  return out;
}

/** The example names an operation declares (for one status, or all), unique, in status order. */
export function declaredExamples(op: CompiledOperation, status?: number): string[] {
  return [...new Set(examplesOf(op, status).map((e) => e.name))];
}

/**
 * Headers the contract requires on `status` that the reply lacks, filled the way the real service would:
 * the problem type's challenge for `WWW-Authenticate`, `Retry-After` in seconds, else the contract's own
 * example of the header (a `Location`, say). `X-Request-ID` and `Cache-Control` come from the pipeline.
 */
function requiredHeaders(
  op: CompiledOperation,
  status: number,
  type: ProblemType | undefined,
  have: Record<string, string>,
  text?: unknown,
): Record<string, string> {
  // An example that says when to come back ("try again in 540 seconds") gets the same Retry-After.
  const said = typeof text === 'string' ? /in ([0-9]{1,9}) seconds/.exec(text)?.[1] : undefined;
  const out: Record<string, string> = { ...have };
  const present = new Set(Object.keys(have).map((h) => h.toLowerCase()));
  const challenge = type ? CHALLENGES.get(type) : undefined;
  if (challenge && !present.has('www-authenticate')) out['WWW-Authenticate'] = challenge;
  for (const [name, header] of op.spec.responses.get(status)?.headers ?? []) {
    const lower = name.toLowerCase();
    if (!header.required || present.has(lower) || out[name] !== undefined) continue;
    if (lower === 'x-request-id' || lower === 'cache-control') continue;
    if (lower === 'retry-after') out[name] = said ?? String(FORCED_RETRY_AFTER_SECONDS);
    else if (header.example !== undefined) out[name] = String(header.example);
  }
  return out;
}

/**
 * The problem an operation answers with for a forced error `status` (`Prefer: code=`, a fault rule's
 * `status`): the catalogue type that the contract's examples for that status name first (the gateway's
 * subscription-key type aside), else the catalogue's first type of that status, with every header the
 * contract requires for it.
 * @throws Error when the catalogue has no problem type of that status (a contract the mock cannot honour).
 */
export function forcedProblem(op: CompiledOperation, status: number, detail?: string): Problem {
  // A status the contract declares only as the gateway's JSON (the quota's 403 on operations without a
  // bearer token) is the gateway's answer; otherwise the service's problem+json.
  const content = op.spec.responses.get(status)?.content;
  if (content && !content.has('application/problem+json') && content.has('application/json')) {
    return forcedGatewayProblem(status);
  }
  // A forced 401 on an operation that takes a bearer token is the useful unhappy path: the token the
  // client holds was refused (expired mid-flow), not a missing header it could leave out itself.
  if (status === 401 && op.spec.requiresBearer) {
    return problem(
      PROBLEMS.INVALID_TOKEN,
      detail ??
        `${op.spec.operationId} answered 401 because the request asked for it: the access token is treated as expired.`,
      {},
      requiredHeaders(op, status, PROBLEMS.INVALID_TOKEN, {}),
    );
  }
  const fromExamples = examplesOf(op, status)
    .map((e) => typeOfUri((e.value as Record<string, unknown> | undefined)?.type))
    .find((t) => t !== undefined && t.gateway === undefined);
  const type =
    fromExamples ??
    Object.values(PROBLEMS).find((t: ProblemType) => t.status === status && t.gateway === undefined);
  if (!type) throw new Error(`The problem catalogue has no type with status ${status}`);
  return problem(
    type,
    detail ?? `${op.spec.operationId} answered ${status} because the request asked for it (${type.title}).`,
    {},
    requiredHeaders(op, status, type, {}),
  );
}

/**
 * API Management's own answer of `status` (its `{ statusCode, message }` JSON), as a fault rule's
 * `gateway` or a forced status that the contract declares only in that form: 403 quota, 429 rate limit,
 * 500, 503 (`Retry-After` where the contract requires it).
 * @throws Error for a status the gateway does not answer with.
 */
export function forcedGatewayProblem(status: number): Problem {
  if (status === 429 || status === 500 || status === 503) {
    return gatewayProblem(status, FORCED_RETRY_AFTER_SECONDS);
  }
  if (status === 403) {
    return problem(
      PROBLEMS.GATEWAY_QUOTA,
      `Out of call volume quota. Quota will be replenished in 00:00:${String(FORCED_RETRY_AFTER_SECONDS).padStart(2, '0')}.`,
    );
  }
  throw new Error(`API Management has no answer of its own with status ${status} here`);
}

/**
 * The reply made from a named (or the first) example of the contract for `status` (or, with only a name,
 * for whichever status declares it). A problem example becomes that catalogue problem, so `instance`
 * names this request; a success or gateway example is answered as written, with the headers the contract
 * requires.
 * @returns the reply, a Problem to throw, or undefined when the operation declares no such example.
 */
export function exampleReply(
  op: CompiledOperation,
  status: number | undefined,
  name: string | undefined,
): Reply | Problem | undefined {
  const candidates = examplesOf(op, status).filter((e) => name === undefined || e.name === name);
  const chosen = candidates[0];
  if (!chosen) {
    // A declared status without examples (a 204, say) is still an answer when no name was asked for.
    if (status !== undefined && name === undefined && op.spec.responses.has(status)) {
      if (status >= 400) return forcedProblem(op, status);
      return { status, headers: requiredHeaders(op, status, undefined, {}) };
    }
    return undefined;
  }
  const body = chosen.value as Record<string, unknown> | undefined;
  const type = chosen.mediaType === 'application/problem+json' ? typeOfUri(body?.type) : undefined;
  if (type) {
    const STANDARD = ['type', 'title', 'status', 'detail', 'instance'];
    const extensions = Object.fromEntries(Object.entries(body ?? {}).filter(([k]) => !STANDARD.includes(k)));
    const detail = body?.detail;
    return new Problem(
      type,
      typeof detail === 'string' ? detail : type.title,
      extensions as ProblemExtensions,
      requiredHeaders(op, chosen.status, type, {}, detail),
    );
  }
  return {
    status: chosen.status,
    body: chosen.value,
    headers: requiredHeaders(op, chosen.status, undefined, {}, body?.message),
    ...(chosen.mediaType !== 'application/json' ? { contentType: chosen.mediaType } : {}),
  };
}
