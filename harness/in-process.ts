import type { Express } from 'express';
import pino from 'pino';
import { createApp } from '../mock/app';
import { loadConfig } from '../mock/config';

/**
 * The one place the harness touches the mock: `--target in-process` builds the mock's Express app on its
 * default settings (silent logs) and drives it through supertest, without a port. Loaded only for that
 * target, so checking a real environment never loads the mock (docs/decisions.md, "A contract kit").
 */
export function createInProcessApp(): Express {
  return createApp({
    config: loadConfig({ logLevel: 'silent' }, {}),
    logger: pino({ level: 'silent' }),
  }).app;
}
