import { randomUUID } from 'node:crypto';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import cors from 'cors';
import pino from 'pino';
import type { Logger } from 'pino';
import type { Config } from './config';
import { loadConfig } from './config';
import type { Clock } from './clock';
import { ScenarioClock, systemClock } from './clock';
import { SeededRandom } from './random';
import type { RandomSource } from './random';
import { Store } from './store';
import { World } from '../fixtures/world';
import { CompiledContract, loadContract } from './contract';
import type { Violation } from './contract';
import { TokenService } from './auth/tokens';
import { OtpService } from './auth/otp';
import { buildRouter, toProblem } from './router';
import type { PipelineLocals } from './router';
import { PROBLEMS, problem } from './problem';
import { problemReply, writeReply } from './reply';
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
  /** The PEM certificate served over HTTPS, offered at `GET /__admin/certificate` for clients to trust. */
  certificate?: string;
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

/** Field paths never written to logs (tokens, passwords, OTP codes, personal data). */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["ocp-apim-subscription-key"]',
  'req.headers.cookie',
  'password',
  'code',
  'access_token',
  'refresh_token',
  'client_secret',
  'email',
  'mobilePhone',
  '*.password',
  '*.code',
  '*.access_token',
  '*.refresh_token',
  '*.email',
  '*.mobilePhone',
];

/** Request ids echoed back only when they are this tame; others are replaced (no header injection). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

let sharedContract: CompiledContract | undefined;
/** The repository's contract, compiled once per process. */
export function defaultContract(): CompiledContract {
  sharedContract ??= new CompiledContract(loadContract());
  return sharedContract;
}

/**
 * Wires the mock (architecture.md): configuration, clock, seeded randomness, the generated world and its
 * write overlay, the contract's compiled validators, and the Express pipeline.
 */
export function createApp(options: AppOptions = {}): MockApp {
  const config = options.config ?? loadConfig();
  // The admin API freezes or moves this clock; the base is the system's, or a test's manual clock.
  const clock = new ScenarioClock(options.clock ?? systemClock);
  const random = options.random ?? new SeededRandom(config.seed);
  const logger =
    options.logger ??
    pino(
      { level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
      // Asynchronous writes: a synchronous write per request line cost a quarter of the throughput (bench/).
      pino.destination({ dest: 1, sync: false }),
    );
  const contract = options.contract ?? defaultContract();
  const store = new Store();
  const world = new World({ seed: config.seed, accounts: config.accounts });
  const tokens = new TokenService(config.tokenTtlSeconds, clock, store, config.tokenSecret);
  const otp = new OtpService(clock, random, store);
  const services: Services = { config, clock, random, store, world, tokens, otp };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  const logRequests = logger.isLevelEnabled('info');
  app.use((req: Request, res: Response, next: NextFunction) => {
    const sent = req.headers['x-request-id'];
    const requestId = typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
    (res.locals as PipelineLocals).requestId = requestId;
    res.setHeader('X-Request-ID', requestId);
    res.setHeader('Cache-Control', 'no-store');
    if (logRequests) {
      const started = process.hrtime.bigint();
      res.on('finish', () => {
        const op = (res.locals as PipelineLocals).operation;
        logger.info(
          {
            requestId,
            operationId: op?.spec.operationId,
            method: req.method,
            route: op?.spec.path,
            status: res.statusCode,
            durationMs: Number(process.hrtime.bigint() - started) / 1e6,
          },
          'request',
        );
      });
    }
    next();
  });
  // The admin control plane is for the developer's own tools: no CORS, so no web page can read codes.
  app.use('/__admin', buildAdminRouter(services, contract, options.certificate));
  app.use(buildDocsRouter(contract));
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
  app.use((req: Request, res: Response, next: NextFunction) =>
    req.headers.origin === undefined ? next() : corsMiddleware(req, res, next),
  );

  app.use(
    buildRouter({
      contract,
      handlers: HANDLERS,
      services,
      resolvePrincipal: principalResolver(services),
      onViolation:
        options.onViolation ??
        ((violations) => logger.error({ violations }, 'reply broke the contract (a bug in the mock)')),
      onInternalError: (err) => logger.error({ err }, 'unexpected error'),
    }),
  );
  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(
      problem(
        PROBLEMS.NOT_FOUND,
        `No operation at ${req.method} on this path; see the contract for the paths.`,
      ),
    );
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const p = toProblem(err);
    if (p.type === PROBLEMS.INTERNAL_ERROR) logger.error({ err }, 'unexpected error');
    writeReply(res, problemReply(p, (res.locals as PipelineLocals).requestId, config.gatewayErrors));
  });
  return { app, services, contract, logger };
}
