import { coverageMarkdown, driftMarkdown } from '../../harness/reports';
import { violationsOf, whyNotExercised } from '../../harness/runner';
import type { CaseResult, RunResult } from '../../harness/types';

const base: RunResult = {
  target: 'unit',
  startedAt: '2026-11-30T00:00:00.000Z',
  durationMs: 1,
  cases: [],
  coverage: {},
  requests: 0,
  negativeCases: 0,
};

const contentType = {
  operationId: 'GetPremise',
  status: 404,
  pointer: 'content-type',
  expected: 'application/problem+json',
  actual: 'text/html',
};

test('drift.md: a summary by rule and operation, then one line per violation', () => {
  const cases: CaseResult[] = [
    {
      name: 'GetPremise: unknown',
      suite: 'negative',
      operationId: 'GetPremise',
      status: 404,
      // The same departure said twice by one case is one line.
      violations: [contentType, { ...contentType, expected: 'a media type the contract declares for 404' }],
      durationMs: 1,
    },
    {
      name: 'ListPremises',
      suite: 'flow',
      operationId: 'ListPremises',
      status: 200,
      violations: [
        {
          operationId: 'ListPremises',
          status: 200,
          pointer: '#/total',
          expected: '1',
          actual: '6',
          rule: 'page-total',
        },
      ],
      durationMs: 1,
    },
  ];
  const result = { ...base, cases };
  expect(violationsOf(result)).toHaveLength(2);
  const md = driftMarkdown(result);
  expect(md).toContain('2 violation(s).');
  expect(md).toContain('- by rule: page-total 1, schema 1');
  expect(md).toContain('- by operation: GetPremise 1, ListPremises 1');
  expect(md.split('\n').filter((l) => l.startsWith('| GetPremise'))).toHaveLength(1);
  expect(md).toMatch(/\| ListPremises \| 200 \| page-total \| `#\/total` \| 1 \| 6 \| ListPremises \|/);
});

test('coverage.md: every pair not exercised carries its reason', () => {
  const result: RunResult = {
    ...base,
    coverage: { MakePayment: { '201': false, '400': true }, GetPremise: { '200': true, '503': false } },
    notExercised: {
      MakePayment: { '201': 'a write operation: needs --allow-writes' },
      GetPremise: { '503': 'a failure of the environment itself' },
    },
  };
  const md = coverageMarkdown(result);
  expect(md).toContain('## Not exercised, and why');
  expect(md).toContain('| MakePayment | 201 | a write operation: needs --allow-writes |');
  expect(md).toContain('| GetPremise | 503 | a failure of the environment itself |');
});

describe('whyNotExercised', () => {
  const real = { isMock: false, stateless: false, canWrite: false };
  const skipped = (operationId: string, skippedReason: string, wouldReach?: number[]): CaseResult => ({
    name: 'x',
    suite: 'security',
    operationId,
    violations: [],
    skipped: skippedReason,
    ...(wouldReach ? { wouldReach } : {}),
    durationMs: 0,
  });

  test('a skipped case names its reason, for the statuses it would have reached', () => {
    const cases = [skipped('GetCustomer', 'needs PROCODE_EXPIRED_ACCESS_TOKEN', [401])];
    expect(whyNotExercised('GetCustomer', 401, cases, real, 'get')).toBe(
      'needs PROCODE_EXPIRED_ACCESS_TOKEN',
    );
    expect(whyNotExercised('GetCustomer', 503, cases, real, 'get')).toMatch(
      /never provoked on a real environment/,
    );
  });

  test('writes on a read-only run, and statuses only a mock gives', () => {
    expect(whyNotExercised('MakePayment', 402, [], real, 'post')).toBe(
      'a write operation: needs --allow-writes',
    );
    expect(whyNotExercised('GetPremise', 429, [], real, 'get')).toMatch(/Prefer: code=/);
  });
});
