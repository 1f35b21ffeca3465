import { timingSafeEqual } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Services, Reply, HandlerContext } from '../handlers/context';
import { json } from '../handlers/context';
import type { CompiledContract, CompiledOperation } from '../../contract-kit';
import { isoTimestamp } from '../clock';
import { subjectOf } from '../handlers/customers';
import { SCOPE_CUSTOMER } from '../auth/tokens';
import { PROBLEMS, problem } from '../problem';
import { buildRouter } from '../router';
import type { HandlerEntry } from '../handlers/context';
import type { Violation } from '../../contract-kit';
import type { WireReply } from '../reply';
import type { FaultRuleInput } from '../scenario/faults';
import type { JournalFilter } from '../scenario/journal';
import { exportState, importState } from '../scenario/state';
import type { StateDocument } from '../scenario/state';
import { personasWithIds } from './personas';
import personas from '../../fixtures/personas.json';

/** Where the admin API's contract is served (the live docs bundle it beside the API's). */
export const ADMIN_CONTRACT_URL = '/docs/admin.openapi.json';

/** The latest instant the mock's clock may show (RFC 3339 has four-digit years). */
const LATEST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

/** Largest admin request body (a whole state document), in bytes. */
export const ADMIN_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

/** The admin API's answer to a missing or wrong admin token (RFC 6750 section 3). */
const ADMIN_CHALLENGE = 'Bearer realm="procode-admin"';

