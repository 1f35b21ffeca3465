import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import pino from 'pino';
import { createApp } from '../../../mock/app';
import { loadConfig } from '../../../mock/config';
import type { Credentials, Target } from '../../../harness/types';
import personas from '../../../fixtures/personas.json';

const basic = personas.personas.find((p) => p.id === 'basic')!;

/** The `basic` persona and the development client of `fixtures/personas.json`. */
export const credentials: Credentials = {
  subscriptionKey: personas.subscriptionKey,
  clientId: personas.clientId,
  clientSecret: personas.clientSecret,
  username: basic.username,
  password: basic.password,
};

/** A reply on its way out, as a drift sees it: change `status`, `body` or the headers of `res`. */
export interface Reply {
  status: number;
  /** Parsed JSON body (undefined when empty). */
  body: unknown;
  res: Response;
}

/** One deliberate departure from the contract, applied to the replies of one operation. */
export interface Drift {
  method: string;
  /** Matches the request path (no query string). */
  path: RegExp;
  /** Only replies with this status are drifted (any status when absent). */
  status?: number;
  /** Changes the reply in place; may replace `reply.body`. */
  apply(reply: Reply): void;
}

/**
 * An outer Express app that mounts a fresh mock (`createApp`) behind a middleware that rewrites the
 * replies of one operation: it wraps `res.end`, the one call the mock's `writeReply` makes, so status,
 * headers and body can all be changed before anything reaches the wire.
 */
export function driftedApp(drift?: Drift): Express {
  const mock = createApp({
    config: loadConfig({ logLevel: 'silent' }, {}),
    logger: pino({ level: 'silent' }),
  }).app;
  const outer = express();
  outer.disable('x-powered-by');
  if (drift) {
    outer.use((req: Request, res: Response, next: NextFunction) => {
      if (req.method !== drift.method || !drift.path.test(req.path)) return next();
      const end = res.end.bind(res) as (...args: unknown[]) => Response;
      res.end = ((...args: unknown[]) => {
        if (res.headersSent || (drift.status !== undefined && res.statusCode !== drift.status))
          return end(...args);
        const [chunk] = args;
        const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
        const reply: Reply = { status: res.statusCode, body: text ? JSON.parse(text) : undefined, res };
        drift.apply(reply);
        res.statusCode = reply.status;
        if (reply.body === undefined) {
          res.removeHeader('Content-Length');
          return end();
        }
        const out = JSON.stringify(reply.body);
        res.setHeader('Content-Length', Buffer.byteLength(out));
        return end(out, 'utf8');
      }) as typeof res.end;
      next();
    });
  }
  outer.use(mock);
  return outer;
}

/** A harness target for an in-process (possibly drifted) mock. */
export function targetOf(name: string, app: Express): Target {
  return {
    name,
    app,
    isMock: true,
    canWrite: true,
    stateless: false,
    credentials,
    rate: 0,
  };
}
