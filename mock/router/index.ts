import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { CompiledContract, CompiledOperation, Violation } from '../../contract-kit';
import {
  FORM_MEDIA_TYPE,
  acceptable,
  checkResponse,
  matchContentType,
  representationOf,
  successMediaTypes,
} from '../../contract-kit';
import { OperationTable } from './match';
import { StoreUnavailable } from '../store/shared-store';
import { PROBLEMS, Problem, problem } from '../problem';
import { checkSubscriptionKey } from '../gateway';
import type { Principal } from '../security';
import { authenticate } from '../security';
import { validateRequest } from '../validate';
import type { HandlerContext, HandlerEntry, Reply, Services } from '../handlers/context';
import type { ReplyLocals, WireReply } from '../reply';
import { problemReply, writeReply } from '../reply';
import type { Preferences } from '../scenario/prefer';
import { hasPreferences, preferenceApplied, readPreferences } from '../scenario/prefer';
import {
  declaredCodes,
  declaredExamples,
  exampleReply,
  forcedGatewayProblem,
  forcedProblem,
} from '../scenario/forced';
import type { FaultRule } from '../scenario/faults';

/** What the router needs besides the contract. */
export interface RouterDeps {
  contract: CompiledContract;
  handlers: Record<string, HandlerEntry>;
  services: Services;
  /** Maps verified token claims to a caller (undefined: no online access). */
  resolvePrincipal: (
    customerId: string,
    accountNumber: string,
    scope: string,
  ) => Principal | undefined | Promise<Principal | undefined>;
  /** Called with every contract violation in a reply when `selfCheck` is on. */
  onViolation: (violations: Violation[], reply: WireReply) => void;
  /** Called with an unexpected error (a bug in the mock), which the client sees as a 500 problem. */
  onInternalError: (err: unknown) => void;
  /**
   * The security stage (default: the API's bearer tokens). The admin API passes its own, which checks
   * the admin token.
   */
  authenticate?: (req: Request, op: CompiledOperation) => Promise<Principal | undefined>;
  /** Largest request body, in bytes (default `config.bodyLimitBytes`; the admin API takes whole state documents). */
  bodyLimitBytes?: number;
  /**
   * Scenario control (the API only, not the admin API): fault rules before the gateway, and `Prefer`
   * (when `config.prefer`) after validation.
   */
  scenario?: boolean;
}

/** The stage of the pipeline a request reached (the one that answered, for `--log-level debug`). */
export type Stage =
  | 'store'
  | 'fault'
  | 'gateway'
  | 'negotiation'
  | 'security'
  | 'media-type'
  | 'body'
  | 'validate'
  | 'prefer'
  | 'handler'
  | 'reply-check';

/** Locals the pipeline leaves on the response for logging and error handling. */
export interface PipelineLocals extends ReplyLocals {
  /** The stage the request reached. */
  stage?: Stage;
  requestId: string;
  operation?: CompiledOperation;
  /** The parsed request body, for the journal. */
  requestBody?: unknown;
  /** The caller, once authenticated (the journal's accountNumber). */
  principal?: Principal;
  /** The fault rule that acted on this request, if any. */
  fault?: FaultRule;
  /** The account of the bearer token as the fault stage read it (the journal's accountNumber before authentication). */
  accountNumber?: string;
  /** `Preference-Applied` (RFC 7240 section 3) for the reply. */
  preferenceApplied?: string;
}

/** Waits `ms` milliseconds of real time (a delay is for the client's clock, not the mock's). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True when the operation's security needs a subscription key (every API operation; no admin one). */
function requiresKey(op: CompiledOperation, contract: CompiledContract): boolean {
  return op.spec.security.some((alt) =>
    alt.some((name) => contract.contract.securitySchemes[name]?.type === 'apiKey'),
  );
}

/** 400 preference-not-declared: what was asked for and what the operation declares. */
function notDeclared(op: CompiledOperation, what: string, declared: string[]): Problem {
  return problem(
    PROBLEMS.PREFERENCE_NOT_DECLARED,
    `${op.spec.operationId} declares no ${what}; it declares ${declared.length ? declared.join(', ') : 'none'}.`,
    { declared: declared.length ? declared : ['none'] },
  );
}

