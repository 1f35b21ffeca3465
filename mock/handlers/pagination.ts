/** A page of a list (api.md "Lists"): `{ items, total, limit, offset }`. */
export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

/**
 * Slices `all` by the validated `limit` (1-100, default 20) and `offset` (>= 0, default 0) query
 * parameters; an offset past the end gives an empty page with the true total.
 */
export function page<T>(all: readonly T[], query: Record<string, unknown>): Page<T> {
  const { limit, offset } = pageBounds(query);
  return { items: all.slice(offset, offset + limit), total: all.length, limit, offset };
}

/** The validated `limit` (1-100, default 20) and `offset` (>= 0, default 0) query parameters. */
export function pageBounds(query: Record<string, unknown>): { limit: number; offset: number } {
  return {
    limit: typeof query.limit === 'number' ? query.limit : 20,
    offset: typeof query.offset === 'number' ? query.offset : 0,
  };
}
