import type { CompiledContract } from '../contract-kit';
import { CompiledContract as Compiled, loadContract } from '../contract-kit';
import { Session } from './session';
import { CredentialsRefused, positiveFlow } from './flow';
import { negativeCases } from './negative';
import { scenarios } from './scenarios';
import { statelessChecks } from './stateless';
import { preferCases } from './prefer';
import { AdminSuite, defaultAdminContract } from './admin';
import type { CaseResult, Coverage, RunResult, Target } from './types';

/** Options of one run. */
export interface RunOptions {
  contract?: CompiledContract;
  /** The mock's control-plane contract (default `contracts/admin.openapi.yaml`). */
  adminContract?: CompiledContract;
  /** Receives one line per case (already redacted). */
  log?: (line: string) => void;
  /**
   * Reset a stateful mock before the run (`POST /__admin/reset`, `--reset`): it revokes every token the
   * mock issued and drops registrations and payments. Default: only a mock the run owns (in-process);
   * a running mock, maybe a developer's, keeps its state, and the cases that would change it for
   * everyone are skipped.
   */
  reset?: boolean;
  /** Receives what the run must say before it starts, even with `--quiet` (a mock's faults or clock). */
  notice?: (line: string) => void;
  /**
   * Which suites to run (default: all that suit the target). `prefer` asks a mock for the declared
   * statuses the others did not reach (`Prefer: code=`); `admin` checks a procode-mock's control plane
   * against `contracts/admin.openapi.yaml`. Neither sends anything to a real environment.
   */
  suites?: ('flow' | 'negative' | 'scenario' | 'stateless' | 'prefer' | 'admin')[];
}

let compiled: CompiledContract | undefined;

/**
 * Runs the contract suite against a target: the positive flow, generated negative cases and the
 * stateful scenarios (or, for a stateless mock, the stateless checks), then, on a mock, the declared
 * statuses still missing asked for with `Prefer: code=`, and on a procode-mock its control plane against
 * the admin contract. Computes operation x status coverage of the API contract (and, apart, of the admin
 * contract). Never throws for what the target answers; every finding is a case with violations.
 */
export async function runContract(target: Target, options: RunOptions = {}): Promise<RunResult> {
  const contract = options.contract ?? (compiled ??= new Compiled(loadContract()));
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const session = new Session(target, contract, options.log ?? (() => undefined));
  const suites =
    options.suites ??
    (target.stateless ? ['stateless', 'prefer'] : ['flow', 'negative', 'scenario', 'prefer', 'admin']);
  // Only a procode-mock has a control plane: never a real environment, never a stateless Prism mock.
  const admin =
    suites.includes('admin') && target.isMock && !target.stateless
      ? new AdminSuite(session, options.adminContract ?? defaultAdminContract())
      : undefined;
  let fatal: string | undefined;
  try {
    // A stateful mock starts from its seeded state when asked (or when the run owns it), so runs repeat.
    const reset = options.reset ?? target.app !== undefined;
    if (target.isMock && !target.stateless && reset) {
      session.resetResponse = await session.admin('POST', '/__admin/reset');
    }
    session.fresh = target.app !== undefined || session.resetResponse?.status === 204;
    if (target.isMock && !target.stateless) await readMockState(session, options.notice ?? (() => undefined));
    if (admin) await admin.start();
    if (suites.includes('stateless')) await statelessChecks(session);
    if (suites.includes('flow')) await positiveFlow(session);
    if (suites.includes('negative')) await negativeCases(session);
    if (suites.includes('scenario')) await scenarios(session);
    if (suites.includes('prefer')) await preferCases(session);
    if (admin) await admin.run();
  } catch (err) {
    if (!(err instanceof CredentialsRefused)) throw err;
    fatal = err.message;
  }
  const coverage: Coverage = {};
  for (const op of contract.operations.values()) {
    coverage[op.spec.operationId] = Object.fromEntries(
      [...op.spec.responses.keys()].map((st) => [String(st), false]),
    );
  }
  const natural: Coverage = structuredClone(coverage);
  for (const c of session.cases) {
    if (c.contract === 'admin') continue;
    const row = coverage[c.operationId];
    if (!row || c.status === undefined || !(String(c.status) in row)) continue;
    row[String(c.status)] = true;
    if (c.suite !== 'prefer') natural[c.operationId]![String(c.status)] = true;
  }
  const preferOnly: Record<string, string[]> = {};
  for (const [op, row] of Object.entries(coverage)) {
    const forced = Object.keys(row).filter((st) => row[st] && !natural[op]![st]);
    if (forced.length) preferOnly[op] = forced;
  }
  const notExercised: Record<string, Record<string, string>> = {};
  for (const [operationId, row] of Object.entries(coverage)) {
    for (const st of Object.keys(row).filter((k) => !row[k])) {
      (notExercised[operationId] ??= {})[st] = whyNotExercised(
        operationId,
        Number(st),
        session.cases,
        target,
        contract.get(operationId).spec.method,
      );
    }
  }
  return {
    target: target.name,
    startedAt,
    durationMs: performance.now() - started,
    cases: session.cases,
    coverage,
    notExercised,
    ...(Object.keys(preferOnly).length ? { preferOnly } : {}),
    ...(admin ? { admin: admin.result() } : {}),
    requests: session.transport.count,
    negativeCases: session.negativeCases,
    ...(fatal ? { fatal } : {}),
  };
}