/** What the admin API needs besides the services. */
export interface AdminOptions {
  /** The Procode API's compiled contract (fault rules are checked against it). */
  api: CompiledContract;
  /** The admin API's own compiled contract (`contracts/admin.openapi.yaml`). */
  admin: CompiledContract;
  /** The PEM certificate served over HTTPS, if any. */
  certificate?: string;
  onViolation: (violations: Violation[], reply: WireReply) => void;
  onInternalError: (err: unknown) => void;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The journal filters of `GET /__admin/requests` and `/count`, from the validated query. */
function filterOf(query: Record<string, unknown>): JournalFilter {
  return {
    ...(typeof query.operationId === 'string' ? { operationId: query.operationId } : {}),
    ...(typeof query.status === 'number' ? { status: query.status } : {}),
    ...(typeof query.accountNumber === 'string' ? { accountNumber: query.accountNumber } : {}),
    ...(typeof query.since === 'string' ? { since: Date.parse(query.since) } : {}),
  };
}

/** An account with online access, by account number. @throws Problem not-found (404). */
async function subjectFor(services: Services, accountNumber: unknown) {
  const index =
    typeof accountNumber === 'string' ? services.world.findAccountByNumber(accountNumber) : undefined;
  const subject = index === undefined ? undefined : await subjectOf(services, index);
  if (!subject) {
    throw problem(
      PROBLEMS.NOT_FOUND,
      `No account ${String(accountNumber)} with online access in this world; GET /__admin/personas lists some, and Register gives an account online access.`,
    );
  }
  return subject;
}

/**
 * The admin handlers, keyed by the operationIds of `contracts/admin.openapi.yaml`; like the API's, each
 * is a plain function of its validated context (architecture.md "The mock as a pipeline").
 */
function adminHandlers(services: Services, options: AdminOptions): Record<string, HandlerEntry> {
  const startedAt = isoTimestamp(services.clock.now());
  const { store, clock, tokens } = services;
  const h = (handle: (ctx: HandlerContext) => Reply | Promise<Reply>): HandlerEntry => ({ handle });
  const storeless = (handle: (ctx: HandlerContext) => Reply | Promise<Reply>): HandlerEntry => ({
    handle,
    storeless: true,
  });
  return {
    GetAdminIndex: h(() =>
      json(200, {
        name: 'procode-mock admin',
        contract: ADMIN_CONTRACT_URL,
        apiContract: '/docs/openapi.json',
        docs: '/docs',
        operations: [...options.admin.operations.values()].map((op) => ({
          operationId: op.spec.operationId,
          method: op.spec.method.toUpperCase(),
          path: op.spec.path,
          summary: op.spec.summary,
        })),
      }),
    ),
    GetHealth: storeless(() =>
      json(200, {
        status: 'ok',
        startedAt,
        seed: services.config.seed,
        accounts: services.config.accounts,
        operations: options.api.operations.size,
        store: store.health(),
      }),
    ),
    ListOutbox: h(async (ctx) => {
      const list = (v: unknown): string[] | undefined =>
        v === undefined ? undefined : (Array.isArray(v) ? v : [v]).map(String);
      // `+` in a query string decodes to a space: `?to=+447700900123` as typed means the E.164 number.
      const to = list(ctx.query.to)?.map((t) => t.replace(/^ /, '+'));
      const otpId = list(ctx.query.otpId);
      return json(200, await store.outbox({ ...(to ? { to } : {}), ...(otpId ? { otpId } : {}) }));
    }),
    ResetMock: h(async () => {
      await store.reset();
      services.random.reset();
      clock.resume();
      return { status: 204 };
    }),
    GetCertificate: h(() => {
      if (!options.certificate) {
        throw problem(
          PROBLEMS.NOT_FOUND,
          'The mock is serving plain HTTP; start it with --tls for a certificate.',
        );
      }
      return { status: 200, contentType: 'application/x-pem-file', body: options.certificate };
    }),
    GetExpiredToken: h(async (ctx) => {
      const subject = await subjectFor(services, ctx.query.accountNumber);
      return json(200, {
        access_token: await tokens.accessToken(subject, SCOPE_CUSTOMER, -3600),
        token_type: 'Bearer',
      });
    }),
    IssueToken: h(async (ctx) => {
      const body = ctx.body as { accountNumber: string; scope?: string; expiresIn?: number };
      const subject = await subjectFor(services, body.accountNumber);
      return json(201, await tokens.issue(subject, body.scope ?? SCOPE_CUSTOMER, body.expiresIn), {
        'Cache-Control': 'no-store',
      });
    }),
    ListPersonas: h(() => json(200, { ...personasFile(), personas: personasWithIds(services) })),
    GetClock: h(() => json(200, clock.state())),
    SetClock: h(async (ctx) => {
      const at = Date.parse((ctx.body as { now: string }).now);
      if (!Number.isFinite(at) || at < 0 || at > LATEST_INSTANT) {
        throw problem(PROBLEMS.VALIDATION_ERROR, 'now must be an RFC 3339 date-time from 1970 to 9999.', {
          errors: [
            { in: 'body', pointer: '#/now', detail: 'must be an RFC 3339 date-time from 1970 to 9999' },
          ],
        });
      }
      const before = clock.now();
      clock.freeze(at);
      await store.saveClock(clock.snapshot());
      if (at < before) await store.clearTimeWindows();
      return json(200, clock.state());
    }),
    AdvanceClock: h(async (ctx) => {
      const { seconds } = ctx.body as { seconds: number };
      if (clock.now() + seconds * 1000 > LATEST_INSTANT) {
        throw problem(PROBLEMS.VALIDATION_ERROR, 'seconds would move the clock past the year 9999.', {
          errors: [
            {
              in: 'body',
              pointer: '#/seconds',
              detail: 'would move the clock past 9999-12-31T23:59:59.999Z',
            },
          ],
        });
      }
      clock.advance(seconds);
      await store.saveClock(clock.snapshot());
      return json(200, clock.state());
    }),
    ResetClock: h(async () => {
      const before = clock.now();
      clock.resume();
      await store.saveClock(clock.snapshot());
      if (clock.now() < before) await store.clearTimeWindows();
      return json(200, clock.state());
    }),
    ListFaults: h(async () => json(200, { items: await store.faults() })),
    AddFault: h(async (ctx) => {
      const rule = await store.addFault(ctx.body as FaultRuleInput, options.api, clock.now());
      return json(201, rule, { Location: `/__admin/faults/${rule.faultId}` });
    }),
    DeleteFault: h(async (ctx) => {
      if (!(await store.removeFault(String(ctx.params.faultId)))) {
        throw problem(
          PROBLEMS.NOT_FOUND,
          `No fault rule ${String(ctx.params.faultId)}; GET /__admin/faults lists them.`,
        );
      }
      return { status: 204 };
    }),
    ClearFaults: h(async () => {
      await store.clearFaults();
      return { status: 204 };
    }),
    ListRequests: h(async (ctx) =>
      json(
        200,
        await store.journalQuery(filterOf(ctx.query), (ctx.query.limit as number | undefined) ?? 100),
      ),
    ),
    CountRequests: h(async (ctx) => json(200, { count: await store.journalCount(filterOf(ctx.query)) })),
    ClearRequests: h(async () => {
      await store.clearJournal();
      return { status: 204 };
    }),
    GetState: h(async () => json(200, await exportState(services))),
    PutState: h(async (ctx) => json(200, await importState(services, ctx.body as StateDocument))),
  };
}

/** The credentials part of `fixtures/personas.json`. */
function personasFile() {
  return {
    subscriptionKey: personas.subscriptionKey,
    clientId: personas.clientId,
    clientSecret: personas.clientSecret,
    paymentTokens: personas.paymentTokens,
  };
}

/**
 * The mock's control plane under `/__admin` (WireMock's admin API, with its own contract,
 * `contracts/admin.openapi.yaml`): every request is validated and every reply self-checked against it,
 * through the same pipeline as the API. No subscription key; when `config.adminToken` is set, every
 * operation needs `Authorization: Bearer <admin token>` (401 otherwise). An unknown path under
 * `/__admin` is 404 problem `not-found` pointing to the index, `GET /__admin`.
 */
export function buildAdminRouter(services: Services, options: AdminOptions): RequestHandler {
  const router = express.Router();
  const { adminToken } = services.config;
  router.use(
    buildRouter({
      contract: options.admin,
      handlers: adminHandlers(services, options),
      services,
      resolvePrincipal: () => undefined,
      bodyLimitBytes: Math.max(ADMIN_BODY_LIMIT_BYTES, services.config.bodyLimitBytes),
      onViolation: options.onViolation,
      onInternalError: options.onInternalError,
      authenticate: async (req: Request, op: CompiledOperation) => {
        // `security: []` (GetHealth) is open to everyone, as the contract says.
        if (adminToken === undefined || op.spec.security.length === 0) return undefined;
        const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
        if (!m || !same(m[1]!, adminToken)) {
          throw problem(
            PROBLEMS.UNAUTHORIZED,
            'This mock protects /__admin: send Authorization: Bearer <the PROCODE_ADMIN_TOKEN it was started with>.',
            {},
            { 'WWW-Authenticate': ADMIN_CHALLENGE },
          );
        }
        return undefined;
      },
    }),
  );
  router.use((req: Request, _res: Response, next: NextFunction) => {
    next(
      problem(
        PROBLEMS.NOT_FOUND,
        `No admin operation at ${req.method} ${req.path}; GET /__admin lists them (contract: ${ADMIN_CONTRACT_URL}).`,
      ),
    );
  });
  // Mounted at the root, not under /__admin, so the contract's full paths match the request's.
  return (req: Request, res: Response, next: NextFunction) =>
    req.path === '/__admin' || req.path.startsWith('/__admin/') ? router(req, res, next) : next();
}
