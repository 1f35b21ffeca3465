import { randomUUID } from 'node:crypto';
import type { CompiledContract, CompiledOperation, Violation } from '../contract-kit';
import { CONTRACT_DIR, CompiledContract as Compiled, acceptHeaderOf, loadContract } from '../contract-kit';
import { ROUTER, expectContract, routerOperation } from './checks';
import type { Session } from './session';
import type { AdminResult, Expectation, HttpResponse } from './types';
import personas from '../fixtures/personas.json';

type Json = Record<string, unknown>;
const asJson = (res: HttpResponse): Json =>
  res.body && typeof res.body === 'object' && !Array.isArray(res.body) ? (res.body as Json) : {};

let compiled: CompiledContract | undefined;

/** The mock's control-plane contract, `contracts/admin.openapi.yaml`, compiled once per process. */
export function defaultAdminContract(): CompiledContract {
  compiled ??= new Compiled(loadContract(CONTRACT_DIR, 'admin.openapi.yaml'));
  return compiled;
}

/** One request to an admin operation (or, with `path`, to a path that is none). */
interface AdminCall {
  pathParams?: Record<string, string>;
  query?: Record<string, string>;
  json?: unknown;
  /** A raw body, sent as `contentType` (default application/json). */
  raw?: string;
  contentType?: string;
  /** Another Accept than application/json. */
  accept?: string;
  /** Send the admin token (default: when one is set). */
  token?: boolean;
  /** Another method or path than the operation's (the router's 404 and 405). */
  method?: string;
  path?: string;
}

/** An account number in no world the mock generates (its ids are derived from small indexes). */
const UNKNOWN_ACCOUNT = 'A-FFFFFFFF';
/** A fault id that matches the contract's pattern and names no rule. */
const UNKNOWN_FAULT = 'harness-no-such-rule';
const MALFORMED = '{"truncated": ';
/** The admin API's body limit (admin.openapi.yaml `PayloadTooLarge`: 16 MiB, whatever the API's is). */
const ADMIN_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * The admin contract checked against a procode-mock (in-process, `--mock` over HTTP, the container):
 * every operation of `contracts/admin.openapi.yaml` called with a valid request (its 2xx) and with the
 * declared errors that have no side effect (400 for a bad body, query or path parameter, 404 for an
 * unknown account or fault rule, 406 for an Accept without JSON, 413 and 415 for a body too large or
 * not JSON, the router's 404 and 405 under `/__admin`, and 401 for every operation that takes the admin
 * token when the mock has one and the harness knows it), each reply checked with `expectContract`
 * against the admin contract. The mock is left as it was found: the clock is put back, a fault rule
 * acts once and is deleted, the state document is imported back as it was exported, and the journal
 * and fault rules are only cleared when the run's own reset emptied them.
 */
export class AdminSuite {
  /** Why the control plane was not checked (set by `start`). */
  skipped?: string;
  private readonly router: CompiledOperation | undefined;

  constructor(
    private readonly s: Session,
    readonly contract: CompiledContract = defaultAdminContract(),
  ) {
    this.router = routerOperation(contract);
  }

  private op(operationId: string): CompiledOperation {
    return operationId === ROUTER && this.router ? this.router : this.contract.get(operationId);
  }

