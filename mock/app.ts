import { randomUUID } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import cors from 'cors';
import type { Logger } from 'pino';
import { createLogger } from './logger';
import type { RequestLine } from './logger';
import type { Config } from './config';
import { loadConfig } from './config';
import type { Clock } from './clock';
import { ScenarioClock, systemClock } from './clock';
import { SeededRandom } from './random';
import type { RandomSource } from './random';
import { MemoryStore } from './store';
import type { SharedStore } from './store';
import { World } from '../fixtures/world';
import { CONTRACT_DIR, CompiledContract, loadContract } from '../contract-kit';
import type { Violation } from '../contract-kit';
import { TokenService } from './auth/tokens';
import { OtpService } from './auth/otp';
import { buildRouter, toProblem } from './router';
import type { PipelineLocals } from './router';
import { PROBLEMS, problem } from './problem';
import { TAME_REQUEST_ID, problemReply, writeReply } from './reply';
import type { WireReply } from './reply';
import { HANDLERS } from './handlers';
import { principalResolver } from './handlers/customers';
import { buildAdminRouter } from './admin';
import { buildDocsRouter } from './docs';
import type { Services } from './handlers/context';

/** What `createApp` may be given; anything left out gets the default. */
export interface AppOptions {
  config?: Config;
  clock?: Clock;
  random?: RandomSource;
  logger?: Logger;
  /** A contract compiled earlier (tests compile it once for many apps). */
  contract?: CompiledContract;
  /** The admin API's contract, compiled earlier. */
  adminContract?: CompiledContract;
  /** The PEM certificate served over HTTPS, offered at `GET /__admin/certificate` for clients to trust. */
  certificate?: string;
  /**
   * The store (default: a `MemoryStore` with the config's bounds); `startMock` passes a `RedisStore` for
   * `--store redis://...`. Its clock must be the app's (`clock`), so give both or neither.
   */
  store?: SharedStore;
  /** The mock's clock, when a store was made with it (default: a new one over `clock`). */
  scenarioClock?: ScenarioClock;
  /** The HS256 key when `config.tokenSecret` is unset (the Redis store's shared key; default: random). */
  tokenSecret?: string;
  /** Called with each reply that breaks the contract (default: logged as an error). */
  onViolation?: (violations: Violation[], reply: WireReply) => void;
}

/** A wired mock: the Express app and the pieces tests and the CLI reach into. */
export interface MockApp {
  app: express.Express;
  services: Services;
  contract: CompiledContract;
  logger: Logger;
}

export { REDACT_PATHS } from './logger';

/** Paths of the mock's own control plane and docs: not Procode API calls, so not in the journal. */
function isControlPath(path: string): boolean {
  return path.startsWith('/__admin') || path.startsWith('/docs') || path.startsWith('/problems');
}

let sharedAdminContract: CompiledContract | undefined;
/** The admin API's contract (`contracts/admin.openapi.yaml`), compiled once per process. */
export function defaultAdminContract(): CompiledContract {
  sharedAdminContract ??= new CompiledContract(loadContract(CONTRACT_DIR, 'admin.openapi.yaml'));
  return sharedAdminContract;
}

let sharedContract: CompiledContract | undefined;
/** The repository's contract, compiled once per process. */
export function defaultContract(): CompiledContract {
  sharedContract ??= new CompiledContract(loadContract());
  return sharedContract;
}

/**
 * What `--log-level debug` adds to a request line: the stage that answered (`gateway`, `negotiation`,
 * `security`, `media-type`, `body`, `validate`, `prefer`, `handler`, `reply-check`), the fault rule or
 * preference applied, and a validation problem's `errors[]` (`in`, `pointer`, `detail`: where and what,
 * never the value sent).
 */
function debugFields(locals: PipelineLocals): Record<string, unknown> {
  return {
    stage: locals.stage ?? (locals.operation ? undefined : 'route'),
    ...(locals.fault ? { fault: locals.fault.faultId } : {}),
    ...(locals.preferenceApplied ? { preferenceApplied: locals.preferenceApplied } : {}),
    ...(locals.problem?.errors ? { errors: locals.problem.errors } : {}),
  };
}

/**
 * Wires the mock (architecture.md): configuration, clock, seeded randomness, the generated world and its
 * write overlay, the contract's compiled validators, and the Express pipeline.
 */