/**
 * Reads a procode-mock's clock and fault rules before the run (read-only): the semantic rules measure
 * "not in the future" against the mock's own clock, and a mock left with fault rules or a moved clock
 * is named in one line, since what those change will be reported as drift. Silent when the mock has no
 * control plane (`--admin off`, Prism) or it needs a token the run was not given.
 */
async function readMockState(session: Session, notice: (line: string) => void): Promise<void> {
  const clock = await session.admin('GET', '/__admin/clock');
  const body = (clock.body ?? {}) as Record<string, unknown>;
  if (clock.status === 200 && typeof body.now === 'string') {
    session.memory.clockOffsetMs = Math.max(0, Date.parse(body.now) - session.memory.now());
  }
  const faults = await session.admin('GET', '/__admin/faults');
  const items = (faults.body as { items?: unknown[] } | undefined)?.items;
  const odd: string[] = [];
  if (faults.status === 200 && Array.isArray(items) && items.length)
    odd.push(`${items.length} fault rule(s)`);
  if (clock.status === 200 && body.mode !== undefined && body.mode !== 'system')
    odd.push(`its clock ${body.mode === 'frozen' ? 'frozen' : `moved by ${String(body.offsetSeconds)} s`}`);
  if (odd.length)
    notice(
      `procode-contract: the mock has ${odd.join(' and ')}: what they change is reported as drift; --reset for a clean state`,
    );
}

/**
 * Why a declared pair of the API contract was not exercised, for coverage.md: the reasons of the cases
 * skipped for that operation (`--allow-writes`, `PROCODE_EXPIRED_ACCESS_TOKEN`, ...), or what kind of
 * answer it is and what would reach it.
 */
export function whyNotExercised(
  operationId: string,
  status: number,
  cases: readonly CaseResult[],
  target: Pick<Target, 'isMock' | 'stateless' | 'canWrite'>,
  method: string,
): string {
  const skipped = cases.filter(
    (c) =>
      c.contract !== 'admin' &&
      c.skipped &&
      c.operationId === operationId &&
      (!c.wouldReach || c.wouldReach.includes(status)),
  );
  // The first skip is the most specific (the flow's own, before the generated cases').
  if (skipped.length) return skipped[0]!.skipped!;
  const write = method !== 'get';
  if (!target.isMock) {
    if (status >= 500 || status === 429)
      return 'a failure of the environment itself: never provoked on a real environment (a mock gives it with `Prefer: code=`)';
    if (write && !target.canWrite) return 'a write operation: needs --allow-writes';
    return 'needs a state of the account the harness cannot set up on a real environment (a mock gives it with `Prefer: code=`)';
  }
  if (status >= 200 && status < 300 && write)
    return 'a success of a write is not asked for with `Prefer: code=` (it would report a change that did not happen)';
  return target.stateless
    ? 'the stateless mock declares no example the harness could ask for'
    : 'no case of the harness provokes it, and the mock ignored `Prefer: code=` for it';
}

/** Exercised and declared pairs and operations of one coverage table. */
export function coverageCounts(coverage: Coverage): {
  pairs: number;
  pairsHit: number;
  operations: number;
  operationsHit: number;
} {
  let pairs = 0;
  let pairsHit = 0;
  let operationsHit = 0;
  for (const row of Object.values(coverage)) {
    const hits = Object.values(row).filter(Boolean).length;
    pairs += Object.keys(row).length;
    pairsHit += hits;
    if (hits > 0) operationsHit++;
  }
  return { pairs, pairsHit, operations: Object.keys(coverage).length, operationsHit };
}

/** Share of declared operation x status pairs of the API contract that the run exercised, 0-1. */
export function coverageRatio(result: RunResult): number {
  const { pairs, pairsHit } = coverageCounts(result.coverage);
  return pairs === 0 ? 0 : pairsHit / pairs;
}

/** Share of declared operation x status pairs of the admin contract exercised, 0-1 (undefined: not run). */
export function adminCoverageRatio(result: RunResult): number | undefined {
  if (!result.admin) return undefined;
  const { pairs, pairsHit } = coverageCounts(result.admin.coverage);
  return pairs === 0 ? 0 : pairsHit / pairs;
}

/**
 * One line for the admin contract, e.g. `admin contract: 21/21 operations, 34/56 operation x status
 * pairs (60.7%); router 404 405` (undefined when the admin suite did not run).
 */
export function adminCoverageLine(result: RunResult): string | undefined {
  const admin = result.admin;
  if (!admin) return undefined;
  if (admin.skipped) return `admin contract: not checked (${admin.skipped})`;
  const c = coverageCounts(admin.coverage);
  const router = Object.entries(admin.router)
    .filter(([, hit]) => hit)
    .map(([st]) => st);
  return (
    `admin contract: ${c.operationsHit}/${c.operations} operations, ${c.pairsHit}/${c.pairs} operation x status pairs ` +
    `(${((c.pairsHit / (c.pairs || 1)) * 100).toFixed(1)}%)${router.length ? `; router ${router.join(' ')}` : ''}`
  );
}

/**
 * Every violation of the run (the drift), once each: the same departure seen twice by one case (the
 * same operation, status, pointer and rule) is one line.
 */
export function violationsOf(result: RunResult) {
  return result.cases.flatMap((c) => {
    const seen = new Set<string>();
    return c.violations
      .filter((v) => {
        const key = `${v.operationId} ${v.status} ${v.pointer} ${v.rule ?? ''}`;
        return seen.has(key) ? false : (seen.add(key), true);
      })
      .map((v) => ({ case: c.name, ...v }));
  });
}
