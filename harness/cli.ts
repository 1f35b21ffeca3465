#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { adminCoverageLine, runContract, coverageRatio, violationsOf } from './runner';
import { writeReports } from './reports';
import { resolveTarget, TargetError } from './targets';
import type { Target } from './types';
import { PACKAGE_VERSION } from '../contract-kit';
import { addDiffCommand, runDiff } from './diff';
import type { DiffCommandOptions } from './diff';

function number(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number >= 0');
  return n;
}

/** This package's version. */
export const VERSION = PACKAGE_VERSION;

/**
 * `procode-contract`: checks a target against the contract (exit 1 on any violation or low coverage), or
 * with `diff <old> <new>` lists the changes between two contracts that break consumers (exit 1 on one).
 */
export async function main(argv: string[] = process.argv): Promise<number> {
  let diff: { oldSpec: string; newSpec: string; options: DiffCommandOptions } | undefined;
  const program = new Command()
    .name('procode-contract')
    .description('Check the in-process mock, a URL or a named environment against the Procode contract.')
    .option(
      '--target <name|url>',
      'in-process, mock, prism, dev1, dev2 (contracts/environments.json) or a base URL',
      'in-process',
    )
    .option(
      '--allow-writes',
      'allow Register, MakePayment and SendOTP (sends a real SMS) against a non-mock target',
      false,
    )
    .option('--mock', 'treat a URL as a procode-mock (writes allowed, OTP codes from its outbox)', false)
    .option('--report <dir>', 'write junit.xml, coverage.{json,md} and drift.{json,md} here')
    .option('--min-coverage <percent>', 'fail when fewer operation x status pairs were exercised', number, 0)
    .option('--rate <n>', 'requests per second at most (default: unbounded for mocks, 5 otherwise)', number)
    .option('--quiet', 'print only the summary', false)
    .option(
      '--reset',
      'reset a running mock first (POST /__admin/reset): a clean state, but it revokes every token the mock issued',
    )
    .option('--no-reset', "keep a running mock's state (the default)")
    .version(VERSION)
    // The check's options belong before `diff`, never to it.
    .enablePositionalOptions()
    .exitOverride()
    // Without an action of its own, a program with a subcommand prints its help when given none.
    .action(() => undefined);
  // Declared after exitOverride, which subcommands inherit when they are made.
  addDiffCommand(program, (oldSpec, newSpec, options) => (diff = { oldSpec, newSpec, options }));
  try {
    program.parse(argv);
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode ?? 2;
    return code === 0 ? 0 : 2;
  }
  if (diff) return runDiff(diff.oldSpec, diff.newSpec, diff.options);
  const opts = program.opts<{
    reset?: boolean;
    target: string;
    allowWrites: boolean;
    mock: boolean;
    report?: string;
    minCoverage: number;
    rate?: number;
    quiet: boolean;
  }>();
  let target: Target;
  try {
    target = resolveTarget({
      target: opts.target,
      allowWrites: opts.allowWrites,
      rate: opts.rate,
      mock: opts.mock,
      interactive: process.stdin.isTTY === true,
    });
  } catch (err) {
    if (err instanceof TargetError) {
      process.stderr.write(`procode-contract: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (opts.target === 'in-process') {
    // Loaded here only: a run against a URL or a real environment never loads the mock.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createInProcessApp } = require('./in-process') as typeof import('./in-process');
    target.app = createInProcessApp();
  }
  const say = (line: string): void => void process.stdout.write(line + '\n');
  say(
    `procode-contract: ${target.name} (${target.isMock ? 'mock' : 'real'}, ${target.canWrite ? 'writes allowed' : 'read-only'}${target.rate ? `, at most ${target.rate} req/s` : ''})`,
  );
  if (target.isMock && !target.stateless && opts.target !== 'in-process') {
    say(
      opts.reset
        ? 'procode-contract: resetting the mock first (--reset): every token it issued is revoked, registrations and payments are dropped'
        : "procode-contract: the mock's state is kept (its tokens, registrations and payments stay); cases that would change it for everyone are skipped: --reset for a clean state",
    );
  }
  const result = await runContract(target, {
    log: opts.quiet ? undefined : say,
    notice: say,
    reset: opts.target === 'in-process' ? undefined : (opts.reset ?? false),
  });
  if (result.fatal) {
    process.stderr.write(`procode-contract: ${result.fatal}\n`);
    return 2;
  }
  const ratio = coverageRatio(result);
  if (ratio * 100 < opts.minCoverage) {
    // Recorded as a case too, so JUnit and the reports show why the job failed.
    result.cases.push({
      name: `coverage ${(ratio * 100).toFixed(1)}% >= --min-coverage ${opts.minCoverage}%`,
      suite: 'flow',
      operationId: '(all)',
      violations: [
        {
          operationId: '(all)',
          status: 0,
          pointer: 'coverage',
          expected: `>= ${opts.minCoverage}%`,
          actual: `${(ratio * 100).toFixed(1)}%`,
        },
      ],
      durationMs: 0,
    });
  }
  const drift = violationsOf(result);
  say(
    `${result.cases.length} cases, ${result.cases.filter((c) => c.violations.length).length} failed, ${result.cases.filter((c) => c.skipped).length} skipped; ` +
      `${drift.length} violation(s); ${result.negativeCases} generated negative cases; coverage ${(ratio * 100).toFixed(1)}%; ${(result.durationMs / 1000).toFixed(1)} s`,
  );
  // The mock's control plane has its own contract and its own figure; the one above is the API's.
  const adminLine = adminCoverageLine(result);
  if (adminLine) say(adminLine);
  if (opts.report) for (const f of writeReports(result, opts.report)) say(`wrote ${f}`);
  if (ratio * 100 < opts.minCoverage)
    say(`coverage ${(ratio * 100).toFixed(1)}% is under --min-coverage ${opts.minCoverage}%`);
  if (drift.length > 0) return 1;
  return 0;
}

if (require.main === module) {
  // As PID 1 in a container, a process without handlers ignores SIGTERM/SIGINT: stop at once instead.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(130));
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      // fetch hides the reason (refused, unknown host, untrusted certificate) in `cause`.
      const cause =
        err instanceof Error && err.cause instanceof Error
          ? `: ${(err.cause as NodeJS.ErrnoException).code ?? err.cause.message}`
          : '';
      process.stderr.write(`procode-contract: ${err instanceof Error ? err.message : String(err)}${cause}\n`);
      process.exit(2);
    },
  );
}
