import type { Request } from 'express';
import type { OperationSpec } from '../../contract-kit';
import type { Services } from '../handlers/context';
import type { Problem } from '../problem';
import { PROBLEMS, problem } from '../problem';
import type { GatewayLimit } from '../store';
import type { Product } from './products';
import { apiOf, includesApi, productsFor, quotaPeriodStart, replenishedIn } from './products';

export type { CallLimit, Product } from './products';
export {
  ProductCatalogue,
  QUOTA_FIRST_PERIOD_START,
  apiOf,
  includesApi,
  parseProducts,
  productsFor,
  quotaPeriodStart,
  replenishedIn,
} from './products';

/** Header that carries the subscription key (Azure API Management). */
export const SUBSCRIPTION_KEY_HEADER = 'ocp-apim-subscription-key';
/** Query parameter accepted when the header is absent, as the gateway does. */
export const SUBSCRIPTION_KEY_QUERY = 'subscription-key';

/** Azure API Management's own messages for a missing or unknown key. */
export const APIM_MISSING_KEY =
  'Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.';
export const APIM_INVALID_KEY =
  'Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.';

function challenge(req: Request): string {
  const host = req.get('host') ?? '';
  const realm = /^[A-Za-z0-9.:[\]-]{1,255}$/.test(host) ? `${req.protocol}://${host}/api` : 'procode';
  return `AzureApiManagementKey realm="${realm}",name="Ocp-Apim-Subscription-Key",type="header"`;
}

/** Azure API Management's own message for a gateway failure (500). */
export const APIM_INTERNAL_ERROR = 'Internal server error';
/** Azure API Management's own message when it cannot reach the backend (503). */
export const APIM_SERVICE_UNAVAILABLE = 'Service Unavailable';

/** What the gateway stage uses of the app's services. */
export type GatewayServices = Pick<Services, 'config' | 'clock' | 'store'>;

/**
 * One of the gateway's own answers (Azure API Management, `application/json` `{ statusCode, message }`),
 * for the rate limit and for fault injection:
 * 429 `Rate limit is exceeded. Try again in N seconds.` with `Retry-After: N` (rate-limit-by-key);
 * 500 `Internal server error`; 503 `Service Unavailable` with `Retry-After: N`.
 * @param retryAfterSeconds seconds until the client may try again (rounded up, at least 1; unused for 500).
 */
export function gatewayProblem(status: 429 | 500 | 503, retryAfterSeconds: number): Problem {
  const seconds = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  switch (status) {
    case 429:
      return problem(
        PROBLEMS.GATEWAY_RATE_LIMIT,
        `Rate limit is exceeded. Try again in ${seconds} seconds.`,
        {},
        { 'Retry-After': seconds },
      );
    case 500:
      return problem(PROBLEMS.GATEWAY_ERROR, APIM_INTERNAL_ERROR);
    case 503:
      return problem(PROBLEMS.GATEWAY_UNAVAILABLE, APIM_SERVICE_UNAVAILABLE, {}, { 'Retry-After': seconds });
  }
}

/**
 * The gateway's 403 when a product's call volume quota is used up (API Management quota-by-key):
 * `Out of call volume quota. Quota will be replenished in hh:mm:ss.`, with `Retry-After` in seconds as
 * APIM sends it.
 * @param replenishedInSeconds seconds until the quota period renews (rounded up, at least 1).
 */
export function quotaProblem(replenishedInSeconds: number): Problem {
  const seconds = Math.max(1, Math.ceil(replenishedInSeconds));
  return problem(
    PROBLEMS.GATEWAY_QUOTA,
    `Out of call volume quota. Quota will be replenished in ${replenishedIn(seconds)}.`,
    {},
    { 'Retry-After': String(seconds) },
  );
}

/**
 * Counts a call of `key` against its product's limits on the mock's clock, or throws when one is reached.
 * Rate limit windows start at the first call after the previous window ended; quota periods are counted
 * from quota-by-key's default first-period-start. A call the limits reject counts against neither.
 * @throws Problem rate-limit-exceeded (429) or quota-exceeded (403).
 */
async function enforceLimits(product: Product, key: string, services: GatewayServices): Promise<void> {
  const { rateLimit, quota } = product;
  if (!rateLimit && !quota) return;
  const now = services.clock.now();
  const limits: GatewayLimit[] = [];
  // rate-limit-by-key first, as a product policy usually lists it: both full gives the 429.
  if (rateLimit) {
    limits.push({
      counter: `${product.id}:rate-limit:${key}`,
      calls: rateLimit.calls,
      periodMs: rateLimit.renewalPeriodSeconds * 1000,
    });
  }
  if (quota) {
    const periodMs = quota.renewalPeriodSeconds * 1000;
    limits.push({
      counter: `${product.id}:quota:${key}`,
      calls: quota.calls,
      periodMs,
      alignedStart: quotaPeriodStart(now, periodMs),
    });
  }
  const rejected = await services.store.countGatewayCall(limits, now);
  if (!rejected) return;
  const limit = limits[rejected.index]!;
  const waitSeconds = (rejected.window.windowStart + limit.periodMs - now) / 1000;
  throw limit.alignedStart === undefined ? gatewayProblem(429, waitSeconds) : quotaProblem(waitSeconds);
}

/**
 * The gateway stage (api.md "Headers"; Azure API Management products): the subscription key from the
 * header, or from the `subscription-key` query parameter when the header is absent, must belong to a
 * product (`fixtures/products.json`) that includes the operation's API (its first tag), and the call must
 * fit the product's per-key rate limit and quota; a call that passes is counted against them.
 * @throws Problem subscription-key (401, `WWW-Authenticate: AzureApiManagementKey ...`) for a missing
 *   key, an unknown one or one whose product lacks the API (the serializer writes it in the gateway's
 *   `{ statusCode, message }` shape unless `gatewayErrors` is `problem`); rate-limit-exceeded (429,
 *   `Retry-After`); quota-exceeded (403).
 */
export async function checkSubscriptionKey(
  req: Request,
  operation: OperationSpec,
  services: GatewayServices,
): Promise<void> {
  const header = req.headers[SUBSCRIPTION_KEY_HEADER];
  const query = (req.query as Record<string, unknown>)[SUBSCRIPTION_KEY_QUERY];
  const key = header !== undefined ? header : query;
  if (key === undefined || key === '') {
    throw problem(PROBLEMS.SUBSCRIPTION_KEY, APIM_MISSING_KEY, {}, { 'WWW-Authenticate': challenge(req) });
  }
  const product = typeof key === 'string' ? productsFor(services.config).productOf(key) : undefined;
  if (!product || !includesApi(product, apiOf(operation))) {
    throw problem(PROBLEMS.SUBSCRIPTION_KEY, APIM_INVALID_KEY, {}, { 'WWW-Authenticate': challenge(req) });
  }
  await enforceLimits(product, key as string, services);
}
