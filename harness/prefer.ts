import type { Violation } from '../contract-kit';
import { expectContract } from './checks';
import type { Session } from './session';
import type { HttpResponse } from './types';
import { validRequest } from './negative';
import { exampleRequest } from './stateless';

/** The declared statuses each API operation already got in this run, from the recorded cases. */
function reachedStatuses(s: Session): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const c of s.cases) {
    if (c.contract === 'admin' || c.status === undefined) continue;
    out.set(c.operationId, (out.get(c.operationId) ?? new Set()).add(c.status));
  }
  return out;
}

/** The `code=` values of a `Preference-Applied` field (RFC 7240 section 3). */
function appliedCodes(res: HttpResponse): string[] {
  return (res.headers['preference-applied'] ?? '')
    .split(',')
    .map((p) => p.trim().split(';')[0]!.replace(/\s+/g, ''))
    .filter((p) => /^code=/i.test(p))
    .map((p) => p.slice(5).replace(/^"|"$/g, ''));
}

/**
 * Declared statuses that no other case reached, asked of a mock with `Prefer: code=<status>` (RFC 7240;
 * procode-mock honours it as Prism does): the gateway's and the service's 403, 429, 500 and 503, and any
 * other declared status the run cannot provoke. Each answer must have that status and conform to the
 * contract (content type, required headers such as Retry-After and WWW-Authenticate, body schema); a
 * procode-mock must also say `Preference-Applied: code=<status>`. Of a stateful mock only error statuses
 * and successes of reads are asked for (a write that succeeds is a write); a stateless one (Prism) is
 * asked for anything. Never sent to anything but a mock. A mock that ignores the first preference
 * (procode-mock with `--prefer off`) gets these cases skipped, not failed: a preference may be ignored
 * (RFC 7240 section 2).
 */
export async function preferCases(s: Session): Promise<void> {
  if (!s.target.isMock) return;
  const reached = reachedStatuses(s);
  let ignoredBecause: string | undefined;
  // Once one preference was honoured, a target that ignores another is judged, not excused.
  let honoured = false;
  for (const op of s.contract.operations.values()) {
    const { operationId } = op.spec;
    const missing = [...op.spec.responses.keys()]
      .filter((st) => !reached.get(operationId)?.has(st))
      .filter((st) => st >= 400 || op.spec.method === 'get' || s.target.stateless)
      .sort((a, b) => a - b);
    if (missing.length === 0) continue;
    const base = s.target.stateless ? exampleRequest(s, op.spec) : validRequest(s, operationId);
    for (const code of missing) {
      const name = `${operationId}: Prefer code=${code}`;
      if (!base) {
        s.skip(name, 'prefer', operationId, 'no valid request to start from (the flow found no ids)');
        continue;
      }
      if (ignoredBecause) {
        s.skip(name, 'prefer', operationId, ignoredBecause);
        continue;
      }
      const started = performance.now();
      // The status's own media types first (Prism, 5.14 and 5.16, answers the first the Accept names, but
      // checks its answer against the first the contract declares), and problem+json for errors at all.
      const media = [...(op.spec.responses.get(code)?.content.keys() ?? [])];
      const accept = [...new Set([...media, 'application/json', 'application/problem+json'])].join(', ');
      const res = await s.send(operationId, {
        ...base,
        headers: { ...base.headers, Accept: accept, Prefer: `code=${code}` },
      });
      const applied = appliedCodes(res);
      if (res.status !== code && res.status < 400 && applied.length === 0 && !honoured) {
        // The normal answer to the first one: the target ignores the preference altogether.
        ignoredBecause = `the target ignores Prefer: code= (answered ${res.status} to ${name})`;
        s.skip(name, 'prefer', operationId, ignoredBecause);
        continue;
      }
      honoured = true;
      const violations: Violation[] = expectContract(op, res, { statuses: [code] });
      // Preference-Applied is procode-mock's promise (Prism does not send it).
      if (!s.target.stateless && !applied.includes(String(code))) {
        violations.push({
          operationId,
          status: res.status,
          pointer: 'header:Preference-Applied',
          expected: `code=${code} (RFC 7240 section 3)`,
          actual: res.headers['preference-applied'] ?? 'absent',
        });
      }
      s.record({
        name,
        suite: 'prefer',
        operationId,
        status: res.status,
        violations,
        durationMs: performance.now() - started,
      });
    }
  }
}
