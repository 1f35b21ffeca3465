import { readFileSync } from 'node:fs';
import { STATUS_CODES, createServer as createHttpServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { PROBLEMS, problem } from './problem';
import { problemReply } from './reply';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import selfsigned from 'selfsigned';
import type { Logger } from 'pino';
import { createApp } from './app';
import type { Config } from './config';

/** A listening mock. */
export interface RunningMock {
  server: Server;
  url: string;
  logger: Logger;
  /** The PEM certificate served over HTTPS (made at start-up unless given), for clients to trust. */
  certificate?: string;
  /** Stops accepting, lets requests in flight finish (at most `graceMs`), then resolves. */
  close(graceMs?: number): Promise<void>;
}

/**
 * A self-signed certificate for localhost, 127.0.0.1 and ::1, valid for a year (RSA 2048, SHA-256).
 * @returns PEM certificate and private key.
 */
export async function makeCertificate(): Promise<{ cert: string; key: string }> {
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate);
  notAfterDate.setFullYear(notAfterDate.getFullYear() + 1);
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'procode-mock' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/**
 * Starts the mock on `config.host:config.port`, over HTTPS when `config.tls` (with the given
 * certificate files, or one made at start-up).
 */
export async function startMock(config: Config): Promise<RunningMock> {
  let certificate: string | undefined;
  let pair: { cert: string; key: string } | undefined;
  if (config.tls) {
    pair =
      config.tlsCertFile && config.tlsKeyFile
        ? { cert: readFileSync(config.tlsCertFile, 'utf8'), key: readFileSync(config.tlsKeyFile, 'utf8') }
        : await makeCertificate();
    certificate = pair.cert;
  }
  const { app, logger } = createApp({ config, certificate });
  const server: Server = pair
    ? (createHttpsServer({ cert: pair.cert, key: pair.key }, app) as unknown as Server)
    : createHttpServer(app);
  server.keepAliveTimeout = 65_000;
  // Requests Node cannot parse never reach Express; answer them in problem+json too, not a bare 400.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const type = err.code === 'HPE_HEADER_OVERFLOW' ? PROBLEMS.HEADERS_TOO_LARGE : PROBLEMS.MALFORMED_REQUEST;
    const detail =
      type === PROBLEMS.HEADERS_TOO_LARGE
        ? 'The request headers are too large; send at most 16 KiB of headers.'
        : 'The request could not be parsed as HTTP/1.1: check Content-Length, Transfer-Encoding and the chunks.';
    const requestId = randomUUID();
    const reply = problemReply(problem(type, detail), requestId, config.gatewayErrors);
    const body = JSON.stringify(reply.body);
    socket.end(
      `HTTP/1.1 ${type.status} ${STATUS_CODES[type.status]}\r\nContent-Type: ${reply.contentType}; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-ID: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `${config.tls ? 'https' : 'http'}://${host}:${port}`;
  logger.info(
    { host: config.host, port, tls: config.tls, seed: config.seed, accounts: config.accounts },
    `procode-mock listening on ${url}`,
  );
  return {
    server,
    url,
    logger,
    certificate,
    close: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          logger.flush();
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

/**
 * Runs the mock until SIGTERM or SIGINT, then stops gracefully: no new connections, requests in
 * flight finish, exit code 0.
 */
export async function serveUntilSignal(config: Config): Promise<void> {
  const mock = await startMock(config);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      // A second signal while draining: stop waiting for requests in flight.
      mock.server.closeAllConnections();
      return;
    }
    stopping = true;
    mock.logger.info({ signal }, 'shutting down');
    void mock.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
