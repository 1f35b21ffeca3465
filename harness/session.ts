import { randomUUID } from 'node:crypto';
import type { CompiledContract, CompiledOperation, Violation } from '../contract-kit';
import { acceptHeaderOf } from '../contract-kit';
import { expectContract } from './checks';
import { Transport } from './http';
import { Redactor } from './redact';
import { SemanticMemory, checkSemantics } from './semantics';
import type { CaseResult, Expectation, HttpResponse, Target } from './types';

/** What the positive flow learned, for later requests (ids are taken from earlier responses). */
export interface FlowContext {
  accessToken?: string;
  refreshToken?: string;
  scope?: string;
  customerId?: string;
  accountNumber?: string;
  premiseId?: string;
  servicePointId?: string;
  /** A prepayment meter of the caller's. */
  deviceId?: string;
  /** A device of the caller's that is not a prepayment meter (CHF, IHD, a credit meter). */
  otherDeviceId?: string;
  paymentId?: string;
  otpId?: string;
  /** A list of devices was walked page by page (once a run). */
  walkedDevices?: boolean;
}

/** How to build one request to an operation. */
export interface RequestSpec {
  pathParams?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** A JSON value (serialised), or a raw string with `contentType`. */
  json?: unknown;
  raw?: string;
  contentType?: string;
  /** Bearer token to send: the flow's by default, `null` for none. */
  bearer?: string | null;
  /** Send the subscription key (default true). */
  key?: boolean;
  /** Another method than the operation's (405 checks). */
  method?: string;
}

/** One run against one target: the transport, the redactor, the recorded cases. */
export class Session {
  readonly transport: Transport;
  readonly redactor = new Redactor();
  readonly cases: CaseResult[] = [];
  readonly ctx: FlowContext = {};
  /** What the semantic rules remember between answers (list items, fuels, the login name). */
  readonly memory = new SemanticMemory();
  negativeCases = 0;
  /** The answer to the reset before the run (`POST /__admin/reset`), checked by the admin suite. */
  resetResponse?: HttpResponse;
  /**
   * The run owns the target's state: an in-process mock, or one reset for this run. Otherwise (a running
   * mock kept as it was) cases that would change it for everyone else are skipped.
   */
  fresh = false;

  constructor(
    readonly target: Target,
    readonly contract: CompiledContract,
    private readonly log: (line: string) => void,
  ) {
    this.transport = new Transport(target);
    const c = target.credentials;
    for (const secret of [
      c.subscriptionKey,
      c.clientSecret,
      c.password,
      c.username,
      c.accessToken,
      c.expiredAccessToken,
      c.adminToken,
    ]) {
      this.redactor.add(secret);
    }
  }

  op(operationId: string): CompiledOperation {
    return this.contract.get(operationId);
  }

