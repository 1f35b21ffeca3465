import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Coverage, RunResult } from './types';
import { adminCoverageLine, adminCoverageRatio, coverageCounts, coverageRatio, violationsOf } from './runner';

function xml(s: string): string {
  return (
    s
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      // XML 1.0 forbids most control characters even escaped.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
  );
}

/**
 * JUnit XML (one testsuite per suite kind, one testcase per case) for CI; the admin contract's cases are
 * their own testsuite, `admin`. Cases are already redacted.
 */
export function junitXml(result: RunResult): string {
  const bySuite = new Map<string, RunResult['cases']>();
  for (const c of result.cases) bySuite.set(c.suite, [...(bySuite.get(c.suite) ?? []), c]);
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const failures = result.cases.filter((c) => c.violations.length).length;
  const skipped = result.cases.filter((c) => c.skipped).length;
  lines.push(
    `<testsuites name="procode-contract ${xml(result.target)}" tests="${result.cases.length}" failures="${failures}" skipped="${skipped}" time="${(result.durationMs / 1000).toFixed(3)}">`,
  );
  for (const [suite, cases] of bySuite) {
    const f = cases.filter((c) => c.violations.length).length;
    const sk = cases.filter((c) => c.skipped).length;
    const time = cases.reduce((t, c) => t + c.durationMs, 0) / 1000;
    lines.push(
      `  <testsuite name="${xml(suite)}" tests="${cases.length}" failures="${f}" skipped="${sk}" time="${time.toFixed(3)}">`,
    );
    for (const c of cases) {
      const open = `    <testcase classname="${xml(`${suite}.${c.operationId}`)}" name="${xml(c.name)}" time="${(c.durationMs / 1000).toFixed(3)}"`;
      if (c.skipped) lines.push(`${open}><skipped message="${xml(c.skipped)}"/></testcase>`);
      else if (c.violations.length) {
        const text = c.violations
          .map(
            (v) =>
              `${v.operationId} ${v.status} ${v.pointer}${v.rule ? ` [${v.rule}]` : ''}: expected ${v.expected}, got ${v.actual}`,
          )
          .join('\n');
        lines.push(
          `${open}><failure message="${xml(c.violations.length + ' violation(s)')}">${xml(text)}</failure></testcase>`,
        );
      } else lines.push(`${open}/>`);
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}

/** Table rows of one coverage table; statuses in `marked` get a `*`. */
function coverageRows(coverage: Coverage, marked: Record<string, string[]> = {}): string[] {
  const out = ['| operation | exercised | not exercised |', '|---|---|---|'];
  for (const [op, row] of Object.entries(coverage)) {
    const hit = Object.entries(row)
      .filter(([, v]) => v)
      .map(([k]) => (marked[op]?.includes(k) ? `${k}*` : k));
    const miss = Object.entries(row)
      .filter(([, v]) => !v)
      .map(([k]) => k);
    out.push(`| ${op} | ${hit.join(' ') || '-'} | ${miss.join(' ') || '-'} |`);
  }
  return out;
}

/**
 * Operation x declared status coverage as Markdown: the API contract's table (statuses reached only with
 * `Prefer: code=` marked `*`), then, for a procode-mock, the admin contract's.
 */
export function coverageMarkdown(result: RunResult): string {
  const out = [
    `# Contract coverage: ${result.target}`,
    '',
    `${(coverageRatio(result) * 100).toFixed(1)}% of declared operation x status pairs exercised; ${result.negativeCases} generated negative cases.`,
    '',
    ...coverageRows(result.coverage, result.preferOnly),
  ];
  if (result.preferOnly) {
    out.push('', '\\* reached only by asking the mock for it (`Prefer: code=`, RFC 7240).');
  }
  const why = Object.entries(result.notExercised ?? {}).flatMap(([op, row]) =>
    Object.entries(row).map(([st, reason]) => `| ${op} | ${st} | ${reason.replace(/\|/g, '\\|')} |`),
  );
  if (why.length)
    out.push('', '## Not exercised, and why', '', '| operation | status | why |', '|---|---|---|', ...why);
  if (result.admin) {
    out.push('', '## Admin contract (`contracts/admin.openapi.yaml`)', '', `${adminCoverageLine(result)}.`);
    if (!result.admin.skipped) {
      out.push('', ...coverageRows(result.admin.coverage));
      const router = Object.entries(result.admin.router);
      if (router.length) {
        const list = (hit: boolean) =>
          router
            .filter(([, v]) => v === hit)
            .map(([k]) => k)
            .join(' ') || '-';
        out.push(`| (router: x-router-responses) | ${list(true)} | ${list(false)} |`);
      }
    }
  }
  return out.join('\n') + '\n';
}

/** The coverage.json document: the API contract's coverage as before, and the admin contract's apart. */
function coverageJson(result: RunResult): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    target: result.target,
    ratio: coverageRatio(result),
    negativeCases: result.negativeCases,
    coverage: result.coverage,
  };
  if (result.preferOnly) doc.preferOnly = result.preferOnly;
  if (result.notExercised) doc.notExercised = result.notExercised;
  if (result.admin) {
    const c = coverageCounts(result.admin.coverage);
    doc.admin = {
      contract: 'admin.openapi.yaml',
      ratio: adminCoverageRatio(result),
      operations: c.operations,
      operationsExercised: c.operationsHit,
      pairs: c.pairs,
      pairsExercised: c.pairsHit,
      ...(result.admin.skipped ? { skipped: result.admin.skipped } : {}),
      coverage: result.admin.coverage,
      router: result.admin.router,
    };
  }
  return doc;
}

