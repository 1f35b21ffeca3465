import { randomUUID } from 'node:crypto';
import { STATUS_CODES, createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, RequestListener, Server, ServerOptions, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from '../config';
import { PROBLEMS, problem } from '../problem';
import type { ProblemType } from '../problem';
import { TAME_REQUEST_ID, problemReply } from '../reply';

/**
 * The transport stage: what happens before Express sees a request, and what Node would otherwise answer
 * on its own (a bare 400, 408, 417, 431 or a dropped CONNECT). Every such answer is exactly one
 * problem+json response (`Connection: close`), after which the connection closes; a request whose
 * response was already sent gets no second one (docs/decisions.md "Server limits and hostile
 * transports").
 */

/**
 * How often Node checks the headers and request timeouts, in milliseconds (its default, 30 s, made a
 * 10 s headers timeout fire after up to 40 s).
 */
export const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/** One connection's pipeline: requests run one at a time, in order (RFC 9112 section 9.3.2). */
interface Connection {
  /** A request is being handled (its response has not closed yet). */
  active: boolean;
  /** Requests parsed but not started: started when the previous response closed and was sent. */
  queue: (() => void)[];
  /** The request parsed last, and its response. */
  last?: { req: IncomingMessage; res: ServerResponse };
  /** A transport problem to write once the requests before it are answered. */
  deferred?: string;
  /** A transport problem was written or the connection is being closed: start nothing more. */
  closing: boolean;
  /** Waiting for 'drain' before the next request. */
  waiting: boolean;
  /** Requests parsed on this connection. */
  requests: number;
}

/** The connection of a request or socket; created on first use. */
const CONNECTIONS = new WeakMap<Duplex, Connection>();

function connectionOf(socket: Duplex): Connection {
  let c = CONNECTIONS.get(socket);
  if (!c) {
    c = { active: false, queue: [], closing: false, waiting: false, requests: 0 };
    CONNECTIONS.set(socket, c);
    const conn = c;
    socket.once('close', () => {
      conn.queue.length = 0;
      conn.closing = true;
    });
  }
  return c;
}

/** The request id to answer with: the client's when tame (api.md "X-Request-ID"), else a new one. */
function requestIdOf(req?: IncomingMessage): string {
  const sent = req?.headers['x-request-id'];
  return typeof sent === 'string' && TAME_REQUEST_ID.test(sent) ? sent : randomUUID();
}

/** A problem's status line, headers and body, as one HTTP/1.1 response that closes the connection. */
function rawProblem(
  type: ProblemType,
  detail: string,
  config: Config,
  requestId: string = randomUUID(),
): string {
  const reply = problemReply(problem(type, detail), requestId, config.gatewayErrors);
  const body = JSON.stringify(reply.body);
  return (
    `HTTP/1.1 ${type.status} ${STATUS_CODES[type.status]}\r\n` +
    `Content-Type: ${reply.contentType}; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Request-ID: ${requestId}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`
  );
}

/** Answers a request Express never sees with a problem, then closes the connection after it. */
function answer(
  req: IncomingMessage,
  res: ServerResponse,
  type: ProblemType,
  detail: string,
  config: Config,
): void {
  const requestId = requestIdOf(req);
  const reply = problemReply(problem(type, detail), requestId, config.gatewayErrors);
  const body = JSON.stringify(reply.body);
  res.writeHead(type.status, {
    'Content-Type': `${reply.contentType}; charset=utf-8`,
    'Content-Length': Buffer.byteLength(body),
    'X-Request-ID': requestId,
    'Cache-Control': 'no-store',
    Connection: 'close',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Writes `data` (if any), ends the connection and destroys it once the bytes are handed to the kernel. */
function closeAfter(socket: Duplex, data?: string): void {
  if (socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(data, () => socket.destroy());
}

/** What Node's parser error codes mean for the client, as problem types and details. */
function parseProblem(code: string | undefined): [ProblemType, string] {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return [
        PROBLEMS.HEADERS_TOO_LARGE,
        'The request headers are too large; send at most 16 KiB of headers.',
      ];
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return [PROBLEMS.PAYLOAD_TOO_LARGE, 'The chunk extensions of the request body are too large.'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [
        PROBLEMS.REQUEST_TIMEOUT,
        'The request did not arrive in time: send the request line, headers and body without pausing.',
      ];
    case 'HPE_INVALID_VERSION':
      return [PROBLEMS.HTTP_VERSION_NOT_SUPPORTED, 'Send HTTP/1.1 (or HTTP/1.0).'];
    default:
      return [
        PROBLEMS.MALFORMED_REQUEST,
        'The request could not be parsed as HTTP/1.1: check Content-Length, Transfer-Encoding and the chunks.',
      ];
  }
}

/**
 * How many Host header lines a request has (`rawHeaders` is name, value, name, value...). Cheaper than
 * `headersDistinct`, which builds an array for every header of every request.
 */
function hostHeaders(rawHeaders: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') n += 1;
  }
  return n;
}

/**
 * Wraps the app so that each connection runs its requests one at a time, and starts the next only when
 * the previous response has closed and at most `config.maxUnsentBytes` of the connection's responses
 * are still unsent. Meanwhile the connection is not read, so a client that pipelines requests and never
 * reads makes the process hold one response and at most one read (64 KiB) of parsed requests, not a
 * response per request. Also answers what Node leaves to the app: a missing or repeated Host (400,
 * RFC 9112 section 3.2) and a major version other than 1 (505, RFC 9110 section 15.6.6).
 */
function pipeline(
  app: RequestListener,
  config: Config,
): {
  onRequest: RequestListener;
  onExpectation: RequestListener;
} {
  const start = (req: IncomingMessage, res: ServerResponse, handle: RequestListener): void => {
    const socket = req.socket;
    const c = connectionOf(socket);
    c.last = { req, res };
    if (c.closing || c.deferred !== undefined) return;
    c.requests += 1;
    // The last request a connection may carry: its response says Connection: close and ends the
    // connection; requests pipelined after it are not started (RFC 9112 section 9.6). Node's own
    // maxRequestsPerSocket sends the close without closing, then a bare 503 for each request after it.
    const last = config.maxRequestsPerSocket > 0 && c.requests >= config.maxRequestsPerSocket;
    if (last) c.closing = true;
    const run = (): void => {
      c.active = true;
      if (last) res.shouldKeepAlive = false;
      res.on('close', () => {
        c.active = false;
        next(socket, c);
      });
      handle(req, res);
    };
    if (c.active || c.queue.length > 0) {
      c.queue.push(run);
      // Node's parser goes on with what it has read; nothing more is read until the queue is empty.
      socket.pause();
    } else run();
  };
  const next = (socket: Socket, c: Connection): void => {
    if (c.active || c.waiting || (c.closing && c.queue.length === 0)) return;
    if (socket.writableLength > config.maxUnsentBytes) {
      // Above the socket's high-water mark (the setting is at least 16 KiB), so 'drain' will follow.
      c.waiting = true;
      socket.once('drain', () => {
        c.waiting = false;
        next(socket, c);
      });
      return;
    }
    const run = c.queue.shift();
    if (run) {
      // The previous response's 'close' arrives in a nextTick: starting the next pipelined request right
      // there would serve a whole pipeline before the event loop reads any other socket (one client's
      // 200 pipelined requests stalled every other client for 300 ms, bench/). setImmediate lets the
      // other connections' I/O in between.
      c.active = true;
      setImmediate(() => {
        // A client that left meanwhile gets nothing started for it.
        if (socket.destroyed) c.active = false;
        else run();
      });
      return;
    }
    if (c.deferred !== undefined) {
      c.closing = true;
      closeAfter(socket, c.deferred);
      return;
    }
    socket.resume();
  };
  const onRequest: RequestListener = (req, res) =>
    start(req, res, (q, s) => {
      if (q.httpVersionMajor !== 1) {
        answer(q, s, PROBLEMS.HTTP_VERSION_NOT_SUPPORTED, 'Send HTTP/1.1 (or HTTP/1.0).', config);
        return;
      }
      const hosts = hostHeaders(q.rawHeaders);
      if ((q.httpVersionMinor >= 1 && hosts === 0) || hosts > 1) {
        answer(
          q,
          s,
          PROBLEMS.MALFORMED_REQUEST,
          'An HTTP/1.1 request needs exactly one Host header (RFC 9112 section 3.2).',
          config,
        );
        return;
      }
      app(q, s);
    });
  const onExpectation: RequestListener = (req, res) =>
    start(req, res, (q, s) =>
      answer(
        q,
        s,
        PROBLEMS.EXPECTATION_FAILED,
        'The only expectation the mock meets is Expect: 100-continue; send that or no Expect header.',
        config,
      ),
    );
  return { onRequest, onExpectation };
}

/**
 * Answers what Node's parser rejects or times out (`clientError`): 400 `malformed-request`, 408
 * `request-timeout`, 413, 431 or 505, once and in order. A request whose response was already sent (a
 * 401 before its broken chunked body) gets no second answer: the connection just closes. When earlier
 * pipelined requests are still unanswered, the problem is written after them.
 */
function onClientError(config: Config, logger: Logger) {
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    const c = connectionOf(socket);
    if (c.closing || c.deferred !== undefined) return;
    if (!socket.writable || err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      c.closing = true;
      socket.destroy();
      return;
    }
    const last = c.last;
    // The error is in the body of the request parsed last (its head was complete, the body is not).
    const inBody = last !== undefined && !last.req.complete;
    if (inBody && (last.res.headersSent || last.res.writableEnded)) {
      c.closing = true;
      closeAfter(socket);
      return;
    }
    const [type, detail] = parseProblem(err.code);
    const raw = rawProblem(type, detail, config, inBody ? requestIdOf(last.req) : undefined);
    logger.debug({ status: type.status, problem: type.slug, code: err.code }, 'transport problem');
    // Stop reading: the parser is in an error state (and a timed-out client is not sending).
    socket.pause();
    // Requests parsed before the broken one are answered first, then this problem; the broken request
    // itself, if it was waiting its turn, never starts.
    if (inBody ? c.queue.length > 0 : c.active || c.queue.length > 0) {
      if (inBody) c.queue.pop();
      c.deferred = raw;
      return;
    }
    c.closing = true;
    closeAfter(socket, raw);
  };
}

/**
 * Creates the mock's HTTP or HTTPS server with the limits of `config` (README "Settings"):
 * headers and request timeouts (408), keep-alive and socket timeouts, at most `maxConnections`
 * connections and `maxRequestsPerSocket` requests per connection, and the pipeline above. Half-closed
 * connections (a client that shuts down its sending side after the request) still get their answer.
 * @param app the request listener (the Express app).
 * @param tls certificate and key for HTTPS, PEM.
 */
export function createMockServer(
  app: RequestListener,
  config: Config,
  logger: Logger,
  tls?: { cert: string; key: string },
): Server {
  const options: ServerOptions = {
    // Checked by the pipeline, so the 400 is problem+json.
    requireHostHeader: false,
    headersTimeout: config.headersTimeoutSeconds * 1000,
    requestTimeout: config.requestTimeoutSeconds * 1000,
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    keepAliveTimeout: config.keepAliveTimeoutSeconds * 1000,
  };
  const { onRequest, onExpectation } = pipeline(app, config);
  const server: Server = tls
    ? (createHttpsServer({ ...options, cert: tls.cert, key: tls.key }, onRequest) as unknown as Server)
    : createHttpServer(options, onRequest);
  // Node ends a connection as soon as the client half-closes it, before an answer being computed can be
  // written; with this it ends it after the last response instead (Node's own tests set it).
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  server.keepAliveTimeout = config.keepAliveTimeoutSeconds * 1000;
  server.timeout = config.socketTimeoutSeconds * 1000;
  server.maxConnections = config.maxConnections;
  server.on('checkExpectation', onExpectation);
  server.on('clientError', onClientError(config, logger));
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    connectionOf(socket).closing = true;
    closeAfter(
      socket,
      rawProblem(
        PROBLEMS.NOT_IMPLEMENTED,
        'CONNECT is not implemented: the mock is an origin server, not a proxy.',
        config,
        requestIdOf(req),
      ),
    );
  });
  server.on('drop', () =>
    logger.warn({ maxConnections: config.maxConnections }, 'connection refused: too many open'),
  );
  return server;
}
