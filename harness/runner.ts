import type { CompiledContract } from '../mock/contract';
import { CompiledContract as Compiled, loadContract } from '../mock/contract';
import { Session } from './session';
import { CredentialsRefused, positiveFlow } from './flow';
import { negativeCases } from './negative';
import { scenarios } from './scenarios';
import { statelessChecks } from './stateless';
import type { RunResult, Target } from './types';

/** Options of one run. */
export interface RunOptions {
  contract?: CompiledContract;
  /** Receives one line per case (already redacted). */
  log?: (line: string) => void;
  /** Reset a stateful mock before the run (default true; `--no-reset`). */
  reset?: boolean;
  /** Which suites to run (default: all that suit the target). */
  suites?: ('flow' | 'negative' | 'scenario' | 'stateless')[];
}

let compiled: CompiledContract | undefined;

/**
 * Runs the contract suite against a target: the positive flow, generated negative cases and the
 * stateful scenarios (or, for a stateless mock, the stateless checks), and computes operation x status
 * coverage. Never throws for what the target answers; every finding is a case with violations.
 */
export async function runContract(target: Target, options: RunOptions = {}): Promise<RunResult> {
  const contract = options.contract ?? (compiled ??= new Compiled(loadContract()));
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const session = new Session(target, contract, options.log ?? (() => undefined));
  const suites = options.suites ?? (target.stateless ? ['stateless'] : ['flow', 'negative', 'scenario']);
  let fatal: string | undefined;
  try {
    // A stateful mock starts from its seeded state, so runs repeat (rate limits, registrations).
    if (target.isMock && !target.stateless && options.reset !== false) {
      await session.transport.send({ method: 'POST', path: '/__admin/reset', headers: {} });
    }
    if (suites.includes('stateless')) await statelessChecks(session);
    if (suites.includes('flow')) await positiveFlow(session);
    if (suites.includes('negative')) await negativeCases(session);
    if (suites.includes('scenario')) await scenarios(session);
  } catch (err) {
    if (!(err instanceof CredentialsRefused)) throw err;
    fatal = err.message;
  }
  const coverage: RunResult['coverage'] = {};
  for (const op of contract.operations.values()) {
    coverage[op.spec.operationId] = Object.fromEntries(
      [...op.spec.responses.keys()].map((st) => [String(st), false]),
    );
  }
  for (const c of session.cases) {
    const row = coverage[c.operationId];
    if (row && c.status !== undefined && String(c.status) in row) row[String(c.status)] = true;
  }
  return {
    target: target.name,
    startedAt,
    durationMs: performance.now() - started,
    cases: session.cases,
    coverage,
    negativeCases: session.negativeCases,
    ...(fatal ? { fatal } : {}),
  };
}

/** Share of declared operation x status pairs that the run exercised, 0-1. */
export function coverageRatio(result: RunResult): number {
  let total = 0;
  let hit = 0;
  for (const row of Object.values(result.coverage)) {
    for (const exercised of Object.values(row)) {
      total++;
      if (exercised) hit++;
    }
  }
  return total === 0 ? 0 : hit / total;
}

/** Every violation of the run (the drift). */
export function violationsOf(result: RunResult) {
  return result.cases.flatMap((c) => c.violations.map((v) => ({ case: c.name, ...v })));
}