/**
 * The drift report as Markdown: a summary (violations by rule and by operation: `schema` for a
 * departure from the contract's schemas and statuses, else the semantic rule's id), then one line per
 * violation: operation, status, rule, JSON pointer, expected, actual, case.
 */
export function driftMarkdown(result: RunResult): string {
  const drift = violationsOf(result);
  const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const out = [
    `# Contract drift: ${result.target}`,
    '',
    drift.length ? `${drift.length} violation(s).` : 'No drift: every response conformed.',
    '',
  ];
  if (drift.length) {
    const count = (key: (d: (typeof drift)[number]) => string): string =>
      [...drift.reduce((m, d) => m.set(key(d), (m.get(key(d)) ?? 0) + 1), new Map<string, number>())]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
    out.push(
      `- by rule: ${count((d) => d.rule ?? 'schema')}`,
      `- by operation: ${count((d) => d.operationId)}`,
      '',
      '| operation | status | rule | pointer | expected | actual | case |',
      '|---|---|---|---|---|---|---|',
    );
    for (const d of drift) {
      out.push(
        `| ${d.operationId} | ${d.status} | ${d.rule ?? 'schema'} | \`${cell(d.pointer)}\` | ${cell(d.expected)} | ${cell(d.actual)} | ${cell(d.case)} |`,
      );
    }
  }
  return out.join('\n') + '\n';
}

/**
 * Writes the three reports into `dir`: `junit.xml`, `coverage.json` + `coverage.md`, `drift.json` +
 * `drift.md`. Everything in them was redacted when recorded.
 */
export function writeReports(result: RunResult, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    ['junit.xml', junitXml(result)],
    ['coverage.json', JSON.stringify(coverageJson(result), null, 2) + '\n'],
    ['coverage.md', coverageMarkdown(result)],
    [
      'drift.json',
      JSON.stringify(
        { target: result.target, startedAt: result.startedAt, violations: violationsOf(result) },
        null,
        2,
      ) + '\n',
    ],
    ['drift.md', driftMarkdown(result)],
  ];
  for (const [name, text] of files) writeFileSync(join(dir, name), text);
  return files.map(([name]) => join(dir, name));
}
