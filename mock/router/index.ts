import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { CompiledContract, CompiledOperation, Violation } from '../contract';
import { checkResponse } from '../contract';
import { OperationTable } from './match';
import { PROBLEMS, Problem, problem } from '../problem';
import { checkSubscriptionKey } from '../gateway';
import type { Principal } from '../security';
import { authenticate } from '../security';
import { matchRequestMediaType, validateRequest } from '../validate';
import type { Handler, HandlerContext, Reply, Services } from '../handlers/context';
import type { WireReply } from '../reply';
import { problemReply, writeReply } from '../reply';

/** Per-operation hooks beside the handler, for operations whose errors follow another standard. */
export interface HandlerEntry {
  handle: Handler;
  /** Runs on the parsed body before validation (OAuth2: drop empty parameters, client authentication). */
  prepare?: (body: unknown, req: Request) => unknown;
  /** Rewrites a problem the operation's request caused (OAuth2: add invalid_request / unsupported_grant_type). */
  mapProblem?: (p: Problem) => Problem;
}

/** What the router needs besides the contract. */
export interface RouterDeps {
  contract: CompiledContract;
  handlers: Record<string, HandlerEntry>;
  services: Services;
  /** Maps verified token claims to a caller (undefined: no online access). */
  resolvePrincipal: (customerId: string, accountNumber: string, scope: string) => Principal | undefined;
  /** Called with every contract violation in a reply when `selfCheck` is on. */
  onViolation: (violations: Violation[], reply: WireReply) => void;
  /** Called with an unexpected error (a bug in the mock), which the client sees as a 500 problem. */
  onInternalError: (err: unknown) => void;
}

/** Locals the pipeline leaves on the response for logging and error handling. */
export interface PipelineLocals {
  requestId: string;
  operation?: CompiledOperation;
}

/** Answers an operation without a handler from its contract example (first 2xx response). */
function fromExample(op: CompiledOperation): Reply {
  for (const [status, response] of [...op.spec.responses].sort((a, b) => a[0] - b[0])) {
    if (status < 200 || status > 299) continue;
    for (const [, media] of response.content) return { status, body: media.example };
    return { status };
  }
  throw problem(PROBLEMS.INTERNAL_ERROR, `${op.spec.operationId} has no handler and no example.`);
}

/** Parses the body with the parser for its media type (JSON or form), as a promise. */
function parseBody(parser: RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    void parser(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
  });
}

/**
 * Builds the API middleware: the contract's operation table (route stage), each request passing through the stages
 * gateway -> 406 -> security -> media type (415) -> body (413, malformed JSON) -> validate -> handler ->
 * reply check -> serializer; plus 405 with `Allow` for other methods on a known path.
 */
