import express from 'express';
import type { Request, Response } from 'express';
import type { Services } from '../handlers/context';
import type { CompiledContract } from '../contract';
import { isoTimestamp } from '../clock';

/**
 * The mock's own control plane under `/__admin` (no subscription key, like WireMock's): the dev outbox
 * of "sent" one-time codes, a reset to the seeded state, and a health check.
 */
export function buildAdminRouter(services: Services, contract: CompiledContract): express.Router {
  const router = express.Router();
  const startedAt = isoTimestamp(services.clock.now());

  /** `GET /__admin/outbox[?to=&otpId=]`: `[{ otpId, channel, to, code, sentAt }]`, oldest first. */
  router.get('/outbox', (req: Request, res: Response) => {
    const { to, otpId } = req.query as Record<string, unknown>;
    const messages = services.store.outbox.filter(
      (m) => (typeof to !== 'string' || m.to === to) && (typeof otpId !== 'string' || m.otpId === otpId),
    );
    res.json(messages);
  });

  /** `POST /__admin/reset`: drops everything clients changed (registrations, payments, tokens, codes). */
  router.post('/reset', (_req: Request, res: Response) => {
    services.store.reset();
    res.status(204).end();
  });

  /** `GET /__admin/health`: liveness plus the world's settings. */
  router.get('/health', (_req: Request, res: Response) => {
    res.json({
      status: 'ok',
      startedAt,
      seed: services.config.seed,
      accounts: services.config.accounts,
      operations: contract.operations.size,
    });
  });
  return router;
}
