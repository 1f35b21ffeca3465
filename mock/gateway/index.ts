import type { Request } from 'express';
import type { Config } from '../config';
import { PROBLEMS, problem } from '../problem';

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

/**
 * The gateway stage (api.md "Headers"): the subscription key from the header, or from the
 * `subscription-key` query parameter when the header is absent, must be one the mock knows.
 * @throws Problem subscription-key (401, `WWW-Authenticate: AzureApiManagementKey ...`); the serializer
 *   writes it in the gateway's `{ statusCode, message }` shape unless `gatewayErrors` is `problem`.
 */
export function checkSubscriptionKey(req: Request, config: Config): void {
  const header = req.headers[SUBSCRIPTION_KEY_HEADER];
  const query = (req.query as Record<string, unknown>)[SUBSCRIPTION_KEY_QUERY];
  const key = header !== undefined ? header : query;
  if (key === undefined || key === '') {
    throw problem(PROBLEMS.SUBSCRIPTION_KEY, APIM_MISSING_KEY, {}, { 'WWW-Authenticate': challenge(req) });
  }
  if (typeof key !== 'string' || !config.subscriptionKeys.includes(key)) {
    throw problem(PROBLEMS.SUBSCRIPTION_KEY, APIM_INVALID_KEY, {}, { 'WWW-Authenticate': challenge(req) });
  }
}
