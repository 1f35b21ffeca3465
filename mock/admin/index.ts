import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Services } from '../handlers/context';
import type { CompiledContract } from '../contract';
import { isoTimestamp } from '../clock';
import { subjectOf } from '../handlers/customers';
import { SCOPE_CUSTOMER } from '../auth/tokens';
import { PROBLEMS, problem } from '../problem';

/**
 * The mock's own control plane under `/__admin` (no subscription key, like WireMock's): the dev outbox
 * of "sent" one-time codes, a reset to the seeded state, and a health check.
 */
export function buildAdminRouter(
  services: Services,
  contract: CompiledContract,
  certificate?: string,
): express.Router {
  const router = express.Router();
  const startedAt = isoTimestamp(services.clock.now());

  /** `GET /__admin/outbox[?to=&otpId=]`: `[{ otpId, channel, to, code, sentAt }]`, oldest first. */
  router.get('/outbox', (req: Request, res: Response) => {
    const list = (v: unknown): string[] | undefined =>
      v === undefined ? undefined : (Array.isArray(v) ? v : [v]).map(String);
    // `+` in a query string decodes to a space: `?to=+447700900123` as typed means the E.164 number.
    const to = list(req.query.to)?.map((t) => t.replace(/^ /, '+'));
    const otpId = list(req.query.otpId);
    const messages = services.store.outbox.filter(
      (m) => (!to || to.includes(m.to)) && (!otpId || otpId.includes(m.otpId)),
    );
    res.json(messages);
  });

  /** `POST /__admin/reset`: drops everything clients changed (registrations, payments, tokens, codes). */
  router.post('/reset', (_req: Request, res: Response) => {
    services.store.reset();
    services.random.reset();
    res.status(204).end();
  });

  /**
   * `GET /__admin/tokens/expired?accountNumber=A-...`: `{ access_token }`, an access token for that
   * account (it must have online access) that expired an hour ago, for testing a client's (or the
   * contract harness's) handling of expired tokens.
   */
  router.get('/tokens/expired', (req: Request, res: Response, next: NextFunction) => {
    const accountNumber = req.query.accountNumber;
    const index =
      typeof accountNumber === 'string' ? services.world.findAccountByNumber(accountNumber) : undefined;
    const subject = index === undefined ? undefined : subjectOf(services, index);
    if (!subject) {
      next(
        problem(
          PROBLEMS.NOT_FOUND,
          'Give ?accountNumber= of an account with online access (fixtures/personas.json).',
        ),
      );
      return;
    }
    void services.tokens
      .accessToken(subject, SCOPE_CUSTOMER, -3600)
      .then((access_token) => res.json({ access_token, token_type: 'Bearer' }));
  });

  /**
   * `GET /__admin/certificate`: the PEM certificate the mock serves over HTTPS (made at start-up with
   * `--tls`), so a client can trust it: `curl -k .../__admin/certificate > mock.pem`, then
   * `NODE_EXTRA_CA_CERTS=mock.pem` or `curl --cacert mock.pem`.
   */
  router.get('/certificate', (_req: Request, res: Response, next: NextFunction) => {
    if (!certificate) {
      next(
        problem(PROBLEMS.NOT_FOUND, 'The mock is serving plain HTTP; start it with --tls for a certificate.'),
      );
      return;
    }
    res.type('application/x-pem-file').send(certificate);
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