/**
 * Checks that a code or example a request prefers is declared by the operation.
 * @throws Problem preference-not-declared (400) listing what the operation declares.
 */
function checkDeclared(op: CompiledOperation, prefs: Preferences): void {
  const { code, example } = prefs;
  if (code !== undefined && !op.spec.responses.has(code))
    throw notDeclared(op, `response ${code}`, declaredCodes(op));
  if (example !== undefined && !exampleReply(op, code, example)) {
    const names = declaredExamples(op, code);
    throw notDeclared(op, `example "${example}"${code !== undefined ? ` for ${code}` : ''}`, names);
  }
}

/**
 * The reply a request's `Prefer` asks for (RFC 7240, Prism's `code` and `example`): a named example;
 * for an error code, the catalogue's problem of that status with the headers the contract requires; for
 * a success code, the handler's own reply when it answers that status, else the contract's example.
 * @throws Problem preference-not-declared (400) for a code or example the operation does not declare.
 */
async function preferredReply(
  op: CompiledOperation,
  prefs: Preferences,
  run: () => Promise<Reply>,
): Promise<Reply> {
  const { code, example } = prefs;
  if (example !== undefined) {
    const chosen = exampleReply(op, code, example);
    if (chosen instanceof Problem) throw chosen;
    return chosen!;
  }
  if (code === undefined) return run();
  if (code >= 400) throw forcedProblem(op, code);
  try {
    const own = await run();
    if (own.status === code) return own;
  } catch (err) {
    if (!(err instanceof Problem)) throw err;
  }
  const fromContract = exampleReply(op, code, undefined);
  if (fromContract instanceof Problem) throw fromContract;
  if (!fromContract) throw notDeclared(op, `example for ${code}`, declaredExamples(op));
  return fromContract;
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
  const bodyLimit = deps.bodyLimitBytes ?? config.bodyLimitBytes;
  const jsonParser = express.json({
    limit: bodyLimit,
    strict: false,
    type: () => true,
    verify: rejectInvalidUtf8(INVALID_UTF8_JSON),
  });
  const formParser = express.urlencoded({
    limit: bodyLimit,
    extended: false,
    parameterLimit: 100,
    type: () => true,
    verify: rejectInvalidUtf8(INVALID_UTF8_FORM),
  });

  const send = (res: Response, op: CompiledOperation, reply: WireReply): void => {
    const applied = (res.locals as PipelineLocals).preferenceApplied;
    if (applied) reply = { ...reply, headers: { ...reply.headers, 'Preference-Applied': applied } };
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
        (res.locals as PipelineLocals).stage = 'reply-check';
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
  // What a success is written as, in UTF-8: RFC 9110 section 12.5.1 matches Accept against this.
  const offeredOf = new Map(
    [...contract.operations.values()].map((op) => [op, successMediaTypes(op).map(representationOf)]),
  );

  const keyed = new Map([...contract.operations.values()].map((op) => [op, requiresKey(op, contract)]));
  const authenticateCaller =
    deps.authenticate ??
    ((req: Request, op: CompiledOperation) =>
      authenticate(req, op.spec, services.tokens, deps.resolvePrincipal));

  /**
   * The fault stage (after routing, before the gateway): the first rule of `/__admin/faults` that matches,
   * for rules that name an account: the account of the request's bearer token (read, not enforced).
   */
  const matchFault = async (
    req: Request,
    res: Response,
    op: CompiledOperation,
  ): Promise<FaultRule | undefined> => {
    const { store } = services;
    let accountNumber: string | undefined;
    if (store.faultsNeedAccount()) {
      const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(req.headers.authorization ?? '');
      const verdict = m ? await services.tokens.verify(m[1]!) : undefined;
      if (verdict && typeof verdict === 'object') accountNumber = verdict.accountNumber;
      (res.locals as PipelineLocals).accountNumber = accountNumber;
    }
    return store.matchFault({ operation: op, method: req.method, path: req.path, accountNumber });
  };

  /**
   * What a fault rule that matched does: delays, answers a declared problem or the gateway's own error,
   * or breaks the connection.
   * @returns true when the rule answered (or dropped) the request itself.
   * @throws Problem the rule's status or gateway answer.
   */
  const applyFault = async (
    req: Request,
    res: Response,
    op: CompiledOperation,
    rule: FaultRule,
  ): Promise<boolean> => {
    (res.locals as PipelineLocals).fault = rule;
    if (rule.fault === 'hang') {
      await sleep(rule.delayMs ?? 30_000);
      req.socket.destroy();
      return true;
    }
    if (rule.delayMs) await sleep(rule.delayMs);
    switch (rule.fault) {
      case 'connection-reset':
        // A TCP RST (WireMock's CONNECTION_RESET_BY_PEER).
        req.socket.resetAndDestroy();
        return true;
      case 'empty-reply':
        // The connection closes with no response at all (WireMock's EMPTY_RESPONSE).
        req.socket.destroy();
        return true;
      case 'malformed-json': {
        const success = [...op.spec.responses.keys()].filter((s) => s >= 200 && s < 300).sort()[0] ?? 200;
        res.status(success).setHeader('Content-Type', 'application/json; charset=utf-8');
        (res.locals as PipelineLocals).responseBody = '{"items":[{"malformed": tru';
        res.end((res.locals as PipelineLocals).responseBody);
        return true;
      }
      default:
        break;
    }
    if (rule.status !== undefined) {
      throw forcedProblem(
        op,
        rule.status,
        `${op.spec.operationId} answered ${rule.status} because of fault rule ${rule.faultId}.`,
      );
    }
    if (rule.gateway !== undefined) throw forcedGatewayProblem(Number(rule.gateway));
    return false;
  };

  const route = async (req: Request, res: Response, op: CompiledOperation): Promise<void> => {
    const { spec } = op;
    const entry = entryOf(op);
    const locals = res.locals as PipelineLocals;
    locals.operation = op;
    try {
      const { store } = services;
      locals.stage = 'store';
      // The shared generation, clock and fault rules as of this request, and what the handler will read
      // (Redis: one round trip).
      const prefetched = entry?.storeless
        ? undefined
        : await store.begin(entry?.reads?.(req.params as Record<string, string>));
      if (deps.scenario && !store.faultsEmpty()) {
        locals.stage = 'fault';
        const rule = await matchFault(req, res, op);
        if (rule && (await applyFault(req, res, op, rule))) return;
      }
      locals.stage = 'gateway';
      if (keyed.get(op)) await checkSubscriptionKey(req, spec, services);
      locals.stage = 'negotiation';
      const offered = offeredOf.get(op)!;
      if (acceptable(req.headers.accept, offered).length === 0) {
        throw problem(
          PROBLEMS.NOT_ACCEPTABLE,
          `This operation answers ${offered.join(' or ')} (errors: application/problem+json); ` +
            'fix the Accept header to allow it (for example Accept: application/json).',
        );
      }
      locals.stage = 'security';
      const principal = await authenticateCaller(req, op);
      locals.principal = principal;
      let body: unknown;
      let mediaType: string | undefined;
      if (spec.requestBody && hasBody(req)) {
        locals.stage = 'media-type';
        const declaredMedia = declaredMediaOf.get(op)!;
        const matched = matchContentType(req.headers['content-type'], declaredMedia);
        if (matched.kind === 'charset') {
          throw problem(
            PROBLEMS.UNSUPPORTED_MEDIA_TYPE,
            `Send the body encoded as ${matched.allowed.map((c) => c.toUpperCase()).join(' or ')} ` +
              `(charset=utf-8, or no charset parameter), not charset=${matched.charset}.`,
          );
        }
        if (matched.kind !== 'match') {
          throw problem(
            PROBLEMS.UNSUPPORTED_MEDIA_TYPE,
            `Send the body as ${declaredMedia.join(' or ')}${matched.kind === 'missing' ? ' with a Content-Type header' : ''}.`,
          );
        }
        mediaType = matched.mediaType;
        locals.stage = 'body';
        await parseBody(mediaType === FORM_MEDIA_TYPE ? formParser : jsonParser, req, res);
        body = (req as { body?: unknown }).body;
        if (!wellFormedStrings(body)) {
          throw problem(
            mediaType === FORM_MEDIA_TYPE ? PROBLEMS.MALFORMED_REQUEST : PROBLEMS.MALFORMED_JSON,
            'The body has a string with an unpaired surrogate (an escape from \\ud800 to \\udfff on its ' +
              'own): send well-formed Unicode (RFC 8259 section 8.2, RFC 7493 section 2.1).',
          );
        }
      }
      locals.stage = 'validate';
      if (entry?.prepare) body = entry.prepare(body, req);
      locals.requestBody = body;
      const validated = validateRequest(req, op, body, mediaType);
      const prefs: Preferences =
        deps.scenario && config.prefer
          ? readPreferences(req.headers.prefer, req.query as Record<string, unknown>)
          : {};
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
        ...(prefetched ? { prefetched } : {}),
      };
      const run = async (): Promise<Reply> => (entry ? entry.handle(ctx) : fromExample(op));
      let reply: Reply;
      if (hasPreferences(prefs)) {
        locals.stage = 'prefer';
        checkDeclared(op, prefs);
        locals.preferenceApplied = preferenceApplied(prefs);
        if (prefs.delayMs) await sleep(prefs.delayMs);
        reply = await preferredReply(op, prefs, run);
      } else {
        locals.stage = 'handler';
        reply = await run();
      }
      send(res, op, {
        status: reply.status,
        contentType: reply.contentType ?? 'application/json',
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

/** A UTF-8 decoder that refuses invalid bytes instead of replacing them with U+FFFD. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** body-parser error types of a body that is not valid UTF-8, by what the body claimed to be. */
const INVALID_UTF8_JSON = 'entity.encoding.invalid.json';
const INVALID_UTF8_FORM = 'entity.encoding.invalid.form';

/**
 * A body-parser `verify` hook: a body declared (or defaulted) as UTF-8 must be valid UTF-8 (RFC 8259
 * section 8.1; RFC 3629 section 3), else the parser would turn each bad byte into U+FFFD and a password
 * or name would be stored other than sent. A form declared ISO-8859-1 is not checked.
 * @param type the error type thrown: `entity.encoding.invalid.json` (400 malformed-json) or `.form`
 *   (400 malformed-request).
 */
function rejectInvalidUtf8(type: string) {
  return (_req: unknown, _res: unknown, buf: Buffer, encoding: string): void => {
    if (!/^utf-?8$/i.test(encoding)) return;
    try {
      STRICT_UTF8.decode(buf);
    } catch {
      throw Object.assign(new Error('body is not valid UTF-8'), { type });
    }
  };
}

/** A lone UTF-16 surrogate: with the `u` flag a pair is one code point, so only an unpaired one matches. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Whether every string of a parsed body, member names included, is well-formed Unicode (no unpaired
 * surrogate from a `\ud800` escape: RFC 8259 section 8.2 leaves such strings' meaning open, RFC 7493
 * section 2.1 forbids them). Walks without recursion, so a deeply nested body cannot overflow the stack.
 */
export function wellFormedStrings(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) return false;
    } else if (Array.isArray(v)) {
      for (const item of v) pending.push(item);
    } else if (v !== null && typeof v === 'object') {
      for (const [name, item] of Object.entries(v)) {
        if (LONE_SURROGATE.test(name)) return false;
        pending.push(item);
      }
    }
  }
  return true;
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
  // The shared store (Redis) is down: 503 with Retry-After, never a 500 (docs/decisions.md, issue 12).
  if (err instanceof StoreUnavailable) {
    return problem(
      PROBLEMS.SERVICE_UNAVAILABLE,
      err.message,
      {},
      { 'Retry-After': String(err.retryAfterSeconds) },
    );
  }
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
    case INVALID_UTF8_JSON:
      return problem(
        PROBLEMS.MALFORMED_JSON,
        'The body is not valid UTF-8 (RFC 8259 section 8.1): send the JSON text encoded as UTF-8.',
      );
    case INVALID_UTF8_FORM:
      return problem(
        PROBLEMS.MALFORMED_REQUEST,
        'The form is not valid UTF-8: send it encoded as UTF-8, or declare charset=iso-8859-1.',
      );
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
