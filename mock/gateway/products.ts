import type { Config } from '../config';
import type { OperationSpec } from '../../contract-kit';
import PRODUCTS_FILE from '../../fixtures/products.json';

/**
 * A call limit of an Azure API Management product: at most `calls` per fixed window of
 * `renewalPeriodSeconds` seconds, counted per subscription key (the `rate-limit-by-key` and
 * `quota-by-key` policies with the key as `counter-key`).
 */
export interface CallLimit {
  /** Calls allowed per window (at least 1). */
  readonly calls: number;
  /** Length of the window, in seconds (at least 1). */
  readonly renewalPeriodSeconds: number;
}

/**
 * An Azure API Management product as `fixtures/products.json` describes it, with its keys resolved: the
 * APIs (contract tags) it includes, the subscription keys that belong to it, and its per-key limits.
 */
export interface Product {
  /** Stable id (`unlimited`, `identity`, `energy-read`, `limited`). */
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** The contract tags (APIs) the product includes, or `*` for every API. */
  readonly apis: readonly string[] | '*';
  /** Its subscription keys (for `"keys": "config"`, the mock's configured `subscriptionKeys`). */
  readonly keys: readonly string[];
  /** API Management `rate-limit-by-key`: 429 with `Retry-After` when exceeded. */
  readonly rateLimit?: CallLimit;
  /** API Management `quota-by-key`: 403 `Out of call volume quota` when used up. */
  readonly quota?: CallLimit;
}

/**
 * quota-by-key's default `first-period-start` (0001-01-01T00:00:00Z), in epoch ms: quota periods are
 * counted from it, so a daily quota renews at midnight UTC whenever its first call came.
 */
export const QUOTA_FIRST_PERIOD_START = Date.parse('0001-01-01T00:00:00.000Z');

/** The API (contract tag) an operation belongs to: its first tag (`''` when it has none). */
export function apiOf(operation: Pick<OperationSpec, 'tags'>): string {
  return operation.tags[0] ?? '';
}

/** Whether a product includes the API (contract tag) `api`. */
export function includesApi(product: Product, api: string): boolean {
  return product.apis === '*' || product.apis.includes(api);
}

/**
 * Start (epoch ms) of the quota period that holds `now`: periods of `periodMs` counted from
 * `QUOTA_FIRST_PERIOD_START`, as quota-by-key counts them.
 */
export function quotaPeriodStart(now: number, periodMs: number): number {
  return now - ((((now - QUOTA_FIRST_PERIOD_START) % periodMs) + periodMs) % periodMs);
}

/**
 * API Management's `hh:mm:ss` for a wait of `seconds` (whole seconds; the hours are not wrapped at 24,
 * so 93600 seconds is `26:00:00`), as in `Quota will be replenished in hh:mm:ss.`
 */
export function replenishedIn(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

function fail(message: string): never {
  throw new Error(`fixtures/products.json: ${message}`);
}

function limitOf(where: string, raw: unknown): CallLimit | undefined {
  if (raw === undefined) return undefined;
  const r = raw as Record<string, unknown>;
  for (const field of ['calls', 'renewalPeriodSeconds'] as const) {
    if (!Number.isSafeInteger(r[field]) || (r[field] as number) < 1)
      fail(`${where}.${field} must be a whole number of at least 1`);
  }
  return Object.freeze({ calls: r.calls as number, renewalPeriodSeconds: r.renewalPeriodSeconds as number });
}

/**
 * The products of `fixtures/products.json` (or another file of that shape), checked, with `"keys":
 * "config"` resolved to `config.subscriptionKeys`.
 * @throws Error naming the first malformed field.
 */
export function parseProducts(file: unknown, config: Pick<Config, 'subscriptionKeys'>): readonly Product[] {
  const list = (file as { products?: unknown } | undefined)?.products;
  if (!Array.isArray(list) || list.length === 0) fail('products must be a non-empty array');
  return Object.freeze(
    list.map((raw: unknown, i): Product => {
      const p = (raw ?? {}) as Record<string, unknown>;
      const where = `products[${i}]`;
      for (const field of ['id', 'name', 'description'] as const)
        if (typeof p[field] !== 'string' || p[field] === '') fail(`${where}.${field} must be a string`);
      const apis = p.apis;
      if (apis !== '*' && !(Array.isArray(apis) && apis.every((a) => typeof a === 'string')))
        fail(`${where}.apis must be "*" or a list of contract tags`);
      const keys = p.keys === 'config' ? config.subscriptionKeys : p.keys;
      if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string' && /^[\x21-\x7e]{1,256}$/.test(k)))
        fail(`${where}.keys must be "config" or a list of printable ASCII keys`);
      const rateLimit = limitOf(`${where}.rateLimit`, p.rateLimit);
      const quota = limitOf(`${where}.quota`, p.quota);
      return Object.freeze({
        id: p.id as string,
        name: p.name as string,
        description: p.description as string,
        apis: apis === '*' ? '*' : Object.freeze([...(apis as string[])]),
        keys: Object.freeze([...(keys as string[])]),
        ...(rateLimit ? { rateLimit } : {}),
        ...(quota ? { quota } : {}),
      });
    }),
  );
}

/**
 * The gateway's products (Azure API Management): which product a subscription key belongs to. A key
 * listed by more than one product belongs to the first (so a configured key is always `unlimited`).
 */
export class ProductCatalogue {
  readonly products: readonly Product[];
  private readonly byKey = new Map<string, Product>();

  /** @param file the products file's content (default `fixtures/products.json`). */
  constructor(config: Pick<Config, 'subscriptionKeys'>, file: unknown = PRODUCTS_FILE) {
    this.products = parseProducts(file, config);
    for (const product of this.products)
      for (const key of product.keys) if (!this.byKey.has(key)) this.byKey.set(key, product);
  }

  /** The product the subscription key belongs to; undefined for an unknown key. */
  productOf(key: string): Product | undefined {
    return this.byKey.get(key);
  }
}

const catalogues = new WeakMap<Config, ProductCatalogue>();

/** The product catalogue of an app, built once per configuration (the config object is frozen, one per app). */
export function productsFor(config: Config): ProductCatalogue {
  let catalogue = catalogues.get(config);
  if (!catalogue) {
    catalogue = new ProductCatalogue(config);
    catalogues.set(config, catalogue);
  }
  return catalogue;
}