export function buildRouter(deps: RouterDeps): RequestHandler {
  const { contract, handlers, services } = deps;
  const { config } = services;
  // strict: false lets scalars through to validation, which names the real fault ("must be object").
  const jsonParser = express.json({ limit: config.bodyLimitBytes, strict: false, type: () => true });
  const formParser = express.urlencoded({
    limit: config.bodyLimitBytes,
    extended: false,
    parameterLimit: 100,
    type: () => true,
  });

  const send = (res: Response, op: CompiledOperation, reply: WireReply): void => {
    if (config.selfCheck) {
      // Only what the contract can require: the headers the pipeline set, the reply's, and the type.
      const headers: Record<string, string> = {
        'x-request-id': String(res.getHeader('x-request-id')),
        'cache-control': String(res.getHeader('cache-control')),
        'content-type': reply.contentType,
      };
      for (const name in reply.headers) headers[name.toLowerCase()] = reply.headers[name]!;
      const violations = checkResponse(op, { status: reply.status, headers, body: reply.body });
      if (violations.length > 0) {
        deps.onViolation(violations, reply);
        writeReply(
          res,
          problemReply(
            problem(PROBLEMS.INTERNAL_ERROR, `The mock's ${op.spec.operationId} reply broke the contract.`),
            (res.locals as PipelineLocals).requestId,
            config.gatewayErrors,
          ),
        );
        return;
      }
    }
    writeReply(res, reply);
  };

  const entryOf = (op: CompiledOperation): HandlerEntry | undefined => handlers[op.spec.operationId];
  const declaredMediaOf = new Map(
    [...contract.operations.values()].map((op) => [op, [...(op.spec.requestBody?.content.keys() ?? [])]]),
  );

  const route = async (req: Request, res: Response, op: CompiledOperation): Promise<void> => {
    const { spec } = op;
    const entry = entryOf(op);
    const locals = res.locals as PipelineLocals;
    locals.operation = op;
    try {
      checkSubscriptionKey(req, config);
      if (!req.accepts('application/json')) {
        throw problem(
          PROBLEMS.NOT_ACCEPTABLE,
          'This API answers only application/json (errors: application/problem+json); fix the Accept header.',
        );
      }
      const principal = await authenticate(req, spec, services.tokens, deps.resolvePrincipal);
      let body: unknown;
      let mediaType: string | undefined;
      if (spec.requestBody && hasBody(req)) {
        const declaredMedia = declaredMediaOf.get(op)!;
        mediaType = matchRequestMediaType(req.headers['content-type'], declaredMedia);
        if (!mediaType) {
          throw problem(
            PROBLEMS.UNSUPPORTED_MEDIA_TYPE,
            `Send the body as ${declaredMedia.join(' or ')}${req.headers['content-type'] ? '' : ' with a Content-Type header'}.`,
          );
        }
        await parseBody(
          mediaType === 'application/x-www-form-urlencoded' ? formParser : jsonParser,
          req,
          res,
        );
        body = (req as { body?: unknown }).body;
      }
      if (entry?.prepare) body = entry.prepare(body, req);
      const validated = validateRequest(req, op, body, mediaType);
      const ctx: HandlerContext = {
        operation: spec,
        params: validated.path,
        query: validated.query,
        headers: validated.headers,
        body: validated.body,
        authorization: req.headers.authorization,
        principal,
        requestId: locals.requestId,
        services,
      };
      const reply = entry ? await entry.handle(ctx) : fromExample(op);
      send(res, op, {
        status: reply.status,
        contentType: 'application/json',
        headers: reply.headers ?? {},
        body: reply.body,
      });
    } catch (err) {
      let p = toProblem(err);
      if (p.type === PROBLEMS.INTERNAL_ERROR && !(err instanceof Problem)) deps.onInternalError(err);
      if (entry?.mapProblem && p.type !== PROBLEMS.SUBSCRIPTION_KEY) p = entry.mapProblem(p);
      send(res, op, problemReply(p, locals.requestId, config.gatewayErrors));
    }
  };

  const table = new OperationTable(contract.operations.values());
  return (req: Request, res: Response, next: NextFunction): void => {
    const found = table.match(req.method, req.path);
    if (found.kind === 'not-found') return next();
    if (found.kind === 'method-not-allowed' && req.method === 'OPTIONS') {
      // OPTIONS without CORS preflight headers: say what the path allows (RFC 9110 section 9.3.7).
      res.status(204).setHeader('Allow', found.allow);
      res.end();
      return;
    }
    if (found.kind === 'method-not-allowed') {
      return next(
        problem(PROBLEMS.METHOD_NOT_ALLOWED, `This path allows ${found.allow}.`, {}, { Allow: found.allow }),
      );
    }
    req.params = found.params;
    route(req, res, found.operation).catch(next);
  };
}

/** RFC 9110 section 6.4.1: a request has content when it has Content-Length or Transfer-Encoding. */
function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;
}

/** What a body-parser error says it is. */
interface HttpError {
  type?: string;
  status?: number;
  message?: string;
}

/**
 * Turns anything thrown in the pipeline into a Problem. Body-parser errors map to 413/415/400; the
 * parser's message is not echoed because it can quote the body (a password, say).
 */
export function toProblem(err: unknown): Problem {
  if (err instanceof Problem) return err;
  const e = (err ?? {}) as HttpError;
  switch (e.type) {
    case 'entity.too.large':
      return problem(
        PROBLEMS.PAYLOAD_TOO_LARGE,
        'The request body is over the size limit; send a smaller body.',
      );
    case 'entity.parse.failed': {
      const at = /position (\d+)/.exec(e.message ?? '');
      return problem(
        PROBLEMS.MALFORMED_JSON,
        `The body is not valid JSON${at ? ` (error near character ${at[1]})` : ''}; send one JSON object.`,
      );
    }
    case 'charset.unsupported':
      return problem(PROBLEMS.UNSUPPORTED_MEDIA_TYPE, 'Send the body encoded as UTF-8 (charset=utf-8).');
    case 'encoding.unsupported':
      return problem(
        PROBLEMS.UNSUPPORTED_MEDIA_TYPE,
        'Content-Encoding is not supported; send the body uncompressed.',
      );
    case 'parameters.too.many':
      return problem(PROBLEMS.PAYLOAD_TOO_LARGE, 'The form has too many parameters.');
    case 'request.aborted':
    case 'request.size.invalid':
      return problem(PROBLEMS.MALFORMED_JSON, 'The body ended before its declared length; send it whole.');
    default:
      if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
        return problem(PROBLEMS.MALFORMED_JSON, 'The request body could not be read; send one JSON object.');
      }
      return problem(PROBLEMS.INTERNAL_ERROR, 'The mock failed while handling this request.');
  }
}
