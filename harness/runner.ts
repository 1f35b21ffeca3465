import type { CompiledContract } from '../mock/contract';
import { CompiledContract as Compiled, loadContract } from '../mock/contract';
import { Session } from './session';
import { CredentialsRefused, positiveFlow } from './flow';
import { negativeCases } from './negative';
import { scenarios } from './scenarios';
import { statelessChecks } from './stateless';
import { preferCases } from './prefer';
import { AdminSuite, defaultAdminContract } from './admin';
import type { Coverage, RunResult, Target } from './types';

/** Options of one run. */
export interface RunOptions {
  contract?: CompiledContract;
  /** The mock's control-plane contract (default `contracts/admin.openapi.yaml`). */
  adminContract?: CompiledContract;
  /** Receives one line per case (already redacted). */
  log?: (line: string) => void;
  /** Reset a stateful mock before the run (default true; `--no-reset`). */
  reset?: boolean;
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
    // A stateful mock starts from its seeded state, so runs repeat (rate limits, registrations).
    if (target.isMock && !target.stateless && options.reset !== false) {
      session.resetResponse = await session.admin('POST', '/__admin/reset');
    }
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
  return {
    target: target.name,
    startedAt,
    durationMs: performance.now() - started,
    cases: session.cases,
    coverage,
    ...(Object.keys(preferOnly).length ? { preferOnly } : {}),
    ...(admin ? { admin: admin.result() } : {}),
    negativeCases: session.negativeCases,
    ...(fatal ? { fatal } : {}),
  };
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

/** Every violation of the run (the drift). */
export function violationsOf(result: RunResult) {
  return result.cases.flatMap((c) => c.violations.map((v) => ({ case: c.name, ...v })));
}