  /** Sends a request to `operationId` built from `spec`. */
  async send(operationId: string, spec: RequestSpec = {}): Promise<HttpResponse> {
    const op = this.op(operationId);
    let path = op.spec.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
      const value = spec.pathParams?.[name];
      if (value === undefined) throw new Error(`${operationId}: no value for path parameter ${name}`);
      return encodeURIComponent(value);
    });
    if (spec.query && Object.keys(spec.query).length)
      path += '?' + new URLSearchParams(spec.query).toString();
    const headers: Record<string, string> = {
      Accept: acceptHeaderOf(op),
      'X-Request-ID': `procode-contract-${randomUUID()}`,
      ...(spec.headers ?? {}),
    };
    if (spec.key !== false) headers['Ocp-Apim-Subscription-Key'] = this.target.credentials.subscriptionKey;
    const bearer = spec.bearer === undefined ? this.ctx.accessToken : spec.bearer;
    if (bearer && op.spec.requiresBearer) headers.Authorization = `Bearer ${bearer}`;
    let body: string | undefined;
    if (spec.raw !== undefined) {
      body = spec.raw;
      if (spec.contentType) headers['Content-Type'] = spec.contentType;
    } else if (spec.json !== undefined) {
      body = JSON.stringify(spec.json);
      headers['Content-Type'] = spec.contentType ?? 'application/json';
    }
    const res = await this.transport.send({
      method: spec.method ?? op.spec.method.toUpperCase(),
      path,
      headers,
      body,
    });
    // A stateless mock answers from examples and cannot echo; everything else must.
    if (!this.target.stateless) res.requestId = headers['X-Request-ID'];
    this.learnSecrets(res);
    return res;
  }

  /**
   * Sends a request to a procode-mock's control plane (`contracts/admin.openapi.yaml`): no subscription
   * key; `Authorization: Bearer <PROCODE_ADMIN_TOKEN>` when one is set, unless `token` is false.
   * @param path the path with its query string, e.g. `/__admin/outbox?otpId=...`.
   */
  async admin(
    method: string,
    path: string,
    opts: { json?: unknown; raw?: string; contentType?: string; token?: boolean; accept?: string } = {},
  ): Promise<HttpResponse> {
    const headers: Record<string, string> = {
      Accept: opts.accept ?? 'application/json',
      'X-Request-ID': `procode-contract-${randomUUID()}`,
    };
    const { adminToken } = this.target.credentials;
    if (adminToken && opts.token !== false) headers.Authorization = `Bearer ${adminToken}`;
    let body: string | undefined;
    if (opts.raw !== undefined) {
      body = opts.raw;
      headers['Content-Type'] = opts.contentType ?? 'application/json';
    } else if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['Content-Type'] = 'application/json';
    }
    const res = await this.transport.send({ method, path, headers, body });
    res.requestId = headers['X-Request-ID'];
    this.learnSecrets(res);
    return res;
  }

  /** Secrets seen in answers (tokens) are redacted from everything written later. */
  private learnSecrets(res: HttpResponse): void {
    const b = res.body as Record<string, unknown> | undefined;
    if (b && typeof b === 'object') {
      for (const k of ['access_token', 'refresh_token'])
        if (typeof b[k] === 'string') this.redactor.add(b[k] as string);
    }
  }

  /** Sends a request and records a case: the response must conform and meet `expectation`. */
  async check(
    name: string,
    suite: CaseResult['suite'],
    operationId: string,
    spec: RequestSpec,
    expectation: Expectation = {},
    extra: (res: HttpResponse) => Violation[] = () => [],
  ): Promise<HttpResponse> {
    const started = performance.now();
    const bearer = spec.bearer === undefined ? this.ctx.accessToken : (spec.bearer ?? undefined);
    const res = await this.send(operationId, spec);
    const op = this.op(operationId);
    const violations = [...expectContract(op, res, expectation), ...extra(res)];
    // What the answer means: a stateless mock's examples name nothing that was asked for.
    if (!this.target.stateless && spec.method === undefined)
      violations.push(
        ...checkSemantics(
          { op, pathParams: spec.pathParams ?? {}, query: spec.query ?? {}, bearer, res },
          this.memory,
        ),
      );
    this.record({
      name,
      suite,
      operationId,
      status: res.status,
      violations,
      durationMs: performance.now() - started,
    });
    return res;
  }

  /** Records a case that did not run, with the reason. */
  skip(
    name: string,
    suite: CaseResult['suite'],
    operationId: string,
    reason: string,
    wouldReach?: number[],
  ): void {
    this.record({
      name,
      suite,
      operationId,
      violations: [],
      skipped: reason,
      ...(wouldReach ? { wouldReach } : {}),
      durationMs: 0,
    });
  }

  /** Records a finished case (redacting what it says) and prints one line. */
  record(result: CaseResult): void {
    const safe: CaseResult = {
      ...result,
      name: this.redactor.text(result.name),
      violations: result.violations.map((v) => ({
        ...v,
        expected: this.redactor.text(v.expected),
        actual: this.redactor.atPointer(v.pointer, v.actual),
      })),
    };
    this.cases.push(safe);
    const mark = safe.skipped ? 'skip' : safe.violations.length ? 'FAIL' : 'ok  ';
    this.log(
      `${mark} [${safe.suite}] ${safe.name}${safe.status ? ` -> ${safe.status}` : ''}${safe.skipped ? ` (${safe.skipped})` : ''}`,
    );
    for (const v of safe.violations)
      this.log(
        `       ${v.operationId} ${v.status} ${v.pointer}${v.rule ? ` [${v.rule}]` : ''}: expected ${v.expected}, got ${v.actual}`,
      );
  }
}
