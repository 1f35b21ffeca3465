import pino from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type { Config } from './config';

/**
 * The mock's logger (pino). JSON lines on stdout by default; on a terminal (`logFormat` pretty, or auto
 * with a TTY) pino-pretty prints one readable line per request instead. Neither ever holds a token,
 * password, OTP code or personal field: request lines carry ids, the route template, status, the problem
 * type and timing, never headers or bodies, and `REDACT_PATHS` covers anything else that might.
 */

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

/** The fields of a request line (`msg: 'request'`). */
export interface RequestLine {
  requestId: string;
  operationId?: string;
  method: string;
  /** The contract's path template (`/api/energy/devices/{deviceId}/balance`), or the raw path off-contract. */
  route?: string;
  status: number;
  /** The problem type's slug of an error reply (`validation-error`), absent on a success. */
  problem?: string;
  durationMs: number;
}

/** Request-line fields the pretty format shows in its message, so not again below it. */
const SHOWN = ['operationId', 'method', 'route', 'status', 'problem', 'durationMs', 'pid', 'hostname'];

/**
 * The pretty message: `GET /api/energy/premises 200 ListPremises 3.1 ms` for a request line (with the
 * problem type on an error: `400 validation-error`), the message itself for anything else.
 */
export function prettyMessage(log: Record<string, unknown>, messageKey: string): string {
  if (log[messageKey] !== 'request') return String(log[messageKey] ?? '');
  const parts = [String(log.method), String(log.route ?? ''), String(log.status)];
  if (typeof log.problem === 'string') parts.push(log.problem);
  if (typeof log.operationId === 'string') parts.push(`(${log.operationId})`);
  if (typeof log.durationMs === 'number') parts.push(`${log.durationMs.toFixed(1)} ms`);
  return parts.join(' ');
}

/** Bytes of JSON lines gathered before one write to stdout (about 16 request lines). */
export const LOG_BUFFER_BYTES = 4096;
/** Longest a gathered line waits before it is written anyway, in ms. */
export const LOG_FLUSH_MS = 100;
/**
 * Largest write, in bytes: sonic-boom measures the string being gathered again for every line, so a
 * small chunk keeps that cheap while a write is in flight.
 */
export const LOG_WRITE_MAX_BYTES = 8192;
/**
 * Lines held while stdout does not take them (a log reader that stalls), in bytes; beyond it lines are
 * dropped rather than the process growing or blocking.
 */
export const LOG_HELD_MAX_BYTES = 16 * 1024 * 1024;

/**
 * A logger for the mock at `config.logLevel`: JSON lines on stdout, written asynchronously (a stdout
 * nobody reads must not freeze the mock: a synchronous write blocks the event loop once the pipe is
 * full) and gathered into writes of `LOG_BUFFER_BYTES` to `LOG_WRITE_MAX_BYTES`, or every `LOG_FLUSH_MS`
 * (a write per request line cost a quarter of the throughput at the default level, bench/); at most
 * `LOG_HELD_MAX_BYTES` wait for a stalled reader. Or pino-pretty lines when `pretty`. Call
 * `logger.flush(cb)` before the process exits.
 * @param destination where to write instead of stdout (tests).
 */
export function createLogger(
  config: Pick<Config, 'logLevel'>,
  { pretty: readable = false, destination }: { pretty?: boolean; destination?: DestinationStream } = {},
): Logger {
  const options = { level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (!readable)
    return pino(
      options,
      destination ??
        pino.destination({
          dest: 1,
          sync: false,
          minLength: LOG_BUFFER_BYTES,
          maxWrite: LOG_WRITE_MAX_BYTES,
          maxLength: LOG_HELD_MAX_BYTES,
          periodicFlush: LOG_FLUSH_MS,
        }),
    );
  // Loaded only for a terminal: a container or a test never pays for it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pretty = require('pino-pretty') as typeof import('pino-pretty');
  const stream = pretty({
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: SHOWN.join(','),
    singleLine: true,
    messageFormat: prettyMessage,
    ...(destination ? { destination } : {}),
  });
  return pino(options, stream);
}
