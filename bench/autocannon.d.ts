/**
 * The part of autocannon 9's programmatic API the benchmark uses (the package ships no types).
 */
declare module 'autocannon' {
  namespace autocannon {
    /** Options of one load run. */
    interface Options {
      url: string;
      /** Concurrent keep-alive connections. */
      connections?: number;
      /** Length of the run, in seconds. */
      duration?: number;
      /** Seconds before a request counts as timed out. */
      timeout?: number;
      method?: string;
      headers?: Record<string, string>;
      body?: string;
      /** The sequence of requests each connection sends; `setupRequest` may change one before it goes. */
      requests?: {
        /** `context` is the connection's own object, kept across its requests. */
        setupRequest?: (request: RawRequest, context: Record<string, unknown>) => RawRequest;
      }[];
    }
    /** A request as `setupRequest` sees it. */
    interface RawRequest {
      method?: string;
      path?: string;
      headers: Record<string, string>;
      body?: string;
    }
    /** A histogram summary (latency in ms, requests in req/s). */
    interface Histogram {
      average: number;
      mean: number;
      stddev: number;
      min: number;
      max: number;
      p50: number;
      p90: number;
      p99: number;
      p99_9: number;
      total?: number;
    }
    /** The aggregated result of a run. */
    interface Result {
      duration: number;
      errors: number;
      timeouts: number;
      non2xx: number;
      resets: number;
      statusCodeStats: Record<string, { count: number }>;
      latency: Histogram;
      requests: Histogram & { total: number; sent: number };
      throughput: Histogram;
    }
  }
  /** Runs a load test; resolves with the aggregated result. */
  function autocannon(options: autocannon.Options): Promise<autocannon.Result>;
  export = autocannon;
}