export function createApp(options: AppOptions = {}): MockApp {
  const config = options.config ?? loadConfig();
  // The admin API freezes or moves this clock; the base is the system's, or a test's manual clock.
  const clock = options.scenarioClock ?? new ScenarioClock(options.clock ?? systemClock);
  const random = options.random ?? new SeededRandom(config.seed);
  const logger = options.logger ?? createLogger(config);
  const contract = options.contract ?? defaultContract();
  const store: SharedStore =
    options.store ??
    new MemoryStore(random, {
      seed: config.seed,
      journalSize: config.journalSize,
      limits: {
        refreshTokensPerAccount: config.refreshTokensPerAccount,
        refreshTokensMax: config.refreshTokensMax,
        paymentsPerAccount: config.paymentsPerAccount,
        paymentsMax: config.paymentsMax,
        idempotencyTtlSeconds: config.idempotencyTtlSeconds,
        otpChallengesMax: config.otpChallengesMax,
      },
    });
  const world = new World({ seed: config.seed, accounts: config.accounts });
  const tokens = new TokenService(
    config.tokenTtlSeconds,
    clock,
    store,
    config.tokenSecret ?? options.tokenSecret,
    config.refreshTokenTtlSeconds,
  );
  const otp = new OtpService(clock, store);
  const services: Services = { config, clock, random, store, world, tokens, otp };

  const onViolation =
    options.onViolation ??
    ((violations: Violation[]) =>
      logger.error({ violations }, 'reply broke the contract (a bug in the mock)'));
  const onInternalError = (err: unknown): void => logger.error({ err }, 'unexpected error');

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  const logRequests = logger.isLevelEnabled('info');
  // Request lines are built above from a closed set of fields (RequestLine: ids, route template, status,
  // problem slug, timing; at debug a validation problem's pointers), never a header or a body, so they
  // skip pino's redaction, which cost 8 of the 10 µs a line took (docs/decisions.md).
  const requestLog = logger.child({}, { redact: [] });
  const logDebug = logger.isLevelEnabled('debug');
  const journalCapacity = store.journalCapacity;
  /** Gives the request its id and, when it is journaled or logged, records it once it is answered. */
  const observe = (req: Request, res: Response): void => {
    const sent = req.headers['x-request-id'];
    const requestId = typeof sent === 'string' && TAME_REQUEST_ID.test(sent) ? sent : randomUUID();
    (res.locals as PipelineLocals).requestId = requestId;
    res.setHeader('X-Request-ID', requestId);
    res.setHeader('Cache-Control', 'no-store');
    const started = performance.now();
    const journaled = journalCapacity > 0 && !isControlPath(req.path);
    const at = journaled ? clock.now() : 0;
    if (!journaled && !logRequests) return;
    // One listener for both: 'close' follows 'finish' on the next tick, and also fires for a connection
    // a fault rule dropped, which never 'finish'es (journaled with status 0, not logged).
    res.on('close', () => {
      const locals = res.locals as PipelineLocals;
      const durationMs = performance.now() - started;
      if (journaled) {
        const problemType = locals.responseBody?.startsWith('{"type":"')
          ? /^\{"type":"([^"]+)"/.exec(locals.responseBody)?.[1]
          : undefined;
        store
          .journalAppend({
            requestId,
            at,
            method: req.method,
            path: req.path,
            operationId: locals.operation?.spec.operationId,
            status: res.writableFinished ? res.statusCode : 0,
            problemType,
            accountNumber: locals.principal?.accountNumber ?? locals.accountNumber,
            durationMs,
            requestHeaders: req.headers,
            query: req.query as Record<string, unknown>,
            requestBody: locals.requestBody,
            responseHeaders: res.getHeaders(),
            responseBody: locals.responseBody,
            responseBodyIsJson: locals.responseBodyIsJson,
            ...(locals.fault ? { fault: locals.fault.faultId } : {}),
          })
          // A request already answered is not failed by a journal the store could not write (Redis down).
          .catch(() => undefined);
      }
      if (logRequests && res.writableFinished) {
        const op = locals.operation;
        const line: RequestLine = {
          requestId,
          operationId: op?.spec.operationId,
          method: req.method,
          route: op ? op.spec.path : req.path,
          status: res.statusCode,
          problem: locals.problem?.slug,
          durationMs,
        };
        if (logDebug) requestLog.debug({ ...line, ...debugFields(locals) }, 'request');
        else requestLog.info(line, 'request');
      }
    });
  };
  // The admin control plane is for the developer's own tools: no CORS, so no web page can read codes.
  // Off (`--admin off`), every /__admin path is the API's plain 404, as in production.
  const admin = config.admin
    ? buildAdminRouter(services, {
        api: contract,
        admin: options.adminContract ?? defaultAdminContract(),
        certificate: options.certificate,
        onViolation,
        onInternalError,
      })
    : undefined;
  const docs = buildDocsRouter(contract, options.adminContract ?? defaultAdminContract());
  // CORS only matters to browsers, which always send Origin; skipping it otherwise is measurably faster.
  const corsMiddleware = cors({
    exposedHeaders: [
      'X-Request-ID',
      'Location',
      'Retry-After',
      'WWW-Authenticate',
      'Allow',
      'Idempotent-Replayed',
    ],
    maxAge: 600,
  });
  const api = buildRouter({
    contract,
    handlers: HANDLERS,
    services,
    resolvePrincipal: principalResolver(services),
    onViolation,
    onInternalError,
    scenario: true,
  });
  const notFound = (req: Request, next: NextFunction): void =>
    next(
      problem(
        PROBLEMS.NOT_FOUND,
        `No operation at ${req.method} on this path; see the contract for the paths (live docs at /docs).`,
      ),
    );
  // One Express layer for every stage: the request id, journal and log line, then the admin plane, the
  // docs, CORS, the API, then 404, in that order, each one's next() the following one (an error goes
  // straight to the error handler). Express matched every layer and every docs route against each API
  // request; this way an API call meets one layer (bench/).
  app.use((req: Request, res: Response, next: NextFunction) => {
    observe(req, res);
    const toApi = (err?: unknown): void => {
      if (err) next(err);
      else void api(req, res, (e?: unknown) => (e ? next(e) : notFound(req, next)));
    };
    const toCors = (err?: unknown): void => {
      if (err) next(err);
      else if (req.headers.origin === undefined) toApi();
      else corsMiddleware(req, res, toApi);
    };
    const path = req.path;
    if (admin && (path === '/__admin' || path.startsWith('/__admin/'))) admin(req, res, toCors);
    else if (path.startsWith('/docs') || path.startsWith('/problems')) docs(req, res, toCors);
    else toCors();
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const p = toProblem(err);
    if (p.type === PROBLEMS.INTERNAL_ERROR) logger.error({ err }, 'unexpected error');
    writeReply(res, problemReply(p, (res.locals as PipelineLocals).requestId, config.gatewayErrors));
  });
  return { app, services, contract, logger };
}