  private pathOf(op: CompiledOperation, call: AdminCall): string {
    let path =
      call.path ??
      op.spec.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
        const value = call.pathParams?.[name];
        if (value === undefined) throw new Error(`${op.spec.operationId}: no value for ${name}`);
        return encodeURIComponent(value);
      });
    if (call.query && Object.keys(call.query).length)
      path += '?' + new URLSearchParams(call.query).toString();
    return path;
  }

  /** Records an answer already received as a case of the admin contract. */
  private judge(
    name: string,
    operationId: string,
    res: HttpResponse,
    expectation: Expectation,
    extra: (res: HttpResponse) => Violation[] = () => [],
    started = performance.now(),
  ): HttpResponse {
    const violations = [...expectContract(this.op(operationId), res, expectation)];
    // Behaviour is judged only on a conforming answer of the expected status.
    if (violations.length === 0) violations.push(...extra(res));
    this.s.record({
      name,
      suite: 'admin',
      contract: 'admin',
      operationId,
      status: res.status,
      violations,
      durationMs: performance.now() - started,
    });
    return res;
  }

  /** Sends one admin request and records it as a case: it must conform and meet `expectation`. */
  private async check(
    name: string,
    operationId: string,
    call: AdminCall,
    expectation: Expectation,
    extra?: (res: HttpResponse) => Violation[],
  ): Promise<HttpResponse> {
    const op = this.op(operationId);
    const started = performance.now();
    const res = await this.s.admin(call.method ?? op.spec.method.toUpperCase(), this.pathOf(op, call), {
      json: call.json,
      raw: call.raw,
      contentType: call.contentType,
      accept: call.accept ?? acceptHeaderOf(op),
      token: call.token,
    });
    return this.judge(name, operationId, res, expectation, extra, started);
  }

  private skip(name: string, operationId: string, reason: string): void {
    this.s.record({
      name,
      suite: 'admin',
      contract: 'admin',
      operationId,
      violations: [],
      skipped: reason,
      durationMs: 0,
    });
  }

  private expect(
    operationId: string,
    status: number,
    pointer: string,
    expected: string,
    actual: unknown,
  ): Violation {
    return { operationId, status, pointer, expected, actual: JSON.stringify(actual) ?? 'undefined' };
  }

  /**
   * Right after the run's reset: is there a control plane (`GET /__admin`), and the reset itself
   * (ResetMock) and ClearRequests, which cost nothing while the mock is freshly reset.
   */
  async start(): Promise<void> {
    const { s } = this;
    const index = await s.admin('GET', '/__admin');
    if (index.status === 404) {
      this.skipped =
        '/__admin answers 404: not a procode-mock, or one started with --admin off (PROCODE_ADMIN=false)';
      this.skip('the admin contract', 'GetAdminIndex', this.skipped);
      return;
    }
    if (index.status === 401) {
      this.judge('GetAdminIndex: the admin token', 'GetAdminIndex', index, { statuses: [401] });
      this.skipped = s.target.credentials.adminToken
        ? 'the mock refused PROCODE_ADMIN_TOKEN'
        : 'the mock protects /__admin: set PROCODE_ADMIN_TOKEN';
      this.skip('the admin contract', 'GetAdminIndex', this.skipped);
      return;
    }
    const declared = [...this.contract.operations.keys()];
    this.judge('GetAdminIndex: the admin operations', 'GetAdminIndex', index, { statuses: [200] }, (r) => {
      const listed = ((asJson(r).operations as Json[] | undefined) ?? []).map((o) => o.operationId);
      return listed.join() === declared.join()
        ? []
        : [this.expect('GetAdminIndex', r.status, '#/operations', declared.join(', '), listed)];
    });
    if (s.resetResponse) {
      this.judge('ResetMock: the reset before the run', 'ResetMock', s.resetResponse, { statuses: [204] });
      await this.check(
        'ClearRequests: the journal, empty after the reset',
        'ClearRequests',
        {},
        {
          statuses: [204],
        },
      );
    } else {
      this.skip('ResetMock', 'ResetMock', "the mock's state is kept (a reset needs --reset)");
      this.skip(
        'ClearRequests',
        'ClearRequests',
        "the mock's request journal is kept (clearing it needs --reset)",
      );
    }
  }

  /** Everything else, at the end of the run, when the journal, outbox and state hold the run's traces. */
  async run(): Promise<void> {
    if (this.skipped) return;
    const { s } = this;
    if (s.target.credentials.adminToken) await this.unauthorized();
    await this.check('GetHealth', 'GetHealth', {}, { statuses: [200] });
    const accountNumber = await this.personas();
    await this.check(
      'GetCertificate: PEM over TLS, 404 over plain HTTP',
      'GetCertificate',
      {},
      {
        statuses: [200, 404],
      },
    );
    await this.outbox();
    await this.tokens(accountNumber);
    await this.clock();
    await this.faults();
    await this.journal();
    await this.state();
    await this.malformedBodies();
    await this.negotiation();
    if (this.router) {
      await this.check(
        'an unknown path under /__admin',
        ROUTER,
        { method: 'GET', path: '/__admin/harness-no-such-operation' },
        { statuses: [404] },
      );
      await this.check(
        'POST on /__admin/health: 405 with Allow',
        ROUTER,
        { method: 'POST', path: '/__admin/health' },
        { statuses: [405], header: 'Allow' },
      );
    }
  }

  /** Path parameters that name nothing (every admin path parameter is a fault id). */
  private static nothing(op: CompiledOperation): Record<string, string> {
    return Object.fromEntries(
      op.spec.parameters.filter((p) => p.in === 'path').map((p) => [p.name, UNKNOWN_FAULT]),
    );
  }

  /**
   * 401 for every operation that takes the admin token (`security` with `adminToken`; GetHealth is open
   * to probes), sent without it: refused before anything is read.
   */
  private async unauthorized(): Promise<void> {
    for (const op of this.contract.operations.values()) {
      if (!op.spec.requiresBearer) continue;
      const pathParams = AdminSuite.nothing(op);
      await this.check(
        `${op.spec.operationId}: no admin token`,
        op.spec.operationId,
        { pathParams, token: false },
        { statuses: [401], header: 'WWW-Authenticate' },
      );
    }
  }

  /** ListPersonas; its secrets are redacted from then on. @returns the run's account number. */
  private async personas(): Promise<string> {
    const { s } = this;
    const res = await this.check('ListPersonas', 'ListPersonas', {}, { statuses: [200] });
    const body = asJson(res);
    for (const k of ['subscriptionKey', 'clientSecret']) s.redactor.add(body[k] as string | undefined);
    const list = Array.isArray(body.personas) ? (body.personas as Json[]) : [];
    for (const p of list) {
      s.redactor.add(p.password as string | undefined);
      s.redactor.add(p.username as string | undefined);
    }
    const username = s.target.credentials.username?.toLowerCase();
    const mine = [...list, ...personas.personas].find(
      (p) => typeof p.username === 'string' && p.username.toLowerCase() === username,
    );
    return (
      s.ctx.accountNumber ??
      (mine?.accountNumber as string | undefined) ??
      personas.personas.find((p) => p.id === 'basic')!.accountNumber
    );
  }

  private async outbox(): Promise<void> {
    const { s } = this;
    const all = await this.check('ListOutbox: every code sent', 'ListOutbox', {}, { statuses: [200] });
    if (Array.isArray(all.body))
      for (const m of all.body as Json[]) s.redactor.add(m.code as string | undefined);
    await this.check(
      'ListOutbox: one challenge',
      'ListOutbox',
      { query: { otpId: s.ctx.otpId ?? randomUUID() } },
      { statuses: [200] },
    );
    await this.check(
      'ListOutbox: otpId not a UUID',
      'ListOutbox',
      { query: { otpId: 'not-a-uuid' } },
      // otpId is a repeatable (array) parameter: the error names the value, the first.
      { statuses: [400], pointer: { in: 'query', pointer: '#/otpId/0' } },
    );
  }

  private async tokens(accountNumber: string): Promise<void> {
    await this.check(
      "GetExpiredToken: the run's account",
      'GetExpiredToken',
      { query: { accountNumber } },
      { statuses: [200] },
    );
    await this.check(
      'GetExpiredToken: accountNumber breaks its pattern',
      'GetExpiredToken',
      { query: { accountNumber: 'nobody' } },
      { statuses: [400], pointer: { in: 'query', pointer: '#/accountNumber' } },
    );
    await this.check(
      'GetExpiredToken: an account not in this world',
      'GetExpiredToken',
      { query: { accountNumber: UNKNOWN_ACCOUNT } },
      { statuses: [404] },
    );
    await this.check(
      "IssueToken: a minute's token for the run's account",
      'IssueToken',
      { json: { accountNumber, scope: 'customer', expiresIn: 60 } },
      { statuses: [201] },
      (r) =>
        asJson(r).expires_in === 60 && asJson(r).scope === 'customer'
          ? []
          : [this.expect('IssueToken', r.status, '#/expires_in', '60 (as asked)', asJson(r).expires_in)],
    );
    await this.check(
      'IssueToken: expiresIn 0',
      'IssueToken',
      { json: { accountNumber, expiresIn: 0 } },
      { statuses: [400], pointer: { in: 'body', pointer: '#/expiresIn' } },
    );
    await this.check(
      'IssueToken: an account not in this world',
      'IssueToken',
      { json: { accountNumber: UNKNOWN_ACCOUNT } },
      { statuses: [404] },
    );
  }

  /** The clock is frozen, moved and reset, then put back as it was found. */
  private async clock(): Promise<void> {
    const found = asJson(await this.check('GetClock', 'GetClock', {}, { statuses: [200] }));
    const now = typeof found.now === 'string' ? found.now : new Date().toISOString();
    const frozen = await this.check(
      "SetClock: freeze at the mock's own now",
      'SetClock',
      { json: { now } },
      { statuses: [200] },
      (r) =>
        asJson(r).mode === 'frozen' && asJson(r).now === now
          ? []
          : [this.expect('SetClock', r.status, '#', `frozen at ${now}`, asJson(r))],
    );
    const at = Date.parse(String(asJson(frozen).now));
    await this.check(
      'AdvanceClock: 1.5 seconds',
      'AdvanceClock',
      { json: { seconds: 1.5 } },
      { statuses: [200] },
      (r) =>
        Date.parse(String(asJson(r).now)) === at + 1500 && asJson(r).mode === 'frozen'
          ? []
          : [
              this.expect(
                'AdvanceClock',
                r.status,
                '#/now',
                new Date(at + 1500).toISOString(),
                asJson(r).now,
              ),
            ],
    );
    await this.check(
      'SetClock: now not a date-time',
      'SetClock',
      { json: { now: 'yesterday' } },
      { statuses: [400], pointer: { in: 'body', pointer: '#/now' } },
    );
    await this.check(
      'AdvanceClock: 0 seconds',
      'AdvanceClock',
      { json: { seconds: 0 } },
      { statuses: [400], pointer: { in: 'body', pointer: '#/seconds' } },
    );
    await this.check('ResetClock: back to the system clock', 'ResetClock', {}, { statuses: [200] }, (r) =>
      asJson(r).mode === 'system' && asJson(r).offsetSeconds === 0
        ? []
        : [this.expect('ResetClock', r.status, '#', 'mode system, offsetSeconds 0', asJson(r))],
    );
    // As found: a frozen clock is frozen again at its instant; one running ahead is moved ahead again.
    if (found.mode === 'frozen') {
      await this.check('SetClock: as it was found', 'SetClock', { json: { now } }, { statuses: [200] });
    } else if (
      found.mode === 'offset' &&
      typeof found.offsetSeconds === 'number' &&
      found.offsetSeconds > 0
    ) {
      await this.check(
        'AdvanceClock: as it was found',
        'AdvanceClock',
        { json: { seconds: found.offsetSeconds } },
        { statuses: [200] },
      );
    }
  }

  /**
   * Fault rules that act once: the gateway's own 429, 500 and 503 on GetCustomer (checked against the
   * API contract), each rule deleted at once; the errors of AddFault and DeleteFault.
   */
  private async faults(): Promise<void> {
    const { s } = this;
    const found = asJson(await this.check('ListFaults', 'ListFaults', {}, { statuses: [200] }));
    const hadRules = Array.isArray(found.items) && found.items.length > 0;
    for (const gateway of ['429', '500', '503']) {
      // Only the run's own account: a developer's calls to the same mock are not touched.
      const rule = {
        operationId: 'GetCustomer',
        gateway,
        times: 1,
        ...(s.ctx.accountNumber ? { accountNumber: s.ctx.accountNumber } : {}),
      };
      const added = asJson(
        await this.check(
          `AddFault: the gateway's ${gateway} on the next GetCustomer`,
          'AddFault',
          { json: rule },
          { statuses: [201] },
          (r) => {
            const b = asJson(r);
            return b.gateway === gateway &&
              b.remaining === 1 &&
              r.headers.location?.endsWith(`/${String(b.faultId)}`)
              ? []
              : [this.expect('AddFault', r.status, '#', `the rule as added, remaining 1, at Location`, b)];
          },
        ),
      );
      if (typeof added.faultId !== 'string') continue;
      await s.check(
        `GetCustomer: the gateway's ${gateway} (a fault rule of /__admin/faults)`,
        'scenario',
        'GetCustomer',
        {},
        { statuses: [Number(gateway)] },
      );
      await this.check(
        'ListFaults: the spent rule stays listed, remaining 0',
        'ListFaults',
        {},
        { statuses: [200] },
        (r) => {
          const items = Array.isArray(asJson(r).items) ? (asJson(r).items as Json[]) : [];
          const rule = items.find((x) => x.faultId === added.faultId);
          return rule?.matched === 1 && rule.remaining === 0
            ? []
            : [
                this.expect(
                  'ListFaults',
                  r.status,
                  '#/items',
                  `${String(added.faultId)} matched 1, remaining 0`,
                  rule,
                ),
              ];
        },
      );
      await this.check(
        'DeleteFault: the spent rule',
        'DeleteFault',
        { pathParams: { faultId: added.faultId } },
        { statuses: [204] },
      );
    }
    await this.check(
      'AddFault: an unknown field',
      'AddFault',
      { json: { operationId: 'GetCustomer', status: 503, unexpectedField: 'x' } },
      { statuses: [400], pointer: { in: 'body', pointer: '#/unexpectedField' } },
    );
    await this.check(
      'AddFault: a status the operation does not declare',
      'AddFault',
      { json: { operationId: 'GetCustomer', status: 418 } },
      { statuses: [400] },
    );
    await this.check(
      'DeleteFault: no such rule',
      'DeleteFault',
      { pathParams: { faultId: UNKNOWN_FAULT } },
      { statuses: [404] },
    );
    await this.check(
      'DeleteFault: faultId breaks its pattern',
      'DeleteFault',
      { pathParams: { faultId: 'not_a_fault_id' } },
      { statuses: [400], pointer: { in: 'path', pointer: '#/faultId' } },
    );
    if (hadRules) {
      this.skip('ClearFaults', 'ClearFaults', 'the mock has fault rules of its own; they are kept');
    } else {
      await this.check('ClearFaults: no rules to clear', 'ClearFaults', {}, { statuses: [204] });
    }
  }

  private async journal(): Promise<void> {
    await this.check("ListRequests: the run's requests", 'ListRequests', {}, { statuses: [200] });
    await this.check(
      'ListRequests: limit 0',
      'ListRequests',
      { query: { limit: '0' } },
      { statuses: [400], pointer: { in: 'query', pointer: '#/limit' } },
    );
    await this.check(
      'CountRequests: GetCustomer calls',
      'CountRequests',
      { query: { operationId: 'GetCustomer' } },
      { statuses: [200] },
    );
    await this.check(
      'CountRequests: status not a number',
      'CountRequests',
      { query: { status: 'abc' } },
      { statuses: [400], pointer: { in: 'query', pointer: '#/status' } },
    );
  }

  /** The state is exported and the same document imported back, so nothing changes. */
  private async state(): Promise<void> {
    const doc = await this.check('GetState: what the run changed', 'GetState', {}, { statuses: [200] });
    if (doc.status !== 200) return;

    const exported = asJson(doc);
    const count = (k: string): number => (Array.isArray(exported[k]) ? (exported[k] as unknown[]).length : 0);
    if (!this.s.fresh) {
      // Between the export and the import, someone else's payment would be lost.
      this.skip(
        'PutState: the exported document, back as it was',
        'PutState',
        'replaces the state of a mock others use: needs --reset',
      );
    } else
      await this.check(
        'PutState: the exported document, back as it was',
        'PutState',
        { json: exported },
        { statuses: [200] },
        (r) => {
          const want = {
            registrations: count('registrations'),
            payments: count('payments'),
            balances: count('balances'),
          };
          return JSON.stringify(asJson(r)) === JSON.stringify(want)
            ? []
            : [this.expect('PutState', r.status, '#', JSON.stringify(want), asJson(r))];
        },
      );
    await this.check(
      'PutState: another document format',
      'PutState',
      { json: { ...exported, format: 'other' } },
      { statuses: [400], pointer: { in: 'body', pointer: '#/format' } },
    );
  }

  /** 400 malformed-json for every operation that takes a body (nothing changes). */
  private async malformedBodies(): Promise<void> {
    for (const op of this.contract.operations.values()) {
      if (!op.spec.requestBody) continue;
      await this.check(
        `${op.spec.operationId}: malformed JSON`,
        op.spec.operationId,
        { raw: MALFORMED },
        { statuses: [400] },
      );
    }
  }

  /**
   * 406 for every operation asked for HTML; 415 and 413 for every body that is not JSON or is over the
   * admin limit. The pipeline refuses them before authentication, parsing or the handler: nothing changes.
   */
  private async negotiation(): Promise<void> {
    let tooLarge: string | undefined;
    for (const op of this.contract.operations.values()) {
      const { operationId } = op.spec;
      const pathParams = AdminSuite.nothing(op);
      if (op.spec.responses.has(406)) {
        await this.check(
          `${operationId}: Accept text/html`,
          operationId,
          { pathParams, accept: 'text/html' },
          { statuses: [406] },
        );
      }
      if (!op.spec.requestBody) continue;
      if (op.spec.responses.has(415)) {
        await this.check(
          `${operationId}: Content-Type text/plain`,
          operationId,
          { pathParams, raw: '{}', contentType: 'text/plain' },
          { statuses: [415] },
        );
      }
      if (op.spec.responses.has(413)) {
        tooLarge ??= JSON.stringify({ padding: 'x'.repeat(ADMIN_BODY_LIMIT_BYTES) });
        await this.check(
          `${operationId}: body over 16 MiB`,
          operationId,
          { pathParams, raw: tooLarge },
          { statuses: [413] },
        );
      }
    }
  }

  /** The admin contract's coverage from the cases recorded against it. */
  result(): AdminResult {
    const coverage: AdminResult['coverage'] = {};
    for (const op of this.contract.operations.values()) {
      coverage[op.spec.operationId] = Object.fromEntries(
        [...op.spec.responses.keys()].map((st) => [String(st), false]),
      );
    }
    const router: AdminResult['router'] = Object.fromEntries(
      [...(this.router?.spec.responses.keys() ?? [])].map((st) => [String(st), false]),
    );
    for (const c of this.s.cases) {
      if (c.contract !== 'admin' || c.status === undefined) continue;
      const row = c.operationId === ROUTER ? router : coverage[c.operationId];
      if (row && String(c.status) in row) row[String(c.status)] = true;
    }
    return { coverage, router, ...(this.skipped ? { skipped: this.skipped } : {}) };
  }
}
